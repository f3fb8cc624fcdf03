/**
 * Benchmark of `--hash`: the product's whole-disk hash (EBS reader over the SDK, fetch-ahead
 * window, hash thread) against the lab's EBS direct API in its own process, on
 *   - an 8 GiB disk with 25 % of its blocks written, and a 2 GiB disk written in full;
 *   - with 0 ms latency and no rate limits (and the reader's pacing to EBS's rates off): throughput
 *     as a share of this machine's single-process SHA-256 rate, measured in the same run on the
 *     same bytes (target ≥ 0.85);
 *   - with EBS's limits (GetSnapshotBlock 1,000/s per snapshot and per account) and 10 ms
 *     latency: time against the per-snapshot request-rate floor, written blocks / 1,000 per s
 *     (target ≤ 1.2×; the hash floor, disk bytes / SHA-256 rate, is printed beside it).
 * Each hash runs in a fresh collector process (this file with `--collector`); its peak RSS is
 * reported against 256 MiB.
 *
 *   npm run bench:hash                 # three runs; min / median / max of each ratio
 *   npm run bench:hash -- --runs 1
 *   npm run bench:hash -- --runs 1 --disk 2GiB-100pct   # one of the disks only
 *   npm run bench:hash -- --runs 1 --profile DIR   # a .cpuprofile of each collector process in DIR
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkLab } from './lab-child.js';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/providers/config.js';
import { LabDisk } from '../src/lab/index.js';
import { AwsClients } from '../src/providers/aws/clients.js';
import { systemClock } from '../src/providers/aws/clock.js';
import { hashDisk, type DiskHash } from '../src/providers/aws/disk-hash.js';
import { createEbsReader } from '../src/providers/aws/ebs-reader.js';
import { FileBlockLog } from '../src/providers/aws/hash-progress.js';
import { ScopeCaller } from '../src/providers/aws/scope.js';
import type { HashDiskSpec, HashLabReady } from './hash-lab-process.js';

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
  configure(latencyMs: number, limits: boolean): Promise<number>;
  stop(): Promise<void>;
}

async function startLabProcess(): Promise<LabHandle> {
  const { child, next } = forkLab(new URL('./hash-lab-process.ts', import.meta.url), [JSON.stringify(DISKS)]);
  const ready = await next<HashLabReady>('ready');
  return {
    ready,
    async configure(latencyMs, limits) {
      child.send({ type: 'configure', latencyMs, limits });
      return (await next<{ throttled: number }>('configured')).throttled;
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
}

/**
 * One hash in a fresh collector process (this file with `--collector`), so its peak RSS is the
 * product's alone: not the lab's, not the baseline's.
 */
