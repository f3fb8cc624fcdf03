/**
 * One benchmark run, in its own process so that its CPU time and peak RSS are the collector's
 * alone: starts the lab in a further process (bench/lab-process.ts), collects every instance with
 * a real orchestrator + AWS provider + custody case on disk, closes and verifies the case, and
 * sends its figures to the parent (bench/run.ts) over IPC.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { forkLab } from './lab-child.js';
import { byThreadKind, threadsCpu } from './threads-cpu.js';
import { parseConfig } from '../src/providers/config.js';
import { DEFAULT_COLLECT_OPTIONS, runCollection } from '../src/core/orchestrator.js';
import { parseTarget } from '../src/providers/targets.js';
import { openCase, verifyCase } from '../src/custody/index.js';
import { createAwsProvider } from '../src/providers/aws/index.js';
import { REGISTRY } from '../src/providers/registry.js';
import { computeFloor, CPU_GOAL_MS_PER_TARGET, type Floor, type Transfer } from './floor.js';
import type { CallsMessage, LabProcessOptions, ReadyMessage, SnapshotsMessage } from './lab-process.js';

export type Settings = 'shipped' | 'bench';

export interface RunRequest {
  lab: LabProcessOptions;
  transfer: Transfer;
  settings: Settings;
  keep: boolean;
  /** Overrides the concurrency of the chosen settings (to try defaults before shipping them). */
  concurrency?: { perScope: number; total: number };
  /** Write a V8 CPU profile of the collection (runCollection only) into this folder. */
  cpuProfDir?: string;
  /**
   * First collect the same instances into another case in this process (a provider and case of
   * its own), then measure a second collection: what the first run of a process costs beyond
   * the second is one-time cost (compilation, first-use set-up), not per-run cost.
   */
  warmUp?: boolean;
  /** The folder the run's case folder is made in (default: the system's temporary folder). */
  scratchDir?: string;
}

export interface RunResult {
  type: 'result';
  transfer: Transfer;
  settings: Settings;
  /** What the run was configured with, for the printout. */
  described: string;
  targets: number;
  volumes: number;
  accounts: number;
  outcomes: { collected: number; partial: number; failed: number; skipped: number };
  verified: boolean;
  requestedMs: number;
  totalMs: number;
  closeMs: number;
  /** The collector process's own CPU (user + system) during runCollection. */
  cpuMs: number;
  /** The part of `cpuMs` spent in the kernel (system time: file and socket calls), ms. */
  cpuSystemMs: number;
  /** The same CPU by thread kind (Linux `/proc/self/task`, 10 ms ticks), ms: main, V8 helpers, libuv pool, other. */
  threadsCpuMs?: Record<string, number>;
  /** The first collection's CPU when one ran first in this process (`warmUp`): the figures above are the second's. */
  warmUp?: { cpuMs: number; threadsCpuMs: Record<string, number> | undefined };
  /** The lab process's CPU during the run (informational: the cloud's stand-in shares the machine). */
  labCpuMs: number;
  /** Event-loop utilisation during runCollection (1 = never idle). */
  eventLoopBusy: number;
  /** How late timers ran during runCollection (monitorEventLoopDelay), ms. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  peakRssMiB: number;
  /** Collector's `snapshot.completed` entry time − the lab's completion time, per snapshot and copy. */
  noticedMs: { max: number; median: number; count: number };
  calls: { counted: number; perVolume: number; waits: number; throttled: number; byAction: Array<[string, number]> };
  floor: Floor;
  /** The machine's 1-minute load average at the start and the end of the collection (shared machines). */
  load: { start: number; end: number };
  kept?: string;
}

/** The settings a run uses: `shipped` is what a user gets without configuring anything. */
function settingsFor(
  settings: Settings,
  lab: LabProcessOptions,
): { concurrency: { perScope: number; total: number } | undefined; wait: { initialDelayMs: number; maxDelayMs: number } | undefined } {
  if (settings === 'shipped') return { concurrency: undefined, wait: undefined };
  // Lab snapshots complete in a second, not minutes: poll at the lab's pace, one account's
  // instances at once.
  return {
    concurrency: { perScope: lab.instancesPerAccount, total: lab.accounts * lab.instancesPerAccount },
    wait: { initialDelayMs: 250, maxDelayMs: 1_000 },
  };
}

