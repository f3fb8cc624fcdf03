/**
 * AccessDenied on one step of an instance's collection: the step is recorded as failed with the
 * action that was refused, and the other steps (above all the snapshot) still happen.
 */
import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/providers/targets.js';
import { addInstance } from '../../../src/lab/index.js';
import { contextFor, MemoryRecorder } from './helpers.js';
import { instanceArn as arnOf, REGION, useAwsLab } from './lab-fixture.js';

const world = useAwsLab({ scratchPrefix: 'custody-aws-step-denied-' });
const { provider, snapshotsOf } = world;

function taggedHost(name: string) {
  return addInstance(world.lab.state, '333333333333', REGION, {
    tags: { Name: name, ForensicsEnabled: 'true' },
    volumes: [{ sizeGiB: 8, encryption: 'aws/ebs', tags: { ForensicsEnabled: 'true' } }],
    consoleOutput: `${name} login: `,
  });
}

describe('a step refused by AWS', () => {
  it('console output denied: recorded with the action, and the disk is still snapshotted', async () => {
    const host = taggedHost('console-denied');
    const kase = new MemoryRecorder('IR-console-denied');
    world.lab.control.failNext({ action: 'ec2:GetConsoleOutput', code: 'UnauthorizedOperation', status: 403, account: '333333333333', count: 1 });
    const outcome = await provider({ transfer: 'in-place' }).collect(parseTarget(arnOf(host)), contextFor(kase));

    expect(outcome.status).toBe('partial');
    const failed = kase.ofType('step.failed').map((e) => e.data);
    expect(failed).toContainEqual(expect.objectContaining({ error: expect.objectContaining({ code: 'E_ACCESS_DENIED', action: 'ec2:GetConsoleOutput' }) }));
    expect(snapshotsOf('IR-console-denied')).toHaveLength(1);
    expect(kase.ofType('snapshot.completed').length).toBeGreaterThan(0);
  });

  // The title names the status asserted. Issue 7 item 4 (a snapshot that exists but could not be
  // transferred counts as preserved) will make this 'partial'; until then the outcome is 'failed'.
  it('sharing denied: the snapshot taken is kept and recorded, and the outcome is partial, naming the share step and the snapshots that exist', async () => {
    const host = taggedHost('share-denied');
    const kase = new MemoryRecorder('IR-share-denied');
    world.lab.control.failNext({ action: 'ec2:ModifySnapshotAttribute', code: 'UnauthorizedOperation', status: 403, account: '333333333333', count: 5 });
    const outcome = await provider({ transfer: 'share' }).collect(parseTarget(arnOf(host)), contextFor(kase));

    // The snapshots exist and are in the manifest: partial, never "no snapshot was preserved".
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toMatch(/share \(vol-\w+\): AWS refused ec2:ModifySnapshotAttribute/);
    expect(outcome.reason).toMatch(/what exists \(in the manifest\): vol-\w+: source snapshot snap-\w+, re-encrypted snap-\w+ exist(;|$)/);
    const failed = kase.ofType('step.failed').map((e) => e.data);
    expect(failed).toContainEqual(expect.objectContaining({ error: expect.objectContaining({ code: 'E_ACCESS_DENIED', action: 'ec2:ModifySnapshotAttribute' }) }));
    const created = kase.ofType('snapshot.created');
    expect(created.length).toBeGreaterThan(0);
    expect(snapshotsOf('IR-share-denied').length).toBeGreaterThan(0);
  });
});

describe('a mutation refused after its before-entry is on record', () => {
  it('CreateSnapshots refused: the ledger says what was asked, then the refusal with its request id, and never that a snapshot was created', async () => {
    const host = taggedHost('create-denied');
    const kase = new MemoryRecorder('IR-create-denied');
    world.lab.control.failNext({ action: 'ec2:CreateSnapshots', code: 'UnauthorizedOperation', status: 403, account: '333333333333', count: 5 });
    const outcome = await provider({ transfer: 'in-place' }).collect(parseTarget(arnOf(host)), contextFor(kase));

    expect(outcome.status).toBe('failed');
    const about = kase.log.filter((e) => e.target === arnOf(host));
    const requested = about.findIndex((e) => e.type === 'snapshot.requested' && e.data.operation === 'CreateSnapshots');
    expect(requested).toBeGreaterThanOrEqual(0);
    expect(about[requested]!.data).toMatchObject({ instanceId: host.id, volumeIds: [expect.stringMatching(/^vol-/)] });
    const refusal = about.slice(requested + 1).find((e) => e.type === 'step.failed');
    expect(refusal?.data.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshots', requestId: expect.any(String) });
    expect(about.some((e) => e.type === 'snapshot.created')).toBe(false);
    expect(snapshotsOf('IR-create-denied')).toHaveLength(0);
  });
});