async function hashInCollector(lab: HashLabReady, snapshotId: string, scratch: string, pace: boolean, profileDir?: string): Promise<CollectorAnswer> {
  const child = fork(fileURLToPath(import.meta.url), ['--collector', JSON.stringify({ lab, snapshotId, scratch, pace })], {
    execArgv: ['--import', 'tsx', '--no-warnings', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<CollectorAnswer>((resolve, reject) => {
    child.once('message', (m: CollectorAnswer | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
    child.once('exit', (code) => reject(new Error(`the collector process exited (${code}) without an answer`)));
  });
}

async function collectorMain(arg: string): Promise<void> {
  const { lab, snapshotId, scratch, pace } = JSON.parse(arg) as { lab: HashLabReady; snapshotId: string; scratch: string; pace: boolean };
  try {
    const { result, seconds, cpuSeconds } = await hashOnce(lab, snapshotId, scratch, pace);
    process.send?.({ result, seconds, cpuSeconds, rssMiB: process.resourceUsage().maxRSS / 1024 });
  } catch (error) {
    process.send?.({ error: (error as Error)?.stack ?? String(error) });
  }
  process.disconnect?.();
}

async function hashOnce(lab: HashLabReady, snapshotId: string, scratch: string, pace: boolean): Promise<{ result: DiskHash; seconds: number; cpuSeconds: number }> {
  const config = parseConfig({
    aws: { forensicsAccount: lab.forensicsAccount, region: lab.region, allowedAccounts: ['222222222222'], endpoints: { ebs: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint, sts: lab.endpoint } },
  });
  const clients = new AwsClients(config.aws!, async () => lab.credentials);
  try {
    const caller = new ScopeCaller({ kind: 'forensics', account: lab.forensicsAccount, region: lab.region, partition: 'aws' }, clients.forensics(lab.region), systemClock, undefined);
    const reader = createEbsReader({ caller, side: 'forensics', snapshotId, snapshotArn: `arn:aws:ec2:${lab.region}::snapshot/${snapshotId}`, pace });
    const log = new FileBlockLog(scratch, snapshotId);
    const started = performance.now();
    const cpu = process.cpuUsage();
    const result = await hashDisk({ reader, log, checkpointEvery: (n) => Math.max(32, Math.min(2048, Math.floor(n / 16))) });
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    await log.finish();
    return { result, seconds, cpuSeconds: (used.user + used.system) / 1e6 };
  } finally {
    clients.destroy();
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] ?? NaN, median: s[Math.floor(s.length / 2)] ?? NaN, max: s[s.length - 1] ?? NaN };
};
const f2 = (n: number) => n.toFixed(2);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, collector: { type: 'string' }, profile: { type: 'string' }, disk: { type: 'string' } } });
  const profileDir = values.profile;
  if (values.collector) return collectorMain(values.collector);
  const runs = Math.max(1, Number(values.runs) || 3);
  const lab = await startLabProcess();
  const scratch = mkdtempSync(join(tmpdir(), 'custody-bench-hash-'));
  const rss: number[] = [];
  const rows: Array<{ disk: string; metric: string; values: number[]; target: string; pass: (v: number) => boolean }> = [];
  try {
    for (const snap of lab.ready.snapshots.filter((s) => !values.disk || s.name === values.disk)) {
      const disk = new LabDisk(snap.seed, snap.sizeMiB * MIB, snap.writtenFraction);
      const shares: number[] = [];
      const floorRatios: number[] = [];
      const vsHashFloor: number[] = [];
      for (let run = 1; run <= runs; run++) {
        await lab.configure(0, false);
        // No limits at the lab, so no pacing either: this measures the product's own pipeline.
        const { result, seconds, rssMiB, cpuSeconds } = await hashInCollector(lab.ready, snap.snapshotId, scratch, false, profileDir);
        rss.push(rssMiB);
        const sha = shaRate(disk);
        if (result.sha256 !== sha.sha256) throw new Error(`${snap.name}: the product's hash ${result.sha256} differs from the baseline's ${sha.sha256}`);
        const throughput = result.volumeBytes / seconds;
        shares.push(throughput / sha.bytesPerSecond);
        console.log(
          `${snap.name} run ${run} (0 ms, no limits): ${f2(seconds)} s, ${f2(throughput / MIB)} MiB/s; SHA-256 alone ${f2(sha.bytesPerSecond / MIB)} MiB/s → ${f2(throughput / sha.bytesPerSecond)} of it; ${result.blockRequests} block requests; collector CPU ${f2(cpuSeconds)} s, RSS ${f2(rssMiB)} MiB`,
        );

        const throttledBefore = await lab.configure(10, true);
        const limited = await hashInCollector(lab.ready, snap.snapshotId, scratch, true, profileDir);
        rss.push(limited.rssMiB);
        const throttled = (await lab.configure(0, false)) - throttledBefore;
        if (limited.result.sha256 !== sha.sha256) throw new Error(`${snap.name}: the hash under limits differs`);
        const requestFloor = snap.writtenBlocks / PER_SNAPSHOT_RATE;
        const hashFloor = result.volumeBytes / sha.bytesPerSecond;
        floorRatios.push(limited.seconds / requestFloor);
        vsHashFloor.push(limited.seconds / Math.max(requestFloor, hashFloor));
        console.log(
          `${snap.name} run ${run} (10 ms, EBS limits): ${f2(limited.seconds)} s; request-rate floor ${snap.writtenBlocks} blocks / ${PER_SNAPSHOT_RATE}/s = ${f2(requestFloor)} s → ${f2(limited.seconds / requestFloor)}×; hash floor ${f2(hashFloor)} s; ${throttled} requests throttled${hashFloor > TARGET_FLOOR_RATIO * requestFloor ? ' (the hash floor alone is above the request-floor target: unreachable on this machine)' : ''}`,
        );
      }
      rows.push({ disk: snap.name, metric: 'throughput / SHA-256 rate (0 ms)', values: shares, target: `≥ ${TARGET_SHA_SHARE}`, pass: (v) => v >= TARGET_SHA_SHARE });
      rows.push({ disk: snap.name, metric: 'time / request-rate floor (10 ms, limits)', values: floorRatios, target: `≤ ${TARGET_FLOOR_RATIO}`, pass: (v) => v <= TARGET_FLOOR_RATIO });
      rows.push({ disk: snap.name, metric: 'time / max(request, hash) floor (info)', values: vsHashFloor, target: '-', pass: () => true });
    }
  } finally {
    await lab.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  const rssMiB = Math.max(...rss);
  console.log(`\n${runs} run(s); min / median / max`);
  for (const row of rows) {
    const s = stats(row.values);
    const verdict = row.target === '-' ? '' : row.pass(s.median) ? ' PASS' : ' FAIL';
    console.log(`${row.disk.padEnd(12)} ${row.metric.padEnd(44)} ${f2(s.min)} / ${f2(s.median)} / ${f2(s.max)}  target ${row.target}${verdict}`);
  }
  const r = stats(rss);
  console.log(`peak RSS of a collector process hashing one disk (MiB)             ${f2(r.min)} / ${f2(r.median)} / ${f2(r.max)}  target ≤ ${RSS_LIMIT_MIB}${rssMiB <= RSS_LIMIT_MIB ? ' PASS' : ' FAIL'}`);
}

await main();