interface LabHandle {
  ready: ReadyMessage;
  ask<T>(type: string): Promise<T>;
  stop(): Promise<void>;
}

async function startLabProcess(options: LabProcessOptions): Promise<LabHandle> {
  const { child, next } = forkLab(new URL('./lab-process.ts', import.meta.url), [JSON.stringify(options)]);
  const ready = await next<ReadyMessage>('ready');
  return {
    ready,
    ask: async <T>(type: string) => {
      const reply = next<T>(type);
      child.send({ type });
      return reply;
    },
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

/** Long enough for the lab's EC2 token buckets to refill after a warm-up collection (CreateSnapshots 100, 5 a second). */
const WARM_UP_PAUSE_MS = 25_000;

async function startProfiler(dir: string | undefined): Promise<Session | undefined> {
  if (!dir) return undefined;
  const profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
  return profiler;
}

async function stopProfiler(profiler: Session | undefined, dir: string | undefined, name: string): Promise<void> {
  if (!profiler || !dir) return;
  const { profile } = await profiler.post('Profiler.stop');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), JSON.stringify(profile));
  profiler.disconnect();
}

async function runOnce(request: RunRequest): Promise<RunResult> {
  const { transfer } = request;
  const lab = await startLabProcess(request.lab);
  const { ready } = lab;
  const dir = mkdtempSync(join(request.scratchDir ?? tmpdir(), `custody-bench-${transfer}-`));
  let kept: string | undefined;
  try {
    const targetAccounts = [...new Set(ready.instances.map((i) => i.account))].sort();
    const volumes = ready.instances.reduce((n, i) => n + i.volumes.length, 0);
    const chosen = settingsFor(request.settings, request.lab);
    if (request.concurrency) chosen.concurrency = request.concurrency;
    const config = parseConfig({
      casesDir: join(dir, 'cases'),
      keysDir: join(dir, 'keys'),
      ...(chosen.concurrency ? { concurrency: chosen.concurrency } : {}),
      aws: {
        forensicsAccount: ready.forensicsAccount,
        region: ready.region,
        allowedAccounts: targetAccounts,
        transfer,
        endpoints: { sts: ready.endpoint, ec2: ready.endpoint, kms: ready.endpoint },
      },
    });
    const credentials = ready.credentials;
    const newProvider = () => createAwsProvider(config, { credentials: async () => credentials, ...(chosen.wait ? { wait: chosen.wait } : {}) });
    const newCase = (caseId: string) => openCase({ casesDir: config.casesDir, caseId, analyst: 'bench', keysDir: join(dir, 'keys'), toolVersion: 'bench' });
    const targets = ready.instances.map((i) => parseTarget(`arn:aws:ec2:${i.region}:${i.account}:instance/${i.id}`));
    let warmUp: RunResult['warmUp'];
    if (request.warmUp) {
      // The same instances into another case, with a provider of its own; then the lab's buckets refill.
      const warmProvider = newProvider();
      const warmCase = await newCase(`BENCH-${transfer}-warm-up`);
      const warmProfiler = await startProfiler(request.cpuProfDir);
      const before = { threads: threadsCpu(), cpu: process.cpuUsage() };
      const warm = await runCollection({ config, parser: REGISTRY, providers: [warmProvider], recorder: warmCase, targets, options: DEFAULT_COLLECT_OPTIONS });
      const cpu = process.cpuUsage(before.cpu);
      await stopProfiler(warmProfiler, request.cpuProfDir, `collect-${targets.length}-${transfer}-${process.pid}-warm-up.cpuprofile`);
      warmUp = { cpuMs: (cpu.user + cpu.system) / 1000, threadsCpuMs: byThreadKind(before.threads, threadsCpu()) };
      await warmCase.close({ outcomes: warm.outcomes });
      await warmProvider.close?.();
      await new Promise((r) => setTimeout(r, WARM_UP_PAUSE_MS));
    }
    const provider = newProvider();
    const recorder = await newCase(`BENCH-${transfer}`);

    const profiler = await startProfiler(request.cpuProfDir);
    await lab.ask('reset');
    const loadAtStart = loadavg()[0]!;
    const threads0 = threadsCpu();
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const t0 = Date.now();
    const { summary, outcomes } = await runCollection({ config, parser: REGISTRY, providers: [provider], recorder, targets, options: DEFAULT_COLLECT_OPTIONS });
    const totalMs = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const threads = byThreadKind(threads0, threadsCpu());
    const elu = performance.eventLoopUtilization(elu0);
    const loadAtEnd = loadavg()[0]!;
    lag.disable();
    await stopProfiler(profiler, request.cpuProfDir, `collect-${targets.length}-${transfer}-${process.pid}.cpuprofile`);
    const { calls, throttled, cpuMs: labCpuMs } = await lab.ask<CallsMessage>('calls');
    const { snapshots } = await lab.ask<SnapshotsMessage>('snapshots');

    const created = recorder.entries().filter((e) => e.type === 'snapshot.created' && Date.parse(e.time) >= t0);
    const requestedMs = created.length > 0 ? Math.max(...created.map((e) => Date.parse(e.time))) - t0 : Number.NaN;
    const completedAt = new Map(snapshots.map((s) => [s.id, s.completedAt]));
    const noticed = recorder
      .entries()
      .filter((e) => e.type === 'snapshot.completed')
      .map((e) => Date.parse(e.time) - (completedAt.get(String(e.data.snapshotId)) ?? Number.NaN))
      .filter((ms) => Number.isFinite(ms))
      .sort((a, b) => a - b);

    const t1 = Date.now();
    await recorder.close({ outcomes });
    await provider.close?.();
    const verified = await verifyCase(recorder.caseDir);
    const closeMs = Date.now() - t1;

    const byAction = new Map<string, number>();
    for (const perAccount of Object.values(calls)) {
      for (const [action, n] of Object.entries(perAccount)) byAction.set(action, (byAction.get(action) ?? 0) + n);
    }
    const waits = byAction.get('ec2:DescribeSnapshots') ?? 0;
    const counted = [...byAction.entries()].filter(([a]) => a !== 'ec2:DescribeSnapshots').reduce((n, [, c]) => n + c, 0);
    const floor = computeFloor({
      transfer,
      latencyMs: request.lab.latencyMs,
      snapshotDurationMs: ready.snapshotDurationMs,
      forensicsAccount: ready.forensicsAccount,
      instances: ready.instances,
      concurrentCopies: ready.limits.concurrentCopies,
      pendingSnapshots: ready.limits.pendingSnapshots,
      cpuBudgetMs: targets.length * CPU_GOAL_MS_PER_TARGET,
    });
    const concurrency = config.concurrency;
    const wait = chosen.wait ?? { initialDelayMs: Number.NaN, maxDelayMs: Number.NaN };
    const described =
      `${request.settings} settings${request.concurrency ? ' (concurrency overridden)' : ''}: concurrency perScope ${concurrency.perScope}, total ${concurrency.total}; ` +
      (chosen.wait ? `snapshot wait ${wait.initialDelayMs}..${wait.maxDelayMs} ms` : 'snapshot wait as shipped') +
      `; lab snapshot/copy time ${ready.snapshotDurationMs} ms; pending-snapshot limit ${ready.limits.pendingSnapshots} per account`;
    if (request.keep) kept = dir;
    return {
      type: 'result',
      transfer,
      settings: request.settings,
      described,
      targets: targets.length,
      volumes,
      accounts: targetAccounts.length,
      outcomes: { collected: summary.collected, partial: summary.partial, failed: summary.failed, skipped: summary.skipped },
      verified: verified.ok,
      requestedMs,
      totalMs,
      closeMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      cpuSystemMs: cpu.system / 1000,
      ...(threads ? { threadsCpuMs: threads } : {}),
      ...(warmUp ? { warmUp } : {}),
      eventLoopBusy: elu.utilization,
      eventLoopDelayMs: { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 },
      labCpuMs,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      noticedMs: {
        max: noticed.length > 0 ? noticed[noticed.length - 1]! : Number.NaN,
        median: noticed.length > 0 ? noticed[Math.floor(noticed.length / 2)]! : Number.NaN,
        count: noticed.length,
      },
      calls: { counted, perVolume: counted / volumes, waits, throttled, byAction: [...byAction.entries()].sort() },
      floor,
      load: { start: loadAtStart, end: loadAtEnd },
      ...(kept ? { kept } : {}),
    };
  } finally {
    await lab.stop();
    if (!kept) rmSync(dir, { recursive: true, force: true });
  }
}

const request = JSON.parse(process.argv[2] ?? '{}') as RunRequest;
const result = await runOnce(request);
process.send?.(result, () => process.exit(0));
