/**
 * Sharing with the forensics account is recorded as EC2 reports it: ModifySnapshotAttribute
 * answers only `return true`, so createVolumePermission is read back (DescribeSnapshotAttribute)
 * and `snapshot.shared` is written only when EC2 lists the forensics account. Through the real
 * provider against the lab, with the lab's faults for a share EC2 accepts and does not make, and
 * for a refused read-back.
 */
import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/providers/targets.js';
import { addInstance, type LabInstance } from '../../../src/lab/index.js';
import { contextFor, MemoryRecorder } from './helpers.js';
import { instanceArn, REGION, useAwsLab } from './lab-fixture.js';

const ACCOUNT = '333333333333';
const TAGGED = { ForensicsEnabled: 'true' };
const world = useAwsLab({ scratchPrefix: 'custody-aws-share-', allowedAccounts: [ACCOUNT], snapshotDurationMs: 50, wait: { initialDelayMs: 20, maxDelayMs: 100 } });

const snapshotArn = (id: string) => `arn:aws:ec2:${REGION}::snapshot/${id}`;

/** Two volumes already under the shareable key: each source snapshot is shared as it is. */
function host(name: string): LabInstance {
  return addInstance(world.lab.state, ACCOUNT, REGION, {
    tags: { Name: name, ...TAGGED },
    volumes: [
      { sizeGiB: 1, encryption: 'alias/cloud-custody-share', tags: TAGGED },
      { sizeGiB: 1, encryption: 'alias/cloud-custody-share', tags: TAGGED },
    ],
    consoleOutput: `${name} login: `,
  });
}

async function collect(target: LabInstance, caseId: string, transfer: 'copy' | 'share' | 'in-place' = 'copy') {
  const recorder = new MemoryRecorder(caseId);
  const reads = world.lab.control.totalCalls('ec2:DescribeSnapshotAttribute');
  const outcome = await world.provider({ transfer }).collect(parseTarget(instanceArn(target)), contextFor(recorder));
  return { outcome, recorder, readBacks: world.lab.control.totalCalls('ec2:DescribeSnapshotAttribute') - reads };
}

const TRAIL = new Set(['snapshot.requested', 'snapshot.shared', 'snapshot.share-unconfirmed', 'snapshot.copied', 'step.failed']);

/** What the ledger says about sharing and copying one snapshot, in ledger order. */
function shareTrail(recorder: MemoryRecorder, snapshotId: string): string[] {
  return recorder.log
    .filter((e) => TRAIL.has(e.type) && (e.data.snapshotId === snapshotId || e.data.sourceSnapshotId === snapshotId))
    .map((e) => {
      const detail = e.type === 'snapshot.requested' ? e.data.operation : e.type === 'snapshot.copied' ? e.data.role : e.type === 'step.failed' ? e.data.step : undefined;
      return detail === undefined ? e.type : `${e.type}:${String(detail)}`;
    });
}

