/**
 * Checks a ledger's signatures, all by its pinned key. Ed25519 verification is most of what
 * verify costs, and it does not depend on the evidence files, so for a large ledger it runs on a
 * worker thread while verify hashes the files on the main one: on two cores verify then takes
 * about as long as the larger of the two, not their sum.
 */
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { PendingSignature } from './chain.js';
import { parseEd25519PublicKey, textVerifier } from './signing-key.js';

/** Below this many signatures a worker's start-up (~30 ms) costs more than it saves. */
export const WORKER_MIN_SIGNATURES = 2_000;

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
const verdicts = new Uint8Array(hashes.length);
for (let i = 0; i < hashes.length; i++) {
  try {
    verdicts[i] = verify(null, Buffer.from(hashes[i], 'utf8'), key, Buffer.from(sigs[i], 'base64')) ? 1 : 0;
  } catch {
    verdicts[i] = 0;
  }
}
parentPort.postMessage(verdicts, [verdicts.buffer]);
`;

export interface CheckSignaturesOptions {
  /** Use a worker from this many signatures on (default {@link WORKER_MIN_SIGNATURES}). */
  workerFrom?: number;
}

/**
 * One verdict per pending signature (true: it verifies with `publicKey`). Never rejects: if the
 * worker cannot start or fails, the signatures are checked on this thread instead.
 */
export async function checkSignatures(
  publicKey: string | undefined,
  pending: readonly PendingSignature[],
  options: CheckSignaturesOptions = {},
): Promise<boolean[]> {
  if (publicKey === undefined) return pending.map(() => false);
  const key = parseEd25519PublicKey(publicKey);
  const here = () => {
    const check = textVerifier(publicKey);
    return pending.map((s) => check(s.hash, s.sig));
  };
  if (!key || pending.length < (options.workerFrom ?? WORKER_MIN_SIGNATURES)) return here();
  const verdicts = await checkOnWorker(key, pending);
  return verdicts ?? here();
}

/** The verdicts from a worker thread, or undefined when it could not give them. */
export function checkOnWorker(key: KeyObject, pending: readonly PendingSignature[]): Promise<boolean[] | undefined> {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        // No loaders or flags of the parent (tsx, a test runner's): the worker needs only crypto.
        execArgv: [],
        workerData: { der, hashes: pending.map((s) => s.hash), sigs: pending.map((s) => s.sig) },
      });
    } catch {
      resolve(undefined);
      return;
    }
    let settled = false;
    const settle = (verdicts: boolean[] | undefined) => {
      if (settled) return;
      settled = true;
      resolve(verdicts);
    };
    worker.once('message', (bytes: Uint8Array) => {
      settle(bytes.length === pending.length ? Array.from(bytes, (v) => v === 1) : undefined);
    });
    worker.once('error', () => settle(undefined));
    worker.once('exit', () => settle(undefined));
  });
}
