/**
 * The threads that fetch and hash the blocks of every disk hashed in this process, so the main
 * thread only plans: a few workers (as many as the machine has cores, 2 to 4) each keep the
 * running whole-disk digests of some disks and send GetSnapshotBlock for any disk — each over its
 * own connections (ebs-block-client.ts, block-http.ts), the bytes going from its sockets into the block's
 * slot of the shared block buffers (block-buffers.ts), their SHA-256 (EBS's checksum) computed
 * there at once. A message names a slot, never carries bytes; credentials go to a thread with the
 * first request and again only when they change (a renewed session), and are never logged. A
 * disk's digest lives on one worker (a SHA-256 is one sequential chain); fetches go to the least
 * busy worker, so with two cores one thread digests while both fetch and check, and a disk whose
 * blocks are all written is not held to one core's rate. The threads run with a small young
 * generation.
 *
 * The worker's code is a plain-JavaScript string run with `eval: true`, so the same code runs
 * from `dist/`, under tsx and under vitest without a build step of its own.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { SLOT_BYTES, type BlockBuffers } from './block-buffers.js';
import type { BlockClientSource, BlockEndpoint, BlockResponse, EbsServiceError, GetBlockInput } from './ebs-block-client.js';

/** Zero runs are hashed 4 MiB per update from one zero buffer per worker. */
const ZERO_BYTES = 4 * 1024 * 1024;

/**
 * A hash thread's garbage is a few tens of KiB of JavaScript objects per block (signing, the
 * answer's headers, messages): the block's bytes themselves are read into one reused buffer
 * (block-http.ts). A 1 MiB young generation keeps the thread's heap small; 4 MiB measured the
 * same CPU in bench:hash.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 1 };

/**
 * What a thread loads to fetch blocks: the block client (this folder's ebs-block-client, as built,
 * or its TypeScript source under the tests, which Node loads with its types stripped). An absolute
 * URL, so it loads whatever the process's working folder.
 */
