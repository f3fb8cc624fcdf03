/**
 * An AWS source-snapshot wait cut short — by the run's stop signal, by its time limit
 * (`aws.snapshotTimeoutSeconds`), or by DescribeSnapshots failing — leaves the snapshot in AWS:
 * EC2 accepted it and may still be making it. Its `step.failed` (`wait-snapshot`) carries
 * `leftInAws`, nothing is claimed completed, the target ends `partial` (the snapshot exists, and
 * is in the manifest), the reason says a resume adopts it, and a resume adopts that very snapshot,
 * requesting none again.
 *
 * Lab snapshots take an hour of lab time; the cut is made from the ledger (once the snapshot is
 * on record as created) and the resume moves the lab's clock on, so nothing waits on real time.
 */
import { describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../../src/providers/aws/clock.js';
import { createAwsProvider } from '../../../src/providers/aws/index.js';
import type { CaseHandle } from '../../../src/custody/index.js';
import type { ProviderContext } from '../../../src/core/ports.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { addInstance } from '../../../src/lab/index.js';
import { caseWith } from '../../support/case-with.js';
import { contextFor } from './helpers.js';
import { instanceArn, REGION, useAwsLab } from './lab-fixture.js';

const ACCOUNT = '222222222222';
const TAGGED = { ForensicsEnabled: 'true' };
const HOUR = 3_600_000;
const world = useAwsLab({ scratchPrefix: 'custody-aws-waitcut-', snapshotDurationMs: HOUR });
/** The steps of a volume's chain (volume-chain.ts), whatever else of the instance ran beside it. */
const CHAIN_STEPS = new Set(['wait-snapshot', 'reencrypt', 'share', 'forensics-copy', 'lock']);
const left = (id: unknown) => `snapshot ${String(id)} was asked for and may still be being made; a resume adopts it`;

/**
 * The volume chain's one cut step (`step`), the snapshot it says is left (`leftId`), and the
 * target partial with a reason that says so, naming what a resume does once. Returns the step's data.
 */
function expectOneCutLeft(entries: ReturnType<CaseHandle['entries']>, outcome: { status: string; reason?: string }, step: string, leftId: unknown) {
  // The volume chain's steps only: the console read runs beside the snapshot and a stop may cut it
  // too, depending on which finished first (the machine's load, not the product).
  const cut = entries.filter((e) => e.type === 'step.failed' && CHAIN_STEPS.has(e.data.step as string));
  expect(cut.map((e) => e.data.step)).toEqual([step]);
  expect(cut[0]!.data.leftInAws).toBe(left(leftId));
  expect(outcome.status, outcome.reason).toBe('partial');
  expect(outcome.reason).toContain(left(leftId));
  // Said once: the failure says what cut the wait, leftInAws what is left and what a resume does.
  expect(outcome.reason!.match(/continues|adopt/g)).toEqual(['adopt']);
  return cut[0]!.data;
}

/** Collects a one-volume instance; `onCreated` runs once its snapshot.created is on record. */
async function collectCut(name: string, cut: (ctx: { kase: CaseHandle; stop: AbortController }) => { onCreated: () => void; provider?: ReturnType<typeof world.provider> }) {
  const host = addInstance(world.lab.state, ACCOUNT, REGION, {
    tags: { Name: name, ...TAGGED },
    volumes: [{ sizeGiB: 8, encryption: 'alias/cloud-custody-share', tags: TAGGED }],
    consoleOutput: `${name} login: `,
  });
  const kase = await world.newCase('waitcut');
  const stop = new AbortController();
  const { onCreated, provider } = cut({ kase, stop });
  const recorder = caseWith(kase, {
    record: async (type, data, target) => {
      const entry = await kase.record(type, data, target);
      if (type === 'snapshot.created') onCreated();
      return entry;
    },
  });
  const context: ProviderContext = { ...contextFor(recorder), signal: stop.signal };
  const outcome = await (provider ?? world.provider()).collect(parseTarget(instanceArn(host)), context);
  return { kase, outcome, target: parseTarget(instanceArn(host)) };
}

/** What every cut leaves, then a resume that adopts the same snapshot and carries it through. */
async function expectLeftAndAdopted(run: Awaited<ReturnType<typeof collectCut>>, error: { code: string; message?: unknown }) {
  const { kase, outcome } = run;
  const entries = kase.entries();
  const created = entries.filter((e) => e.type === 'snapshot.created').flatMap((e) => (e.data.snapshots as Array<{ snapshotId: string }>).map((s) => s.snapshotId));
  expect(created).toHaveLength(1);
  expect(entries.filter((e) => e.type === 'snapshot.completed')).toEqual([]);
  expect(expectOneCutLeft(entries, outcome, 'wait-snapshot', created[0])).toMatchObject({ snapshotId: created[0], error });
  await kase.close({ outcomes: [outcome] });

  world.lab.clock.advance(HOUR + 1);
  const resumed = await world.openCase(kase.caseId, true);
  const from = resumed.entries().length;
  // In place: the source snapshot is the evidence here (copies would take another lab hour each).
  const again = await world.provider({ transfer: 'in-place' }).collect(run.target, contextFor(resumed));
  const after = resumed.entries().slice(from);
  expect(again.status, again.reason).toBe('collected');
  expect(after.filter((e) => e.type === 'snapshot.requested')).toEqual([]);
  // Found by the case's tags, completed meanwhile: adopted as it is, not made again.
  expect(after.filter((e) => e.type === 'snapshot.adopted').map((e) => [e.data.snapshotId, e.data.state])).toEqual([[created[0], 'completed']]);
  await resumed.close({ outcomes: [again] });
}

describe('AWS: a source-snapshot wait cut short', () => {
  it('by the run stopping: the snapshot is left in AWS (leftInAws), the target is partial; a resume adopts it, none requested again', async () => {
    const run = await collectCut('waitcut-stop', ({ stop }) => ({ onCreated: () => stop.abort(new Error('Ctrl-C')) }));
    // What cut the wait, and only that: what is left and what a resume does is leftInAws's to say.
    await expectLeftAndAdopted(run, { code: 'E_CLOUD', message: expect.stringMatching(/^stopped waiting for snap-\w+: the run was cancelled$/) });
  });

  it('by its time limit: the snapshot is left in AWS (leftInAws), the target is partial; a resume adopts it, none requested again', async () => {
    let offset = 0;
    let armed = false;
    const timeoutMs = world.config.aws!.snapshotTimeoutSeconds * 1000;
    // Once the snapshot is on record, the waiter's next pause outlasts the wait's limit.
    const clock: Clock = {
      now: () => systemClock.now() + offset,
      sleep: async (ms, signal) => {
        if (armed) {
          armed = false;
          offset += timeoutMs + 1;
        }
        return systemClock.sleep(ms, signal);
      },
    };
    const run = await collectCut('waitcut-timeout', () => {
      const provider = createAwsProvider(world.config, { credentials: async () => world.lab.orchestratorCredentials, wait: { initialDelayMs: 50, maxDelayMs: 200 }, clock });
      return { onCreated: () => (armed = true), provider };
    });
    await expectLeftAndAdopted(run, { code: 'E_TIMEOUT' });
  });

  it('by DescribeSnapshots failing: the snapshot is left in AWS (leftInAws), the target is partial; a resume adopts it, none requested again', async () => {
    const run = await collectCut('waitcut-unread', () => ({
      onCreated: () => world.lab.control.failNext({ action: 'ec2:DescribeSnapshots', code: 'UnauthorizedOperation', status: 403, message: 'not authorized' }),
    }));
    await expectLeftAndAdopted(run, { code: 'E_ACCESS_DENIED' });
  });
});

describe('AWS: a copy wait cut short', () => {
  it('a re-encryption copy EC2 accepted is left in AWS (leftInAws and copySnapshotId on reencrypt), the target is partial; a resume adopts that copy, none requested again', async () => {
    const host = addInstance(world.lab.state, ACCOUNT, REGION, {
      tags: { Name: 'copycut', ...TAGGED },
      // aws/ebs cannot be shared: the chain re-encrypts under the shareable key first.
      volumes: [{ sizeGiB: 8, encryption: 'aws/ebs', tags: TAGGED }],
      consoleOutput: 'copycut login: ',
    });
    const target = parseTarget(instanceArn(host));
    const kase = await world.newCase('copycut');
    const stop = new AbortController();
    const recorder = caseWith(kase, {
      record: async (type, data, about) => {
        const entry = await kase.record(type, data, about);
        // The source snapshot completes at once (lab time); the copy EC2 accepts then takes an hour.
        if (type === 'snapshot.created') world.lab.clock.advance(HOUR + 1);
        if (type === 'snapshot.copied') stop.abort(new Error('Ctrl-C'));
        return entry;
      },
    });
    const outcome = await world.provider({ transfer: 'share' }).collect(target, { ...contextFor(recorder), signal: stop.signal });
    const entries = kase.entries();
    const copies = entries.filter((e) => e.type === 'snapshot.copied').map((e) => e.data.snapshotId);
    expect(copies).toHaveLength(1);
    const cut = expectOneCutLeft(entries, outcome, 'reencrypt', copies[0]);
    // The step is about the copy's source; the copy EC2 accepted is named in a field of its own.
    const source = entries.find((e) => e.type === 'snapshot.copied')!.data.sourceSnapshotId;
    expect(cut).toMatchObject({ snapshotId: source, copySnapshotId: copies[0] });
    await kase.close({ outcomes: [outcome] });

    world.lab.clock.advance(HOUR + 1);
    const resumed = await world.openCase(kase.caseId, true);
    const from = resumed.entries().length;
    const again = await world.provider({ transfer: 'share' }).collect(target, contextFor(resumed));
    const after = resumed.entries().slice(from);
    expect(again.status, again.reason).toBe('collected');
    // Sharing the copy is asked for now (ModifySnapshotAttribute); no snapshot or copy is made again.
    expect(after.filter((e) => e.type === 'snapshot.requested').map((e) => e.data.operation)).toEqual(['ModifySnapshotAttribute']);
    expect(after.filter((e) => e.type === 'snapshot.adopted' && e.data.role === 'reencrypted').map((e) => e.data.snapshotId)).toEqual([copies[0]]);
    await resumed.close({ outcomes: [again] });
  });
});
