/**
 * The hash benchmark's collector process: one whole-disk hash by the product as it ships — the
 * compiled `dist/` (bench/hash.ts builds it first), run by plain `node` as `custody` runs it, not
 * through tsx — so its peak RSS and CPU time are the product's alone. bench/hash.ts strips this
 * file's types into plain JavaScript first (Node's type stripping at load time would put a
 * TypeScript parser into the measured process); the product's modules are imported from `dist/`
 * at run time, their types from `src/`.
 *
 * Argument: JSON { lab, snapshotId, scratch, pace, dist } (`dist`: the URL of dist/, ending in /).
 * Answers the parent over IPC with { result, seconds, cpuSeconds, systemSeconds, byThread, rssMiB } or { error }.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { HashLabReady } from './hash-lab-process.js';

type Config = typeof import('../src/providers/config.js');
type Clients = typeof import('../src/providers/aws/clients.js');
type Clock = typeof import('../src/providers/aws/clock.js');
type DiskHash = typeof import('../src/providers/aws/disk-hash.js');
type Reader = typeof import('../src/providers/aws/ebs-reader.js');
type Progress = typeof import('../src/providers/aws/hash-progress.js');
type Scope = typeof import('../src/providers/aws/scope.js');

const args = JSON.parse(process.argv[2] ?? '{}') as { lab: HashLabReady; snapshotId: string; scratch: string; pace: boolean; dist: string };
const dist = <T>(path: string): Promise<T> => import(new URL(path, args.dist).href) as Promise<T>;

/**
 * CPU time of each thread of this process so far, ms, keyed `tid:name` (Linux
 * `/proc/self/task/<tid>/stat`: utime + stime in 10 ms ticks). Empty without /proc.
 */
function threadsCpu(): Map<string, number> {
  const now = new Map<string, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return now;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      now.set(`${tid}:${name}`, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // The thread ended while we read.
    }
  }
  return now;
}

/**
 * CPU by thread kind over the hash (ms): main, hash threads, V8 helpers, libuv pool, other. The
 * hash threads end with the hash, so the threads are read every 250 ms and each one's last
 * reading kept.
 */
function watchThreads(): () => Record<string, number> {
  const before = threadsCpu();
  const last = new Map(before);
  const timer = setInterval(() => {
    for (const [k, v] of threadsCpu()) last.set(k, v);
  }, 250);
  return () => {
    clearInterval(timer);
    for (const [k, v] of threadsCpu()) last.set(k, v);
    const kinds: Record<string, number> = { main: 0, 'hash threads': 0, 'V8 helpers': 0, 'libuv pool': 0, other: 0 };
    const kindOf: Record<string, string> = { 'node-MainThread': 'main', 'node-V8Worker': 'V8 helpers', 'libuv-worker': 'libuv pool' };
    for (const [key, ms] of last) {
      const name = key.slice(key.indexOf(':') + 1);
      const kind = kindOf[name] ?? (name === 'WorkerThread' ? 'hash threads' : 'other');
      kinds[kind] = (kinds[kind] ?? 0) + ms - (before.get(key) ?? 0);
    }
    return kinds;
  };
}

async function hashOnce(lab: HashLabReady, snapshotId: string, scratch: string, pace: boolean) {
  const [{ parseConfig }, { AwsClients }, { systemClock }, { hashDisk }, { createEbsReader }, { FileBlockLog }, { ScopeCaller }] = await Promise.all([
    dist<Config>('providers/config.js'),
    dist<Clients>('providers/aws/clients.js'),
    dist<Clock>('providers/aws/clock.js'),
    dist<DiskHash>('providers/aws/disk-hash.js'),
    dist<Reader>('providers/aws/ebs-reader.js'),
    dist<Progress>('providers/aws/hash-progress.js'),
    dist<Scope>('providers/aws/scope.js'),
  ]);
  const config = parseConfig({
    aws: { forensicsAccount: lab.forensicsAccount, region: lab.region, allowedAccounts: ['222222222222'], endpoints: { ebs: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint, sts: lab.endpoint } },
  });
  const clients = new AwsClients(config.aws!, async () => lab.credentials);
  try {
    const caller = new ScopeCaller({ kind: 'forensics', account: lab.forensicsAccount, region: lab.region, partition: 'aws' }, clients.forensics(lab.region), systemClock, undefined);
    const reader = createEbsReader({ caller, side: 'forensics', snapshotId, snapshotArn: `arn:aws:ec2:${lab.region}::snapshot/${snapshotId}`, pace });
    const log = new FileBlockLog(scratch, snapshotId);
    // The parent reads this process's threads' CPU from now until the answer (bench/threads-cpu.ts).
    process.send?.({ started: true });
    const started = performance.now();
    const cpu = process.cpuUsage();
    const threads = watchThreads();
    const result = await hashDisk({ reader, log, checkpointEvery: (n) => Math.max(32, Math.min(2048, Math.floor(n / 16))) });
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const byThread = threads();
    await log.finish();
    return { result, seconds, cpuSeconds: (used.user + used.system) / 1e6, systemSeconds: used.system / 1e6, byThread };
  } finally {
    clients.destroy();
  }
}

const { lab, snapshotId, scratch, pace } = args;
try {
  const { result, seconds, cpuSeconds, systemSeconds, byThread } = await hashOnce(lab, snapshotId, scratch, pace);
  process.send?.({ result, seconds, cpuSeconds, systemSeconds, byThread, rssMiB: process.resourceUsage().maxRSS / 1024 });
} catch (error) {
  process.send?.({ error: (error as Error)?.stack ?? String(error) });
}
process.disconnect?.();
