/**
 * Checks a ledger's signatures, all by its pinned key. Ed25519 verification is most of what
 * verify costs, and it does not depend on the evidence files, so for a large ledger a worker
 * thread checks signatures from the moment the key is pinned: the walk hands each one over as it
 * reaches it, the worker follows behind, and the main thread, once its files are hashed, joins in
 * on whatever is left. On two cores verify takes about half the sum of the two, rather than the sum.
 *
 * Hand-over is through shared memory, not messages: a slab of 128-byte slots (the hash's 64 ASCII
 * characters, then the signature's 64 bytes, decoded once), a published count, a shared claim
 * counter, and one verdict byte per slot.
 */
import type { KeyObject } from 'node:crypto';
import { verify } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { PendingSignature } from './chain.js';
import { isCanonicalSignature, parseEd25519PublicKey, textVerifier } from './signing-key.js';

/** Below this many signatures a worker's start-up (~30 ms) costs more than it saves. */
export const WORKER_MIN_SIGNATURES = 2_000;

/** Signatures claimed at a time, by either thread, from the shared counter. */
const CLAIM = 64;
/** Signatures handed over at a time: the worker is woken once per batch, not per entry. */
const PUBLISH_EVERY = 64;
const SLOT = 128;
const HEX64 = /^[0-9a-f]{64}$/;

// Verdicts in shared memory: 0 not checked yet, 1 verifies, 2 does not.
const UNCHECKED = 0;
const VALID = 1;
const INVALID = 2;

// Control words. PUBLISHED is the count of slots filled while the queue is open, and
// -(count + 1) once it is closed: every hand-over changes it, so a worker waiting on its old
// value cannot miss one.
const NEXT = 0;
const PUBLISHED = 1;

/**
 * Plain CommonJS, evaluated: no module file to resolve, so it runs the same from src/ (tsx), from
 * dist/ and from a bundle. It does only what the main thread's check does for a slot.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const key = createPublicKey({ key: Buffer.from(workerData.der), format: 'der', type: 'spki' });
const slab = Buffer.from(workerData.slab);
const control = new Int32Array(workerData.control);
const verdicts = new Uint8Array(workerData.verdicts);
const capacity = verdicts.length;
claims: for (let start; (start = Atomics.add(control, ${NEXT}, ${CLAIM})) < capacity; ) {
  for (let i = start; i < Math.min(start + ${CLAIM}, capacity); i++) {
    for (;;) {
      const published = Atomics.load(control, ${PUBLISHED});
      if (i < (published < 0 ? -published - 1 : published)) break;
      if (published < 0) break claims;
      Atomics.wait(control, ${PUBLISHED}, published);
    }
    const at = i * ${SLOT};
    let ok = false;
    try {
      ok = verify(null, slab.subarray(at, at + 64), key, slab.subarray(at + 64, at + ${SLOT}));
    } catch {}
    Atomics.store(verdicts, i, ok ? ${VALID} : ${INVALID});
  }
}
parentPort.postMessage('done');
`;

export interface CheckSignaturesOptions {
  /** Use a worker from this many signatures on (default {@link WORKER_MIN_SIGNATURES}). */
  workerFrom?: number;
}

export interface SignatureChecks {
  /** Hands over the next signature; its verdict is the next one `finish()` gives. */
  add(pending: PendingSignature): void;
  /**
   * No more signatures: checks whatever the worker has not claimed on this thread, waits for the
   * worker's last claim if it holds one, and gives one verdict per signature added (true: it
   * verifies). Never rejects: a signature the worker did not answer for is checked here.
   */
  finish(): Promise<boolean[]>;
}

/**
 * Starts checking signatures by `publicKey` as they are added: on a worker thread when up to
 * `expected` of them may come and that is at least `workerFrom`, else (or if the worker cannot
 * start) all of them in `finish()`. Nothing verifies without a valid Ed25519 key.
 *
 * @example
 * const checks = startSignatureChecks(pinnedKey, lines.length);
 * for (const entry of entries) checks.add(entry);
 * await hashTheFiles();
 * const verdicts = await checks.finish();
 */
