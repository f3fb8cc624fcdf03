/**
 * Checks a ledger's signatures, all by its pinned key. Ed25519 verification is most of what
 * verify costs, and it does not depend on the evidence files, so for a large ledger a worker
 * thread starts on the signatures while verify hashes the files on the main thread, which then
 * joins in on whatever signatures are left. On two cores verify takes about half the sum of the
 * two, rather than the sum.
 */
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { PendingSignature } from './chain.js';
import { parseEd25519PublicKey, textVerifier } from './signing-key.js';

/** Below this many signatures a worker's start-up (~30 ms) costs more than it saves. */
export const WORKER_MIN_SIGNATURES = 2_000;

/** Signatures claimed at a time, by either thread, from a shared counter. */
const CLAIM = 64;

// Verdicts in shared memory: 0 not checked yet, 1 verifies, 2 does not.
const UNCHECKED = 0;
const VALID = 1;
const INVALID = 2;

/**
 * Plain CommonJS, evaluated: no module file to resolve, so it runs the same from src/ (tsx), from
 * dist/ and from a bundle. It does only what the main thread's check does for a signature whose
 * spelling the walk has already checked (canonical base64 of 64 bytes).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const key = createPublicKey({ key: Buffer.from(workerData.der), format: 'der', type: 'spki' });
const { hashes, sigs } = workerData;
const next = new Int32Array(workerData.next);
const verdicts = new Uint8Array(workerData.verdicts);
for (let start; (start = Atomics.add(next, 0, ${CLAIM})) < hashes.length; ) {
  for (let i = start; i < Math.min(start + ${CLAIM}, hashes.length); i++) {
    let ok = false;
    try {
      ok = verify(null, Buffer.from(hashes[i], 'utf8'), key, Buffer.from(sigs[i], 'base64'));
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
  /**
   * Checks whatever the worker has not claimed yet on this thread, waits for the worker's last
   * claim, and gives one verdict per pending signature (true: it verifies). Never rejects: a
   * signature the worker did not answer for is checked here.
   */
  finish(): Promise<boolean[]>;
}

/**
 * Starts checking `pending` against `publicKey`: on a worker thread for many signatures, else
 * (or if the worker cannot start) all of them in `finish()`.
 *
 * @example
 * const checks = startSignatureChecks(walk.publicKey, walk.signatures);
 * await hashTheFiles();
 * const verdicts = await checks.finish();
 */
export function startSignatureChecks(publicKey: string | undefined, pending: readonly PendingSignature[], options: CheckSignaturesOptions = {}): SignatureChecks {
  const key = publicKey === undefined ? undefined : parseEd25519PublicKey(publicKey);
  if (publicKey === undefined || !key) return { finish: async () => pending.map(() => false) };
  const check = textVerifier(publicKey);
  const next = new Int32Array(new SharedArrayBuffer(4));
  const verdicts = new Uint8Array(new SharedArrayBuffer(Math.max(pending.length, 1)));
  const worker = pending.length >= (options.workerFrom ?? WORKER_MIN_SIGNATURES) ? startWorker(key, pending, next, verdicts) : Promise.resolve();
  return {
    async finish() {
      for (let start; (start = Atomics.add(next, 0, CLAIM)) < pending.length; ) {
        for (let i = start; i < Math.min(start + CLAIM, pending.length); i++) {
          Atomics.store(verdicts, i, check(pending[i]!.hash, pending[i]!.sig) ? VALID : INVALID);
        }
      }
      await worker;
      return pending.map((s, i) => {
        const verdict = Atomics.load(verdicts, i);
        return verdict === UNCHECKED ? check(s.hash, s.sig) : verdict === VALID;
      });
    },
  };
}

/** One verdict per pending signature; see {@link startSignatureChecks}. */
export function checkSignatures(publicKey: string | undefined, pending: readonly PendingSignature[], options: CheckSignaturesOptions = {}): Promise<boolean[]> {
  return startSignatureChecks(publicKey, pending, options).finish();
}

/**
 * Every verdict from a worker thread alone, or undefined when it could not give them all (so a
 * test can tell the worker answered, not the main thread's fallback).
 */
export async function checkOnWorker(key: KeyObject, pending: readonly PendingSignature[]): Promise<boolean[] | undefined> {
  const next = new Int32Array(new SharedArrayBuffer(4));
  const verdicts = new Uint8Array(new SharedArrayBuffer(Math.max(pending.length, 1)));
  if (!(await startWorker(key, pending, next, verdicts))) return undefined;
  const all = pending.map((_, i) => Atomics.load(verdicts, i));
  return all.includes(UNCHECKED) ? undefined : all.map((v) => v === VALID);
}

/** Resolves true once the worker has claimed its last signatures, false if it failed or did not start. */
function startWorker(key: KeyObject, pending: readonly PendingSignature[], next: Int32Array, verdicts: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        // No loaders or flags of the parent (tsx, a test runner's): the worker needs only crypto.
        execArgv: [],
        workerData: {
          der: key.export({ format: 'der', type: 'spki' }),
          hashes: pending.map((s) => s.hash),
          sigs: pending.map((s) => s.sig),
          next: next.buffer,
          verdicts: verdicts.buffer,
        },
      });
    } catch {
      resolve(false);
      return;
    }
    worker.once('message', () => resolve(true));
    worker.once('error', () => resolve(false));
    worker.once('exit', () => resolve(false));
  });
}
