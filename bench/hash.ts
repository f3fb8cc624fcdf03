/**
 * Benchmark of `--hash`: the product's whole-disk hash (EBS reader: ListSnapshotBlocks over the
 * SDK, GetSnapshotBlock over its lean client sent from the hash threads; fetch-ahead window)
 * against the lab's EBS direct API in its own process, on
 *   - an 8 GiB disk with 25 % of its blocks written, and a 2 GiB disk written in full;
 *   - with 0 ms latency and no rate limits (and the reader's pacing to EBS's rates off): throughput
 *     as a share of this machine's single-process SHA-256 rate, measured in the same run on the
 *     same bytes (target ≥ 0.85), beside the ceiling this machine allows (the digest pass, the
 *     checksum pass over written blocks and the lab's measured CPU time, spread over its cores);
 *   - with EBS's limits (GetSnapshotBlock 1,000/s per snapshot and per account) and 10 ms
 *     latency: time against the per-snapshot request-rate floor, written blocks / 1,000 per s
 *     (target ≤ 1.2×; the hash floor, disk bytes / SHA-256 rate, is printed beside it).
 * Each hash runs in a fresh collector process (hash-collector.ts: the product built to dist/ first,
 * under plain node as `custody` runs); its peak RSS is reported against 256 MiB.
 * Usage: USAGE below (`npm run bench:hash -- --help`).
 */
import { fork, spawnSync } from 'node:child_process';
import { stripTypeScriptTypes } from 'node:module';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkLab } from './lab-child.js';
import { byThreadKind, threadsCpu } from './threads-cpu.js';
import { LabDisk } from '../src/lab/index.js';
import type { DiskHash } from '../src/providers/aws/disk-hash.js';
import type { HashDiskSpec, HashLabReady } from './hash-lab-process.js';
import { benchArgs } from './args.js';

const USAGE = `
npm run bench:hash                 three runs; min / median / max of each ratio
npm run bench:hash -- --runs 1
npm run bench:hash -- --runs 1 --disk 2GiB-100pct   one of the disks only
npm run bench:hash -- --runs 1 --profile DIR        a .cpuprofile of each collector process in DIR
npm run bench:hash -- --node-options=--max-semi-space-size=1   Node options of the collector
`;

const MIB = 1024 * 1024;
const DISKS: HashDiskSpec[] = [
  { name: '8GiB-25pct', sizeMiB: 8 * 1024, writtenFraction: 0.25 },
  { name: '2GiB-100pct', sizeMiB: 2 * 1024, writtenFraction: 1 },
];
const TARGET_SHA_SHARE = 0.85;
const TARGET_FLOOR_RATIO = 1.2;
const RSS_LIMIT_MIB = 256;
const PER_SNAPSHOT_RATE = 1000;

interface LabHandle {
  ready: HashLabReady;
  /** Sets the lab's latency and limits; answers its throttled-request count and CPU seconds so far. */
  configure(latencyMs: number, limits: boolean): Promise<{ throttled: number; cpuSeconds: number }>;
  stop(): Promise<void>;
}

