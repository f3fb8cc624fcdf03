/**
 * The thread that computes a whole-disk SHA-256. It does almost nothing but `hash.update`: blocks
 * arrive in disk order as transferred ArrayBuffers (no copy), go back the same way for reuse, and
 * runs of unwritten blocks arrive as a count and are hashed from one preallocated zero buffer.
 * Fetching, checksum checks and image writes happen on the calling thread, off this one.
 *
 * The worker's code is a plain-JavaScript string run with `eval: true`, so the same code runs
 * from `dist/`, under tsx and under vitest without a build step of its own.
 */
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hash = createHash('sha256');
let zeros;
let hashed = 0;
parentPort.on('message', (m) => {
  if (m.t === 'data') {
    hash.update(new Uint8Array(m.buffer, 0, m.length));
    hashed += 1;
    parentPort.postMessage({ t: 'back', buffer: m.buffer, hashed }, [m.buffer]);
  } else if (m.t === 'zeros') {
    const per = zeros.byteLength / m.blockSize;
    let left = m.count;
    while (left > 0) {
      const n = Math.min(left, per);
      hash.update(n === per ? zeros : zeros.subarray(0, n * m.blockSize));
      left -= n;
    }
    hashed += m.count;
    parentPort.postMessage({ t: 'ack', hashed });
  } else if (m.t === 'init') {
    zeros = new Uint8Array(m.zeroBytes);
  } else if (m.t === 'end') {
    parentPort.postMessage({ t: 'digest', hex: hash.digest('hex'), hashed });
  }
});
`;

export interface HashThreadEvents {
  /** A block's buffer came back: reuse it. `hashed` counts blocks hashed so far. */
  onBuffer(buffer: ArrayBuffer, hashed: number): void;
  onProgress(hashed: number): void;
}

/** One whole-disk SHA-256 on its own thread. */
export class HashThread {
  private readonly worker: Worker;
  private digestWaiter: { resolve: (hex: string) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly blockSize: number,
    events: HashThreadEvents,
  ) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    // Zero runs are hashed about 8 MiB per update (16 of EBS's 512 KiB blocks).
    this.worker.postMessage({ t: 'init', zeroBytes: blockSize * Math.max(16, Math.ceil((8 * 1024 * 1024) / blockSize)) });
    this.worker.on('message', (m: { t: string; buffer?: ArrayBuffer; hashed: number; hex?: string }) => {
      if (m.t === 'back' && m.buffer) events.onBuffer(m.buffer, m.hashed);
      else if (m.t === 'ack') events.onProgress(m.hashed);
      else if (m.t === 'digest' && m.hex) this.digestWaiter?.resolve(m.hex);
    });
    this.worker.on('error', (error) => {
      this.failure = error;
      this.digestWaiter?.reject(error);
    });
  }

  /** Hands `buffer` (its first `length` bytes are the next block) to the thread; the caller loses it until it comes back. */
  data(buffer: ArrayBuffer, length: number): void {
    this.worker.postMessage({ t: 'data', buffer, length }, [buffer]);
  }

  /** The next `count` blocks are unwritten (zeros). */
  zeros(count: number): void {
    if (count > 0) this.worker.postMessage({ t: 'zeros', count, blockSize: this.blockSize });
  }

  /** Everything posted so far hashed: the hex digest. */
  digest(): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<string>((resolve, reject) => {
      this.digestWaiter = { resolve, reject };
      this.worker.postMessage({ t: 'end' });
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
