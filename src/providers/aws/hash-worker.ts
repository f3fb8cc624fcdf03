/**
 * The threads that do the SHA-256 work of every disk hashed in this process, so the main thread
 * only fetches: a few workers (as many as the machine has cores, 2 to 4) each keep the running
 * whole-disk digests of some disks and check block checksums for any disk. Blocks stay where they
 * were fetched, in the shared block buffers (block-buffers.ts): a message names a slot, never
 * carries bytes. A disk's digest lives on one worker (a SHA-256 is one sequential chain); checksum
 * checks go to the least busy worker, so with two cores one thread digests while the other
 * checks, and a disk whose blocks are all written is not held to one core's rate for both.
 *
 * The worker's code is a plain-JavaScript string run with `eval: true`, so the same code runs
 * from `dist/`, under tsx and under vitest without a build step of its own.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SLOT_BYTES, type BlockBuffers } from './block-buffers.js';

/** Zero runs are hashed 4 MiB per update from one zero buffer per worker. */
const ZERO_BYTES = 4 * 1024 * 1024;

/**
 * A hash thread allocates little (small messages; its zero buffer is outside the heap): a 1 MiB
 * young generation instead of V8's default keeps each thread's resident memory a few MiB smaller.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 1 };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const memory = new Uint8Array(workerData.memory);
const SLOT = workerData.slotBytes;
const digests = new Map();
let zeros;
const at = (slot, length) => memory.subarray(slot * SLOT, slot * SLOT + length);
function handle(m, out) {
  if (m.t === 'verify') {
    out.push({ t: 'verified', job: m.job, sum: createHash('sha256').update(at(m.slot, m.length)).digest('base64') });
  } else if (m.t === 'data') {
    // A digest closed after a failure may still have blocks queued: they are answered, not hashed.
    const d = digests.get(m.id) ?? { hash: { update() {} }, hashed: 0 };
    d.hash.update(at(m.slot, m.length));
    d.hashed += 1;
    out.push({ t: 'hashed', id: m.id, slot: m.slot, hashed: d.hashed });
  } else if (m.t === 'zeros') {
    const d = digests.get(m.id);
    if (!d) return out.push({ t: 'ack', id: m.id, hashed: 0 });
    zeros ??= new Uint8Array(${ZERO_BYTES});
    const per = Math.floor(zeros.byteLength / m.blockSize);
    let left = m.count;
    while (left > 0) {
      const n = Math.min(left, per);
      d.hash.update(zeros.subarray(0, n * m.blockSize));
      left -= n;
    }
    d.hashed += m.count;
    out.push({ t: 'ack', id: m.id, hashed: d.hashed });
  } else if (m.t === 'open') {
    digests.set(m.id, { hash: createHash('sha256'), hashed: 0 });
  } else if (m.t === 'end') {
    const d = digests.get(m.id);
    if (!d) return out.push({ t: 'digest', id: m.id, hex: '', hashed: 0 });
    digests.delete(m.id);
    out.push({ t: 'digest', id: m.id, hex: d.hash.digest('hex'), hashed: d.hashed });
  } else if (m.t === 'close') {
    digests.delete(m.id);
  }
}
// Messages come in batches and answers go back in one: every message wakes a thread, and on a
// busy machine a wake-up costs more than hashing a block.
parentPort.on('message', (batch) => {
  const out = [];
  for (const m of batch) handle(m, out);
  if (out.length > 0) parentPort.postMessage(out);
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

type Message = { t: 'verified'; job: number; sum: string } | { t: 'hashed'; id: number; slot: number; hashed: number } | { t: 'ack'; id: number; hashed: number } | { t: 'digest'; id: number; hex: string };

class HashPool {
  private readonly workers: PoolWorker[] = [];
  private readonly digests = new Map<number, { events: DigestEvents; done?: { resolve: (hex: string) => void; reject: (e: Error) => void } }>();
  private readonly jobs = new Map<number, { resolve: (sum: string) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private users = 0;

  constructor(private readonly buffers: BlockBuffers) {}

  private start(): void {
    const count = Math.max(2, Math.min(4, availableParallelism()));
    for (let i = 0; i < count; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory: this.buffers.memory, slotBytes: SLOT_BYTES }, resourceLimits: WORKER_LIMITS });
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
    const digest = this.digests.get(m.id);
    if (!digest) return;
    if (m.t === 'hashed') digest.events.onHashed(m.slot, m.hashed);
    else if (m.t === 'ack') digest.events.onProgress(m.hashed);
    else if (m.t === 'digest') digest.done?.resolve(m.hex);
  }

  private failAll(error: Error): void {
    for (const job of this.jobs.values()) job.reject(error);
    this.jobs.clear();
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
    for (const job of this.jobs.values()) job.reject(new Error('the hash threads stopped'));
    this.jobs.clear();
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