async function startLabProcess(): Promise<LabHandle> {
  const { child, next } = forkLab(new URL('./hash-lab-process.ts', import.meta.url), [JSON.stringify(DISKS)]);
  const ready = await next<HashLabReady>('ready');
  return {
    ready,
    async configure(latencyMs, limits) {
      child.send({ type: 'configure', latencyMs, limits });
      return next<{ throttled: number; cpuSeconds: number }>('configured');
    },
    async stop() {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

/**
 * This machine's single-process SHA-256 rate on the disk's own bytes: the time of the
 * `hash.update` calls alone (blocks regenerated from the seed outside the timing, zero runs fed
 * 8 MiB at a time as the hash thread does). Returns bytes per second and the digest.
 */
function shaRate(disk: LabDisk): { bytesPerSecond: number; sha256: string } {
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(8 * MIB);
  const block = Buffer.allocUnsafe(512 * 1024);
  const perZeroChunk = zeros.byteLength / block.byteLength;
  let timed = 0;
  let i = 0;
  while (i < disk.blockCount) {
    if (disk.isWritten(i)) {
      disk.block(i, block);
      const t = performance.now();
      hash.update(block);
      timed += performance.now() - t;
      i += 1;
      continue;
    }
    let run = 0;
    while (i + run < disk.blockCount && !disk.isWritten(i + run) && run < perZeroChunk) run += 1;
    const t = performance.now();
    hash.update(run === perZeroChunk ? zeros : zeros.subarray(0, run * block.byteLength));
    timed += performance.now() - t;
    i += run;
  }
  const t = performance.now();
  const sha256 = hash.digest('hex');
  timed += performance.now() - t;
  return { bytesPerSecond: disk.bytes / (timed / 1000), sha256 };
}

interface CollectorAnswer {
  result: DiskHash;
  seconds: number;
  /** Peak RSS of the collector process, MiB. */
  rssMiB: number;
  /** CPU time of the collector process (every thread) during the hash, seconds. */
  cpuSeconds: number;
  /** The part of it spent in the kernel, seconds. */
  systemSeconds: number;
  /** The same CPU by thread kind (Linux, read from outside the process while it hashes), ms. */
  byThread: Record<string, number> | undefined;
}

/**
 * One hash in a fresh collector process (hash-collector.ts as plain JavaScript, the built product
 * under plain node),
 * so its peak RSS is the product's alone: not the lab's, not the baseline's, not tsx's.
 */
async function hashInCollector(collector: string, nodeOptions: string[], lab: HashLabReady, snapshotId: string, scratch: string, pace: boolean, profileDir?: string): Promise<CollectorAnswer> {
  const dist = new URL('../dist/', import.meta.url).href;
  const child = fork(collector, [JSON.stringify({ lab, snapshotId, scratch, pace, dist })], {
    execArgv: ['--no-warnings', ...nodeOptions, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // The collector's threads are read from here while it hashes: the hash threads end with the
  // hash, so they are read every 250 ms and each one's last reading kept.
  let before: Map<string, number> | undefined;
  const last = new Map<string, number>();
  const read = () => {
    for (const [k, v] of threadsCpu(child.pid!) ?? []) last.set(k, v);
  };
  let timer: NodeJS.Timeout | undefined;
  return new Promise<CollectorAnswer>((resolve, reject) => {
    child.on('message', (m: Omit<CollectorAnswer, 'byThread'> | { error: string } | { started: true }) => {
      if ('started' in m) {
        before = threadsCpu(child.pid!);
        timer = setInterval(read, 250);
        return;
      }
      clearInterval(timer);
      read();
      if ('error' in m) reject(new Error(m.error));
      else resolve({ ...m, byThread: byThreadKind(before, last, ['main', 'worker threads', 'V8 helpers', 'libuv pool']) });
    });
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`the collector process exited (${code}) without an answer`));
    });
  });
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] ?? NaN, median: s[Math.floor(s.length / 2)] ?? NaN, max: s[s.length - 1] ?? NaN };
};
const f2 = (n: number) => n.toFixed(2);
const threadsLine = (a: CollectorAnswer) =>
  `${
    a.byThread
      ? `by thread ${Object.entries(a.byThread)
          .map(([k, ms]) => `${k === 'worker threads' ? 'hash threads' : k} ${f2(ms / 1000)} s`)
          .join(', ')}; `
      : ''
  }kernel ${f2(a.systemSeconds)} s of it`;

