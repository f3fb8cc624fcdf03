/**
 * The call budget: many instances across accounts must not cost a handful of EC2 calls each.
 * Concurrent targets in one account and region share describes, the case-snapshot lookup and
 * KMS key descriptions; only console output and CreateSnapshots are per instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/providers/config.js';
import type { TargetOutcome } from '../../../src/core/ports.js';
import { parseEc2Arn } from '../../../src/providers/targets.js';
import { benchScenario, startLab, type RunningLab } from '../../../src/lab/index.js';
import { createAwsProvider } from '../../../src/providers/aws/index.js';
import { contextFor, MemoryRecorder } from './helpers.js';

const REGION = 'us-east-1';
const ACCOUNTS = 3;
const PER_ACCOUNT = 15;
let lab: RunningLab;

beforeAll(async () => {
  lab = await startLab(benchScenario({ accounts: ACCOUNTS, instancesPerAccount: PER_ACCOUNT, volumesPerInstance: 2, snapshotDurationMs: 100 }), { latency: 5 });
});

afterAll(async () => {
  await lab?.stop();
});

/** Runs `tasks` with at most `limit` at once, like the orchestrator's per-scope limit. */
async function withLimit<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await (tasks[i] as () => Promise<T>)();
      }
    }),
  );
  return results;
}

describe('AWS provider call budget', () => {
  it(`${ACCOUNTS * PER_ACCOUNT} instances × 2 volumes cost at most 1.5 describe/console/snapshot calls per volume`, async () => {
    const accounts = Array.from({ length: ACCOUNTS }, (_, a) => String(200000000001 + a));
    const config = parseConfig({
      aws: {
        forensicsAccount: lab.forensicsAccount,
        region: REGION,
        allowedAccounts: accounts,
        transfer: 'in-place',
        endpoints: { sts: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint },
      },
    });
    const aws = createAwsProvider(config, { credentials: async () => lab.orchestratorCredentials, wait: { initialDelayMs: 50, maxDelayMs: 200 } });
    const targets = [...lab.state.region(REGION).instances.values()].map((i) => parseEc2Arn(`arn:aws:ec2:${REGION}:${i.ownerId}:instance/${i.id}`));
    expect(targets).toHaveLength(ACCOUNTS * PER_ACCOUNT);
    for (const t of targets) aws.validate(t);
    const recorder = new MemoryRecorder('case-budget');
    lab.control.resetCalls();
    // One run (one context, one signal): per account, ten at a time (the default per-scope
    // concurrency); accounts in parallel.
    const run = contextFor(recorder);
    const outcomes: TargetOutcome[] = (
      await Promise.all(
        accounts.map((account) =>
          withLimit(
            10,
            targets.filter((t) => t.account === account).map((t) => () => aws.collect(t, run)),
          ),
        ),
      )
    ).flat();
    const polls = aws.waitPolls('case-budget');
    await aws.close?.();

    expect(outcomes.filter((o) => o.status !== 'collected').map((o) => o.reason)).toEqual([]);
    const counted = ['ec2:DescribeInstances', 'ec2:DescribeVolumes', 'ec2:DescribeSnapshots', 'ec2:GetConsoleOutput', 'ec2:CreateSnapshots', 'kms:DescribeKey'];
    const calls = counted.reduce((n, action) => n + lab.control.totalCalls(action), 0) - polls;
    const volumes = targets.length * 2;
    expect(lab.control.totalCalls('ec2:CreateSnapshots')).toBe(targets.length);
    expect(calls / volumes).toBeLessThanOrEqual(1.5);
    // One session per account, not per target.
    expect(lab.control.totalCalls('sts:AssumeRole')).toBeLessThanOrEqual(accounts.length * 2);
  });
});