function fetchModules(): { blockClient: string } {
  const here = import.meta.url;
  return { blockClient: new URL(`./ebs-block-client${here.endsWith('.ts') ? '.ts' : '.js'}`, here).href };
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const memory = new Uint8Array(workerData.memory);
const SLOT = workerData.slotBytes;
const digests = new Map();
let zeros;
const at = (slot, length) => memory.subarray(slot * SLOT, slot * SLOT + length);

// Answers of this turn go back in one message: every message wakes a thread, and on a busy
// machine a wake-up costs more than hashing a block.
let answers = [];
function answer(m) {
  answers.push(m);
  if (answers.length === 1) setImmediate(() => {
    const out = answers;
    answers = [];
    parentPort.postMessage(out);
  });
}

// Fetching: the block clients of this thread (one per account and region), loaded on first use.
let loaded;
const clients = new Map();
const fetches = new Map();
const cancelled = new Set();
function load() {
  loaded ??= import(workerData.modules.blockClient);
  return loaded;
}
function fetchInto(m, EbsBlockClient) {
  if (m.t === 'client') {
    const entry = { credentials: m.credentials };
    entry.client = new EbsBlockClient({ endpoint: async () => m.endpoint, credentials: async () => entry.credentials });
    clients.set(m.id, entry);
    return;
  }
  if (m.t === 'credentials') {
    clients.get(m.id).credentials = m.credentials;
    return;
  }
  const controller = new AbortController();
  if (cancelled.delete(m.job)) controller.abort();
  fetches.set(m.job, controller);
  const into = Buffer.from(workerData.memory, m.slot * SLOT, SLOT);
  clients.get(m.id).client.getBlock({ SnapshotId: m.snapshotId, BlockIndex: m.index, BlockToken: m.token }, into, controller.signal).then(
    (response) => answer({ t: 'fetched', job: m.job, response, sum: createHash('sha256').update(into.subarray(0, response.length)).digest('base64') }),
    (e) => answer({ t: 'fetchFailed', job: m.job, error: { name: e?.name, message: e?.message ?? String(e), code: e?.code, $fault: e?.$fault, $metadata: e?.$metadata, Reason: e?.Reason } }),
  ).finally(() => fetches.delete(m.job));
}

// A disk's digest takes its blocks in order. The event loop is let in about every millisecond
// (a long run of unwritten blocks is hashed a few MiB at a time): the blocks hashed so far go back
// to the main thread then, so their slots are fetched into again while this thread hashes the
// rest, and this thread's own fetches (their sockets, their answers) are not held up behind it.
// Without it a thread handed a window full of blocks gave every slot back only once it had hashed
// them all, and then waited, idle, for the fetches it had held up.
function drain(d) {
  d.running = true;
  const started = performance.now();
  while (d.queue.length > 0) {
    const op = d.queue[0];
    if (op.t === 'zeros') {
      zeros ??= new Uint8Array(${ZERO_BYTES});
      const n = Math.min(op.left, Math.floor(zeros.byteLength / op.blockSize));
      d.hash.update(zeros.subarray(0, n * op.blockSize));
      d.hashed += n;
      op.left -= n;
      if (op.left === 0) {
        answer({ t: 'ack', id: d.id, hashed: d.hashed });
        d.queue.shift();
      }
    } else if (op.t === 'data') {
      d.hash.update(at(op.slot, op.length));
      d.hashed += 1;
      answer({ t: 'hashed', id: d.id, slot: op.slot, hashed: d.hashed });
      d.queue.shift();
    } else {
      digests.delete(d.id);
      answer({ t: 'digest', id: d.id, hex: d.hash.digest('hex'), hashed: d.hashed });
      d.queue.shift();
    }
    if (d.queue.length > 0 && performance.now() - started > 1) return setImmediate(() => drain(d));
  }
  d.running = false;
}

function handle(m) {
  if (m.t === 'verify') {
    answer({ t: 'verified', job: m.job, sum: createHash('sha256').update(at(m.slot, m.length)).digest('base64') });
  } else if (m.t === 'data' || m.t === 'zeros' || m.t === 'end') {
    // A digest closed after a failure may still have blocks queued: they are answered, not hashed.
    const d = digests.get(m.id);
    if (!d) {
      if (m.t === 'data') answer({ t: 'hashed', id: m.id, slot: m.slot, hashed: 0 });
      else answer(m.t === 'end' ? { t: 'digest', id: m.id, hex: '', hashed: 0 } : { t: 'ack', id: m.id, hashed: 0 });
      return;
    }
    d.queue.push(m.t === 'zeros' ? { t: 'zeros', left: m.count, blockSize: m.blockSize } : m);
    // Drained once the whole message is queued, so a message of many blocks is hashed in slices too.
    queued.add(d);
  } else if (m.t === 'open') {
    digests.set(m.id, { id: m.id, hash: createHash('sha256'), hashed: 0, queue: [], running: false });
  } else if (m.t === 'close') {
    const d = digests.get(m.id);
    if (d) d.queue.length = 0;
    digests.delete(m.id);
  } else if (m.t === 'abort') {
    const controller = fetches.get(m.job);
    if (controller) controller.abort();
    else cancelled.add(m.job);
  } else {
    // 'client', 'credentials', 'fetch': in the order they came, once the modules are loaded.
    load().then(
      (c) => fetchInto(m, c.EbsBlockClient),
      (e) => m.t === 'fetch' && answer({ t: 'fetchFailed', job: m.job, error: { name: 'Error', message: 'the hash thread could not load its block client: ' + (e?.message ?? e) } }),
    );
  }
}
const queued = new Set();
parentPort.on('message', (batch) => {
  for (const m of batch) handle(m);
  for (const d of queued) if (!d.running && digests.get(d.id) === d) drain(d);
  queued.clear();
});
`;

export interface DigestEvents {
  /** Block in `slot` is hashed: the slot may be reused. `hashed` counts blocks hashed so far. */
  onHashed(slot: number, hashed: number): void;
  onProgress(hashed: number): void;
  onError(error: Error): void;
}

/** One disk's whole-disk SHA-256, running on one of the pool's workers. */
export interface DiskDigest {
  /** The next block is in `slot` (its first `length` bytes); `onHashed` gives the slot back. */
  data(slot: number, length: number): void;
  /** The next `count` blocks are unwritten (zeros). */
  zeros(count: number): void;
  /** Everything posted so far hashed: the hex digest. */
  digest(): Promise<string>;
  close(): void;
}

interface PoolWorker {
  worker: Worker;
  /** Jobs posted and not yet answered. */
  pending: number;
  disks: number;
  /** Messages waiting for this turn of the event loop to end, then posted as one. */
  outbox: object[];
}

type Message =
  | { t: 'verified'; job: number; sum: string }
  | { t: 'hashed'; id: number; slot: number; hashed: number }
  | { t: 'ack'; id: number; hashed: number }
  | { t: 'digest'; id: number; hex: string }
  | { t: 'fetched'; job: number; response: BlockResponse; sum: string }
  | { t: 'fetchFailed'; job: number; error: Partial<EbsServiceError> & { code?: string } };

/** A block fetched on a hash thread: the response, and the SHA-256 (base64) of the bytes that came. */
export interface SlotFetch {
  response: BlockResponse;
  sum: string;
}

/** One account's and region's block client as the threads know it. */
interface FetchSource {
  id: number;
  endpoint: Promise<BlockEndpoint>;
  /** The credentials each thread was last given. */
  given: Map<PoolWorker, AwsCredentialIdentity>;
}

const sameCredentials = (a: AwsCredentialIdentity | undefined, b: AwsCredentialIdentity) =>
  a === b || (a !== undefined && a.accessKeyId === b.accessKeyId && a.secretAccessKey === b.secretAccessKey && a.sessionToken === b.sessionToken);

/** The error a thread's fetch failed with, as the SDK would have thrown it (name, code, $metadata). */
function threadError(e: Partial<EbsServiceError> & { code?: string }): Error {
  const error = new Error(e.message ?? 'GetSnapshotBlock failed on a hash thread') as Error & Record<string, unknown>;
  error.name = e.name ?? 'Error';
  for (const key of ['code', '$fault', '$metadata', 'Reason'] as const) if (e[key] !== undefined) error[key] = e[key];
  return error;
}

class HashPool {
  private readonly workers: PoolWorker[] = [];
  private readonly digests = new Map<number, { events: DigestEvents; done?: { resolve: (hex: string) => void; reject: (e: Error) => void } }>();
  private readonly jobs = new Map<number, { resolve: (sum: string) => void; reject: (e: Error) => void }>();
  private readonly fetches = new Map<number, { resolve: (f: SlotFetch) => void; reject: (e: Error) => void }>();
  private readonly sources = new WeakMap<object, FetchSource>();
  private nextId = 1;
  private users = 0;

  constructor(private readonly buffers: BlockBuffers) {}

  private start(): void {
    const count = Math.max(2, Math.min(4, availableParallelism()));
    for (let i = 0; i < count; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory: this.buffers.memory, slotBytes: SLOT_BYTES, modules: fetchModules() }, resourceLimits: WORKER_LIMITS });
      const entry: PoolWorker = { worker, pending: 0, disks: 0, outbox: [] };
      worker.on('message', (batch: Message[]) => {
        for (const m of batch) {
          entry.pending -= 1;
          this.receive(m);
        }
      });
      worker.on('error', (error) => this.failAll(error));
      this.workers.push(entry);
    }
  }

  private receive(m: Message): void {
    if (m.t === 'verified') {
      const job = this.jobs.get(m.job);
      this.jobs.delete(m.job);
      job?.resolve(m.sum);
      return;
    }
    if (m.t === 'fetched' || m.t === 'fetchFailed') {
      const job = this.fetches.get(m.job);
      this.fetches.delete(m.job);
      if (m.t === 'fetched') job?.resolve({ response: m.response, sum: m.sum });
      else job?.reject(threadError(m.error));
      return;
    }
    const digest = this.digests.get(m.id);
    if (!digest) return;
    if (m.t === 'hashed') digest.events.onHashed(m.slot, m.hashed);
    else if (m.t === 'ack') digest.events.onProgress(m.hashed);
    else if (m.t === 'digest') digest.done?.resolve(m.hex);
  }

  private failAll(error: Error): void {
    for (const job of [...this.jobs.values(), ...this.fetches.values()]) job.reject(error);
    this.jobs.clear();
    this.fetches.clear();
    for (const d of this.digests.values()) {
      d.done?.reject(error);
      d.events.onError(error);
    }
  }

  private flushing = false;

  /** Queues a message that gets an answer; everything queued in this turn goes in one message per worker. */
  private post(entry: PoolWorker, message: object, answered = true): void {
    if (answered) entry.pending += 1;
    entry.outbox.push(message);
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      for (const w of this.workers) {
        if (w.outbox.length === 0) continue;
        w.worker.postMessage(w.outbox);
        w.outbox = [];
      }
    });
  }

  /** The SHA-256 (base64, as EBS gives checksums) of a slot's first `length` bytes, off this thread. */
  verify(slot: number, length: number): Promise<string> {
    if (this.workers.length === 0) return Promise.reject(new Error('no disk hash is running'));
    const entry = this.workers.reduce((a, b) => (b.pending < a.pending ? b : a));
    const job = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      this.jobs.set(job, { resolve, reject });
      this.post(entry, { t: 'verify', job, slot, length });
    });
  }

  /**
   * GetSnapshotBlock of `input` into slot `slot`, sent by the least busy thread over its own
   * connections with `source`'s endpoint and credentials (`key`: the SDK client they come from),
   * the bytes' SHA-256 computed there. Credentials are asked of `source` at every request, as the
   * SDK does, and a thread is given them again only when they changed (a renewed session).
   * Rejects with the error as the SDK would throw it.
   */
  async fetchBlock(key: object, source: BlockClientSource, slot: number, input: GetBlockInput, signal?: AbortSignal): Promise<SlotFetch> {
    let known = this.sources.get(key);
    if (!known) {
      known = { id: this.nextId++, endpoint: source.endpoint(), given: new Map() };
      this.sources.set(key, known);
    }
    const [endpoint, credentials] = await Promise.all([known.endpoint, source.credentials()]);
    if (this.workers.length === 0) throw new Error('no disk hash is running');
    // Fetches go to the threads keeping the fewest digests first: a digest must take its blocks in
    // order, and a thread that is hashing a long run of them holds up the fetches queued behind it.
    const entry = this.workers.reduce((a, b) => (b.disks < a.disks || (b.disks === a.disks && b.pending < a.pending) ? b : a));
    const given = known.given.get(entry);
    if (given === undefined) this.post(entry, { t: 'client', id: known.id, endpoint, credentials }, false);
    else if (!sameCredentials(given, credentials)) this.post(entry, { t: 'credentials', id: known.id, credentials }, false);
    known.given.set(entry, credentials);
    const job = this.nextId++;
    const onAbort = () => this.post(entry, { t: 'abort', job }, false);
    return new Promise<SlotFetch>((resolve, reject) => {
      this.fetches.set(job, { resolve, reject });
      this.post(entry, { t: 'fetch', job, id: known.id, slot, snapshotId: input.SnapshotId, index: input.BlockIndex, token: input.BlockToken });
      signal?.addEventListener('abort', onAbort, { once: true });
    }).finally(() => signal?.removeEventListener('abort', onAbort));
  }

  openDigest(blockSize: number, events: DigestEvents): DiskDigest {
    if (this.users === 0) this.start();
    this.users += 1;
    const entry = this.workers.reduce((a, b) => (b.disks < a.disks ? b : a));
    entry.disks += 1;
    const id = this.nextId++;
    const record: { events: DigestEvents; done?: { resolve: (hex: string) => void; reject: (e: Error) => void } } = { events };
    this.digests.set(id, record);
    this.post(entry, { t: 'open', id }, false);
    let closed = false;
    return {
      data: (slot, length) => this.post(entry, { t: 'data', id, slot, length }),
      zeros: (count) => {
        if (count > 0) this.post(entry, { t: 'zeros', id, count, blockSize });
      },
      digest: () =>
        new Promise<string>((resolve, reject) => {
          record.done = { resolve, reject };
          this.post(entry, { t: 'end', id });
        }),
      close: () => {
        if (closed) return;
        closed = true;
        this.digests.delete(id);
        entry.disks -= 1;
        this.post(entry, { t: 'close', id }, false);
        this.users -= 1;
        if (this.users === 0) this.stop();
      },
    };
  }

  private stop(): void {
    const workers = this.workers.splice(0);
    for (const w of workers) void w.worker.terminate();
    for (const job of [...this.jobs.values(), ...this.fetches.values()]) job.reject(new Error('the hash threads stopped'));
    this.jobs.clear();
    this.fetches.clear();
  }
}

const pools = new WeakMap<BlockBuffers, HashPool>();

/** The hash threads working on `buffers` (started with the first disk, stopped after the last). */
export function hashPoolFor(buffers: BlockBuffers): HashPool {
  let pool = pools.get(buffers);
  if (!pool) {
    pool = new HashPool(buffers);
    pools.set(buffers, pool);
  }
  return pool;
}

export type { HashPool };