async function main(): Promise<void> {
  const values = benchArgs(USAGE, { runs: { type: 'string', default: '3' }, profile: { type: 'string' }, disk: { type: 'string' }, 'node-options': { type: 'string' } });
  const profileDir = values.profile;
  // Node options for the collector process only (e.g. --max-semi-space-size=1), printed with the results.
  const nodeOptions = values['node-options']?.split(/\s+/).filter(Boolean) ?? [];
  // The collector runs the product as it ships (dist/): built from the sources now.
  const built = spawnSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', fileURLToPath(new URL('../tsconfig.build.json', import.meta.url))], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('the build of dist/ failed');
  const scratch = mkdtempSync(join(tmpdir(), 'custody-bench-hash-'));
  const collector = join(scratch, 'hash-collector.mjs');
  const source = readFileSync(new URL('./hash-collector.ts', import.meta.url), 'utf8');
  writeFileSync(collector, stripTypeScriptTypes(source));
  const runs = Math.max(1, Number(values.runs) || 3);
  const cores = availableParallelism();
  const lab = await startLabProcess();
  const rss: number[] = [];
  const rows: Array<{ disk: string; metric: string; values: number[]; target: string; pass: (v: number) => boolean }> = [];
  try {
    for (const snap of lab.ready.snapshots.filter((s) => !values.disk || s.name === values.disk)) {
      const disk = new LabDisk(snap.seed, snap.sizeMiB * MIB, snap.writtenFraction);
      const shares: number[] = [];
      const floorRatios: number[] = [];
      const vsHashFloor: number[] = [];
      const ceilings: number[] = [];
      const vsCeiling: number[] = [];
      for (let run = 1; run <= runs; run++) {
        const labBefore = await lab.configure(0, false);
        // No limits at the lab, so no pacing either: this measures the product's own pipeline.
        const unlimited = await hashInCollector(collector, nodeOptions, lab.ready, snap.snapshotId, scratch, false, profileDir);
        const { result, seconds, rssMiB, cpuSeconds } = unlimited;
        const labCpu = (await lab.configure(0, false)).cpuSeconds - labBefore.cpuSeconds;
        rss.push(rssMiB);
        const sha = shaRate(disk);
        if (result.sha256 !== sha.sha256) throw new Error(`${snap.name}: the product's hash ${result.sha256} differs from the baseline's ${sha.sha256}`);
        const throughput = result.volumeBytes / seconds;
        shares.push(throughput / sha.bytesPerSecond);
        // The work no reader can avoid on this machine: the whole-disk digest (one thread: a
        // SHA-256 is one chain), a second SHA-256 pass over every written block (EBS's checksums)
        // and the lab serving the blocks (its CPU time, measured), on `cores` cores.
        const digestSeconds = result.volumeBytes / sha.bytesPerSecond;
        const checksumSeconds = (result.blockRequests * result.blockSize) / sha.bytesPerSecond;
        const ceilingSeconds = Math.max(digestSeconds, (digestSeconds + checksumSeconds + labCpu) / cores);
        const ceiling = digestSeconds / ceilingSeconds;
        ceilings.push(ceiling);
        vsCeiling.push(throughput / sha.bytesPerSecond / ceiling);
        console.log(
          `${snap.name} run ${run} (0 ms, no limits): ${f2(seconds)} s, ${f2(throughput / MIB)} MiB/s; SHA-256 alone ${f2(sha.bytesPerSecond / MIB)} MiB/s → ${f2(throughput / sha.bytesPerSecond)} of it; ${result.blockRequests} block requests; collector CPU ${f2(cpuSeconds)} s (${f2((cpuSeconds / result.blockRequests) * 1000)} ms a block, the two SHA-256 passes ${f2(((digestSeconds + checksumSeconds) / result.blockRequests) * 1000)} ms of it), RSS ${f2(rssMiB)} MiB; lab CPU ${f2(labCpu)} s; ceiling on ${cores} cores ${f2(ceiling)} of the SHA-256 rate; collector ${threadsLine(unlimited)}`,
        );

        const throttledBefore = (await lab.configure(10, true)).throttled;
        const limited = await hashInCollector(collector, nodeOptions, lab.ready, snap.snapshotId, scratch, true, profileDir);
        rss.push(limited.rssMiB);
        const throttled = (await lab.configure(0, false)).throttled - throttledBefore;
        if (limited.result.sha256 !== sha.sha256) throw new Error(`${snap.name}: the hash under limits differs`);
        const requestFloor = snap.writtenBlocks / PER_SNAPSHOT_RATE;
        const hashFloor = result.volumeBytes / sha.bytesPerSecond;
        floorRatios.push(limited.seconds / requestFloor);
        vsHashFloor.push(limited.seconds / Math.max(requestFloor, hashFloor));
        console.log(
          `${snap.name} run ${run} (10 ms, EBS limits): ${f2(limited.seconds)} s; request-rate floor ${snap.writtenBlocks} blocks / ${PER_SNAPSHOT_RATE}/s = ${f2(requestFloor)} s → ${f2(limited.seconds / requestFloor)}×; hash floor ${f2(hashFloor)} s; ${throttled} requests throttled; collector CPU ${f2(limited.cpuSeconds)} s, ${threadsLine(limited)}${hashFloor > TARGET_FLOOR_RATIO * requestFloor ? ' (the hash floor alone is above the request-floor target: unreachable on this machine)' : ''}`,
        );
      }
      rows.push({ disk: snap.name, metric: 'throughput / SHA-256 rate (0 ms)', values: shares, target: `≥ ${TARGET_SHA_SHARE}`, pass: (v) => v >= TARGET_SHA_SHARE });
      rows.push({ disk: snap.name, metric: 'ceiling on this machine (info)', values: ceilings, target: '-', pass: () => true });
      rows.push({ disk: snap.name, metric: 'throughput / ceiling (info)', values: vsCeiling, target: '-', pass: () => true });
      rows.push({ disk: snap.name, metric: 'time / request-rate floor (10 ms, limits)', values: floorRatios, target: `≤ ${TARGET_FLOOR_RATIO}`, pass: (v) => v <= TARGET_FLOOR_RATIO });
      rows.push({ disk: snap.name, metric: 'time / max(request, hash) floor (info)', values: vsHashFloor, target: '-', pass: () => true });
    }
  } finally {
    await lab.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  const rssMiB = Math.max(...rss);
  console.log(`\n${runs} run(s); min / median / max${nodeOptions.length ? `; collector under node ${nodeOptions.join(' ')}` : ''}`);
  for (const row of rows) {
    const s = stats(row.values);
    const verdict = row.target === '-' ? '' : row.pass(s.median) ? ' PASS' : ' FAIL';
    console.log(`${row.disk.padEnd(12)} ${row.metric.padEnd(44)} ${f2(s.min)} / ${f2(s.median)} / ${f2(s.max)}  target ${row.target}${verdict}`);
  }
  const r = stats(rss);
  console.log(`peak RSS of a collector process hashing one disk (MiB)             ${f2(r.min)} / ${f2(r.median)} / ${f2(r.max)}  target ≤ ${RSS_LIMIT_MIB}${rssMiB <= RSS_LIMIT_MIB ? ' PASS' : ' FAIL'}`);
}

await main();
