// What a streamed evidence file costs in memory the product controls: the live JS heap plus
// ArrayBuffers (where Buffers live) after a full garbage collection, sampled while the stream is
// being stored. RSS is no measure of that: V8 keeps freed young-generation space (32 MiB on Node
// 20/22, 128 MiB on 24+) and the allocator keeps freed pages, so RSS grows without anything
// being held. Needs --expose-gc (vitest.config.ts passes it to every test worker).
import type { CaseRecorder, EvidenceInput } from '../../../src/core/ports.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** Live bytes after two full GCs. Throws when the process runs without --expose-gc. */
export function liveBytes(): number {
  if (!gc) throw new Error('run with --expose-gc (vitest.config.ts execArgv) to measure live memory');
  // Twice: on Node 22 one full GC still left ~26 MiB of already-dead buffers counted (freed by
  // finalizers the first collection only schedules); the second reports what is really held.
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/**
 * Wraps `recorder` so that every streamed evidence file is sampled every `everyBytes` while it is
 * stored; `peakGrowth()` is the most live memory seen above the baseline taken at the call.
 */
export function sampleLiveMemory(recorder: CaseRecorder, everyBytes = 8 * 1024 * 1024): { recorder: CaseRecorder; peakGrowth: () => number; samples: () => number } {
  const baseline = liveBytes();
  let peak = baseline;
  let samples = 0;
  async function* watch(content: AsyncIterable<Uint8Array | string>) {
    let sinceSample = 0;
    for await (const chunk of content) {
      sinceSample += chunk.length;
      if (sinceSample >= everyBytes) {
        sinceSample = 0;
        samples += 1;
        peak = Math.max(peak, liveBytes());
      }
      yield chunk;
    }
  }
  const wrapped = Object.create(recorder) as CaseRecorder;
  wrapped.storeEvidence = (input: EvidenceInput) =>
    recorder.storeEvidence(typeof input.content === 'string' || input.content instanceof Uint8Array ? input : { ...input, content: watch(input.content) });
  return { recorder: wrapped, peakGrowth: () => peak - baseline, samples: () => samples };
}
