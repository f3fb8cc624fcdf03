import { REGISTRY } from '../src/providers/registry.js';
/**
 * Benchmark: a real collection (orchestrator + AWS provider + custody case on disk) against the
 * lab with benchScenario — 200 instances × 2 volumes in 10 accounts — 50 ms latency on every API
 * call and EC2's token buckets on. The lab runs in its own process (bench/lab-process.ts).
 * Prints the time until every snapshot was requested, the total time, API calls per volume
 * (DescribeSnapshots waits excluded), the ratio to the floor computed in the same run (formula in
 * bench/floor.ts, printed too), PASS/FAIL per target, and peak RSS.
 *
 *   npm run bench                      # in-place (the main figure), then copy
 *   npm run bench -- --only in-place
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/providers/config.js';
import { DEFAULT_COLLECT_OPTIONS, runCollection } from '../src/core/orchestrator.js';
import { parseTarget } from '../src/providers/targets.js';
import { openCase, verifyCase } from '../src/custody/index.js';
import { createAwsProvider } from '../src/providers/aws/index.js';
import { computeFloor, type Transfer } from './floor.js';
import type { CallsMessage, LabProcessOptions, ReadyMessage } from './lab-process.js';

const LAB: LabProcessOptions = { accounts: 10, instancesPerAccount: 20, volumesPerInstance: 2, latencyMs: 50 };
const TARGET_RATIO = 2;
const TARGET_CALLS_PER_VOLUME = 1.5;
// Lab snapshots complete in about a second, not minutes: poll at the lab's pace. Everything else
// runs with the provider's defaults.
const WAIT = { initialDelayMs: 250, maxDelayMs: 1_000 };
const CONCURRENCY = { perScope: LAB.instancesPerAccount, total: LAB.accounts * LAB.instancesPerAccount };

interface LabHandle {
  ready: ReadyMessage;
  calls(): Promise<CallsMessage>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function startLabProcess(): Promise<LabHandle> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./lab-process.ts', import.meta.url)), [JSON.stringify(LAB)], {
    execArgv: ['--import', 'tsx', '--no-warnings'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: { type: string }) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as T);
      };
      const onExit = (code: number | null) => reject(new Error(`the lab process exited (${code}) before answering ${type}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next<ReadyMessage>('ready');
  return {
    ready,
    calls: async () => {
      const reply = next<CallsMessage>('calls');
      child.send({ type: 'calls' });
      return reply;
    },
    reset: async () => {
      const reply = next<unknown>('reset');
      child.send({ type: 'reset' });
      await reply;
    },
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

interface BenchResult {
  transfer: Transfer;
  pass: boolean;
}

async function benchOnce(transfer: Transfer): Promise<BenchResult> {
  const lab = await startLabProcess();
  const { ready } = lab;
  const dir = mkdtempSync(join(tmpdir(), `custody-bench-${transfer}-`));
  try {
    const targetAccounts = [...new Set(ready.instances.map((i) => i.account))].sort();
    const volumes = ready.instances.reduce((n, i) => n + i.volumes.length, 0);
    const config = parseConfig({
      casesDir: join(dir, 'cases'),
      keysDir: join(dir, 'keys'),
      concurrency: CONCURRENCY,
      aws: {
        forensicsAccount: ready.forensicsAccount,
        region: ready.region,
        allowedAccounts: targetAccounts,
        transfer,
        endpoints: { sts: ready.endpoint, ec2: ready.endpoint, kms: ready.endpoint },
      },
    });
    const credentials = ready.credentials;
    const provider = createAwsProvider(config, { credentials: async () => credentials, wait: WAIT });
    const recorder = await openCase({
      casesDir: config.casesDir,
      caseId: `BENCH-${transfer}`,
      analyst: 'bench',
      keysDir: join(dir, 'keys'),
      toolVersion: 'bench',
    });
    const targets = ready.instances.map((i) => parseTarget(`arn:aws:ec2:${i.region}:${i.account}:instance/${i.id}`));

    await lab.reset();
    const t0 = Date.now();
    const { summary, outcomes } = await runCollection({ config, parser: REGISTRY, providers: [provider], recorder, targets, options: DEFAULT_COLLECT_OPTIONS });
    const totalMs = Date.now() - t0;
    const { calls, throttled } = await lab.calls();

    const created = recorder.entries().filter((e) => e.type === 'snapshot.created' && Date.parse(e.time) >= t0);
    const lastRequestedMs = created.length > 0 ? Math.max(...created.map((e) => Date.parse(e.time))) - t0 : NaN;

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
    const perVolume = counted / volumes;
    const floor = computeFloor({
      transfer,
      latencyMs: LAB.latencyMs,
      snapshotDurationMs: ready.snapshotDurationMs,
      forensicsAccount: ready.forensicsAccount,
      instances: ready.instances,
    });
    const ratio = totalMs / floor.floorMs;
    const ratioPass = ratio <= TARGET_RATIO;
    const callsPass = perVolume <= TARGET_CALLS_PER_VOLUME;
    const collectedAll = summary.collected === targets.length;

    const out = (line = '') => process.stdout.write(`${line}\n`);
    out(`== transfer ${transfer}: ${targets.length} instances, ${volumes} volumes, ${targetAccounts.length} accounts; ${LAB.latencyMs} ms latency per call; EC2 token buckets on`);
    out(`   concurrency perScope ${CONCURRENCY.perScope}, total ${CONCURRENCY.total}; snapshot wait ${WAIT.initialDelayMs}..${WAIT.maxDelayMs} ms; lab snapshot/copy time ${ready.snapshotDurationMs} ms; case folder in ${tmpdir()}`);
    out(`   outcomes: ${summary.collected} collected, ${summary.partial} partial, ${summary.failed} failed, ${summary.skipped} skipped`);
    out(`   time until every snapshot was requested: ${fmt(lastRequestedMs)}`);
    out(`   total collection time:                  ${fmt(totalMs)}   (then close + verify ${fmt(closeMs)}: ${verified.ok ? 'verified' : 'NOT verified'})`);
    out(`   API calls, DescribeSnapshots waits excluded: ${counted} = ${perVolume.toFixed(2)} per volume (waits: ${waits}; throttled and retried: ${throttled})`);
    out(`     ${[...byAction.entries()].sort().map(([a, n]) => `${a} ${n}`).join(', ')}`);
    out(`   floor: ${fmt(floor.floorMs)} (chain ${fmt(floor.chainMs)}, buckets ${fmt(floor.bucketMs)}, copies ${fmt(floor.copiesMs)}${floor.busiest ? `; busiest bucket: ${floor.busiest}` : ''})`);
    out(`     ${floor.formula}`);
    out(`   ratio total time / floor: ${ratio.toFixed(2)}  target ≤ ${TARGET_RATIO}  ${ratioPass ? 'PASS' : 'FAIL'}`);
    if (transfer === 'in-place') {
      out(`   calls per volume: ${perVolume.toFixed(2)}  target ≤ ${TARGET_CALLS_PER_VOLUME}  ${callsPass ? 'PASS' : 'FAIL'}`);
    } else {
      out(`   calls per volume: ${perVolume.toFixed(2)}  (informational: copying needs share + copy per volume and a re-encrypting copy per aws/ebs volume)`);
    }
    out(`   every target collected and the case verified: ${collectedAll && verified.ok ? 'PASS' : 'FAIL'}`);
    out(`   peak RSS so far (collector process): ${rssMiB()} MiB`);
    out();
    const pass = ratioPass && collectedAll && verified.ok && (transfer !== 'in-place' || callsPass);
    return { transfer, pass };
  } finally {
    await lab.stop();
    if (process.env.BENCH_KEEP === '1') process.stdout.write(`   kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(ms: number): string {
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a';
}

function rssMiB(): string {
  return (process.resourceUsage().maxRSS / 1024).toFixed(0);
}

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const transfers: Transfer[] = values.only === 'copy' ? ['copy'] : values.only === 'in-place' ? ['in-place'] : ['in-place', 'copy'];
const results: BenchResult[] = [];
for (const transfer of transfers) results.push(await benchOnce(transfer));
process.stdout.write(`peak RSS (collector process): ${rssMiB()} MiB\n`);
process.stdout.write(`${results.map((r) => `${r.transfer}: ${r.pass ? 'PASS' : 'FAIL'}`).join('; ')}\n`);
process.exitCode = results.every((r) => r.pass) ? 0 : 1;