describe('sharing with the forensics account is read back and recorded as EC2 reports it', () => {
  it('snapshot.shared lists whom EC2 reports, with the share\'s and the read-back\'s request ids, and the copy follows', async () => {
    const target = host('share-01');
    const { outcome, recorder, readBacks } = await collect(target, 'IR-share-read-1');
    expect(outcome.status, outcome.reason).toBe('collected');
    const shared = recorder.ofType('snapshot.shared');
    expect(shared).toHaveLength(2);
    // One read-back per shared snapshot, no more.
    expect(readBacks).toBe(2);
    for (const entry of shared) {
      expect(entry.data).toEqual({
        snapshotId: expect.any(String),
        volumeId: expect.any(String),
        withAccount: world.lab.forensicsAccount,
        requestId: expect.any(String),
        confirmed: { createVolumePermission: [{ userId: world.lab.forensicsAccount }] },
        confirmRequestId: expect.any(String),
      });
      expect(entry.data.confirmRequestId).not.toBe(entry.data.requestId);
      expect(shareTrail(recorder, String(entry.data.snapshotId))).toEqual(['snapshot.requested:ModifySnapshotAttribute', 'snapshot.shared', 'snapshot.requested:CopySnapshot', 'snapshot.copied:forensics']);
    }
    expect(recorder.ofType('snapshot.share-unconfirmed')).toEqual([]);
  });

  it('in-place collection shares nothing and reads nothing back', async () => {
    const target = host('share-02');
    const shares = world.lab.control.totalCalls('ec2:ModifySnapshotAttribute');
    const { outcome, recorder, readBacks } = await collect(target, 'IR-share-read-2', 'in-place');
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(readBacks).toBe(0);
    expect(world.lab.control.totalCalls('ec2:ModifySnapshotAttribute') - shares).toBe(0);
    expect(recorder.ofType('snapshot.shared')).toEqual([]);
  });

  const THEN_COPY = 'not stopping here: the forensics copy decides (CopySnapshot from the forensics account succeeds only if the share is in effect; a copy an earlier run made is adopted)';

  /** Collects with the lab ignoring this account's shares (they answer `return true`, grant nothing). */
  async function collectIgnoringShares(target: LabInstance, caseId: string, transfer: 'copy' | 'share') {
    world.lab.control.ignoreSnapshotShares(ACCOUNT);
    try {
      return await collect(target, caseId, transfer);
    } finally {
      world.lab.control.ignoreSnapshotShares(ACCOUNT, false);
    }
  }

  it('a share EC2 accepts ("return true") but does not make, then a forensics copy: snapshot.share-unconfirmed with what EC2 lists, no snapshot.shared, the copy is attempted and fails, and the target is partial', async () => {
    const { outcome, recorder } = await collectIgnoringShares(host('share-03'), 'IR-share-read-3', 'copy');
    expect(outcome.status).toBe('partial');
    expect(recorder.ofType('snapshot.shared')).toEqual([]);
    const unconfirmed = recorder.ofType('snapshot.share-unconfirmed');
    expect(unconfirmed).toHaveLength(2);
    for (const entry of unconfirmed) {
      const snapshotId = String(entry.data.snapshotId);
      expect(entry.data).toEqual({
        snapshotId,
        volumeId: expect.any(String),
        withAccount: world.lab.forensicsAccount,
        requestId: expect.any(String),
        confirmed: { createVolumePermission: [] },
        confirmRequestId: expect.any(String),
        then: THEN_COPY,
      });
      expect(shareTrail(recorder, snapshotId)).toEqual(['snapshot.requested:ModifySnapshotAttribute', 'snapshot.share-unconfirmed', 'snapshot.requested:CopySnapshot', 'step.failed:forensics-copy']);
    }
    expect(recorder.ofType('snapshot.copied').filter((e) => e.data.role === 'forensics')).toEqual([]);
  });

  it('the same with transfer share, where the read-back is the only confirmation: the share step fails naming the account, and the target is partial', async () => {
    const { outcome, recorder } = await collectIgnoringShares(host('share-05'), 'IR-share-read-5', 'share');
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain('share');
    expect(recorder.ofType('snapshot.shared')).toEqual([]);
    const unconfirmed = recorder.ofType('snapshot.share-unconfirmed');
    expect(unconfirmed).toHaveLength(2);
    const failures = recorder.ofType('step.failed').filter((e) => e.data.step === 'share');
    for (const entry of unconfirmed) {
      const snapshotId = String(entry.data.snapshotId);
      expect(entry.data.then).toBeUndefined();
      expect(shareTrail(recorder, snapshotId)).toEqual(['snapshot.requested:ModifySnapshotAttribute', 'snapshot.share-unconfirmed', 'step.failed:share']);
      const failure = failures.find((f) => f.data.snapshotId === snapshotId)!.data.error as Record<string, unknown>;
      expect(failure).toMatchObject({ code: 'E_CLOUD', action: 'ec2:ModifySnapshotAttribute', resource: snapshotArn(snapshotId), requestId: entry.data.confirmRequestId });
      expect(String(failure.message)).toContain(world.lab.forensicsAccount);
    }
  });

  const refuseReadBacks = () =>
    world.lab.control.failNext({ action: 'ec2:DescribeSnapshotAttribute', account: ACCOUNT, code: 'UnauthorizedOperation', status: 403, message: 'You are not authorized to perform this operation.', count: 2 });

  it("a refused read-back (a role deployed before it was shipped) keeps ModifySnapshotAttribute's request id, and the forensics copy that follows confirms the share: collected", async () => {
    refuseReadBacks();
    const { outcome, recorder } = await collect(host('share-04'), 'IR-share-read-4');
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(recorder.ofType('snapshot.shared')).toEqual([]);
    const unconfirmed = recorder.ofType('snapshot.share-unconfirmed');
    expect(unconfirmed).toHaveLength(2);
    for (const entry of unconfirmed) {
      expect(entry.data).toMatchObject({
        withAccount: world.lab.forensicsAccount,
        requestId: expect.any(String),
        confirmed: null,
        readBackError: { code: 'E_ACCESS_DENIED', action: 'ec2:DescribeSnapshotAttribute' },
        then: THEN_COPY,
      });
      expect(entry.data.confirmRequestId).toBeUndefined();
      expect(shareTrail(recorder, String(entry.data.snapshotId))).toEqual(['snapshot.requested:ModifySnapshotAttribute', 'snapshot.share-unconfirmed', 'snapshot.requested:CopySnapshot', 'snapshot.copied:forensics']);
    }
  });

  it('a resumed run whose read-back is refused adopts the copy an earlier run made: snapshot.share-unconfirmed does not claim a copy was attempted, and none is', async () => {
    const target = host('share-07');
    const first = await collect(target, 'IR-share-read-7');
    expect(first.outcome.status, first.outcome.reason).toBe('collected');
    refuseReadBacks();
    const resumed = new MemoryRecorder('IR-share-read-7', undefined, first.recorder.log);
    const from = resumed.log.length;
    const copies = world.lab.control.totalCalls('ec2:CopySnapshot');
    const outcome = await world.provider().collect(parseTarget(instanceArn(target)), contextFor(resumed));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(world.lab.control.totalCalls('ec2:CopySnapshot') - copies).toBe(0);
    const now = resumed.log.slice(from);
    const unconfirmed = now.filter((e) => e.type === 'snapshot.share-unconfirmed');
    expect(unconfirmed).toHaveLength(2);
    for (const entry of unconfirmed) {
      // Written before the copy step: it says what was decided, never that a copy was attempted.
      expect(String(entry.data.then)).not.toMatch(/attempted/);
      expect(now.some((e) => e.type === 'snapshot.adopted' && e.data.role === 'forensics' && e.data.sourceSnapshotId === entry.data.snapshotId)).toBe(true);
    }
    expect(now.filter((e) => e.type === 'snapshot.requested' && e.data.operation === 'CopySnapshot')).toEqual([]);
  });

  it('a refused read-back with transfer share fails the share step with the read\'s error: partial', async () => {
    refuseReadBacks();
    const { outcome, recorder } = await collect(host('share-06'), 'IR-share-read-6', 'share');
    expect(outcome.status).toBe('partial');
    expect(recorder.ofType('snapshot.share-unconfirmed').map((e) => e.data.confirmed)).toEqual([null, null]);
    const failures = recorder.ofType('step.failed').filter((e) => e.data.step === 'share');
    expect(failures.map((f) => (f.data.error as { action?: string }).action)).toEqual(['ec2:DescribeSnapshotAttribute', 'ec2:DescribeSnapshotAttribute']);
  });
});