export function startSignatureChecks(publicKey: string | undefined, expected: number, options: CheckSignaturesOptions = {}): SignatureChecks {
  const key = publicKey === undefined ? undefined : parseEd25519PublicKey(publicKey);
  if (publicKey === undefined || !key) {
    let count = 0;
    return { add: () => void count++, finish: async () => new Array<boolean>(count).fill(false) };
  }
  const capacity = Math.max(expected, 0);
  const slab = Buffer.from(new SharedArrayBuffer(Math.max(capacity, 1) * SLOT));
  const control = new Int32Array(new SharedArrayBuffer(8));
  const verdicts = new Uint8Array(new SharedArrayBuffer(Math.max(capacity, 1)));
  const worker = capacity >= (options.workerFrom ?? WORKER_MIN_SIGNATURES) ? startWorker(key, slab, control, verdicts) : undefined;
  // What does not fit a slot (past `expected`, or not in the walk's spelling) is checked here.
  const check = textVerifier(publicKey);
  const aside = new Map<number, PendingSignature>();
  let count = 0;
  const publish = (closed: boolean) => {
    Atomics.store(control, PUBLISHED, closed ? -(Math.min(count, capacity) + 1) : Math.min(count, capacity));
    Atomics.notify(control, PUBLISHED);
  };
  const checkSlot = (i: number): boolean => {
    const at = i * SLOT;
    try {
      return verify(null, slab.subarray(at, at + 64), key, slab.subarray(at + 64, at + SLOT));
    } catch {
      return false;
    }
  };
  return {
    add(pending) {
      const i = count++;
      if (i < capacity && HEX64.test(pending.hash) && isCanonicalSignature(pending.sig)) {
        slab.write(pending.hash, i * SLOT, 64, 'latin1');
        slab.write(pending.sig, i * SLOT + 64, 64, 'base64');
        if (count % PUBLISH_EVERY === 0) publish(false);
        return;
      }
      aside.set(i, pending); // its slot stays zero, and its verdict from there is ignored
    },
    async finish() {
      publish(true);
      const filled = Math.min(count, capacity);
      for (let start; (start = Atomics.add(control, NEXT, CLAIM)) < filled; ) {
        for (let i = start; i < Math.min(start + CLAIM, filled); i++) Atomics.store(verdicts, i, checkSlot(i) ? VALID : INVALID);
      }
      if (worker) {
        // A worker still starting has claimed nothing: stop it rather than wait for it.
        if (verdicts.subarray(0, filled).includes(UNCHECKED)) await worker.done;
        else void worker.stop();
      }
      return Array.from({ length: count }, (_, i) => {
        const odd = aside.get(i);
        if (odd) return check(odd.hash, odd.sig);
        const verdict = Atomics.load(verdicts, i);
        return verdict === UNCHECKED ? checkSlot(i) : verdict === VALID;
      });
    },
  };
}

/** One verdict per pending signature; see {@link startSignatureChecks}. */
export function checkSignatures(publicKey: string | undefined, pending: readonly PendingSignature[], options: CheckSignaturesOptions = {}): Promise<boolean[]> {
  const checks = startSignatureChecks(publicKey, pending.length, options);
  for (const p of pending) checks.add(p);
  return checks.finish();
}

/**
 * Every verdict from a worker thread alone, or undefined when it could not give them all (so a
 * test can tell the worker answered, not the main thread's fallback).
 */
export async function checkOnWorker(key: KeyObject, pending: readonly PendingSignature[]): Promise<boolean[] | undefined> {
  const slab = Buffer.from(new SharedArrayBuffer(Math.max(pending.length, 1) * SLOT));
  pending.forEach((p, i) => {
    slab.write(p.hash, i * SLOT, 64, 'latin1');
    slab.write(p.sig, i * SLOT + 64, 64, 'base64');
  });
  const control = new Int32Array(new SharedArrayBuffer(8));
  const verdicts = new Uint8Array(new SharedArrayBuffer(Math.max(pending.length, 1)));
  Atomics.store(control, PUBLISHED, -(pending.length + 1));
  if (!(await startWorker(key, slab, control, verdicts).done)) return undefined;
  const all = pending.map((_, i) => Atomics.load(verdicts, i));
  return all.includes(UNCHECKED) ? undefined : all.map((v) => v === VALID);
}

interface WorkerRun {
  /** True once the worker has claimed its last signatures, false if it failed or did not start. */
  done: Promise<boolean>;
  stop(): Promise<unknown>;
}

function startWorker(key: KeyObject, slab: Buffer, control: Int32Array, verdicts: Uint8Array): WorkerRun {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // No loaders or flags of the parent (tsx, a test runner's): the worker needs only crypto.
      execArgv: [],
      workerData: { der: key.export({ format: 'der', type: 'spki' }), slab: slab.buffer, control: control.buffer, verdicts: verdicts.buffer },
    });
  } catch {
    return { done: Promise.resolve(false), stop: async () => undefined };
  }
  // Never the reason the process stays alive.
  worker.unref();
  const done = new Promise<boolean>((resolve) => {
    worker.once('message', () => resolve(true));
    worker.once('error', () => resolve(false));
    worker.once('exit', () => resolve(false));
  });
  return { done, stop: () => worker.terminate().catch(() => undefined) };
}
