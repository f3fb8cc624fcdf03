/**
 * A volume named on its own (`arn:aws:ec2:REGION:ACCOUNT:volume/vol-…`) end to end against the
 * rehearsal lab with a real case folder: it is snapshotted alone with CreateSnapshot (never the
 * whole instance it is attached to), carried into the forensics account, and recorded.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/providers/targets.js';
import { verifyCase } from '../../../src/custody/index.js';
import { contextFor, ledgerText, manifestArtifacts } from './helpers.js';
import { REGION, useAwsLab, volumeArn as arnOf } from './lab-fixture.js';

const FORENSICS = '111111111111';
const world = useAwsLab({ scratchPrefix: 'custody-aws-volume-', caseIdPrefix: 'IR-vol-' });
const { volumeNamed, provider, newCase, snapshotsOf } = world;

describe('AWS provider: a volume target in the lab', () => {
  it('snapshots web-01’s aws/ebs root alone with CreateSnapshot, re-encrypts it to share, lands it in the forensics account, and the case verifies', async () => {
    const kase = await newCase('root');
    const root = volumeNamed('web-01-root');
    const data = volumeNamed('web-01-data');
    const target = parseTarget(arnOf(root));
    expect(target.kind).toBe('aws-volume');
    world.lab.control.resetCalls();
    const aws = provider();
    aws.validate(target);
    const outcome = await aws.collect(target, contextFor(kase));
    expect(outcome.status, outcome.reason).toBe('collected');

    // One single-volume call; the instance's other volume is not touched.
    const calls = world.lab.calls()['222222222222'] ?? {};
    expect(calls['ec2:CreateSnapshot']).toBe(1);
    expect(calls['ec2:CreateSnapshots']).toBeUndefined();
    const sources = snapshotsOf(kase.caseId).filter((s) => s.tags.SourceSnapshotId === undefined);
    expect(sources.map((s) => s.volumeId)).toEqual([root.id]);
    expect(snapshotsOf(kase.caseId).some((s) => s.volumeId === data.id)).toBe(false);

    // The ledger has the request before the call and the result after it, naming the operation.
    const entries = kase.entries();
    const types = entries.map((e) => e.type);
    const requested = entries.find((e) => e.type === 'snapshot.requested')!;
    const created = entries.find((e) => e.type === 'snapshot.created')!;
    expect(requested.data).toMatchObject({ operation: 'CreateSnapshot', volumeId: root.id, tags: { CaseId: kase.caseId } });
    expect(requested.target).toBe(arnOf(root));
    expect(created.data).toMatchObject({ operation: 'CreateSnapshot', snapshots: [{ volumeId: root.id, snapshotId: sources[0]!.id }] });
    expect(types.indexOf('snapshot.requested')).toBeLessThan(types.indexOf('snapshot.created'));
    const stored = entries.filter((e) => e.type === 'evidence.stored').map((e) => e.data.name);
    expect(stored).toContain('volumes.json');

    // aws/ebs cannot be shared: a copy under the shareable key is shared, and the forensics
    // account keeps its own copy of that.
    const artifacts = manifestArtifacts(entries);
    expect(artifacts).toHaveLength(1);
    const ids = artifacts[0]!.cloudIds;
    expect(ids.snapshotId).toBe(sources[0]!.id);
    expect(ids.reencryptedSnapshotId).toMatch(/^snap-/);
    const snapshots = world.lab.state.region(REGION).snapshots;
    const shared = snapshots.get(ids.reencryptedSnapshotId!)!;
    expect([...shared.createVolumePermissions]).toEqual([FORENSICS]);
    const kept = snapshots.get(ids.forensicsSnapshotId!)!;
    expect(kept.ownerId).toBe(FORENSICS);
    expect(kept.tags).toMatchObject({ CaseId: kase.caseId, SourceSnapshotId: shared.id });
    expect(ledgerText(entries)).not.toContain(world.lab.orchestratorCredentials.secretAccessKey);

    await kase.close({ outcomes: [outcome] });
    const verified = await verifyCase(join(world.dir, 'cases', kase.caseId));
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });

  it('an untagged volume is refused: the outcome and the ledger name ec2:CreateSnapshot and the volume, and no snapshot exists', async () => {
    const kase = await newCase('untagged');
    const untagged = volumeNamed('batch-01-root');
    const outcome = await provider().collect(parseTarget(arnOf(untagged)), contextFor(kase));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshot' });
    expect(String(outcome.error?.resource)).toContain(untagged.id);
    const failure = kase.entries().find((e) => e.type === 'step.failed' && e.data.step === 'snapshot');
    expect(failure?.target).toBe(arnOf(untagged));
    expect(failure?.data.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshot' });
    expect(String((failure?.data.error as { resource?: string }).resource)).toContain(untagged.id);
    expect(snapshotsOf(kase.caseId)).toHaveLength(0);
    expect(kase.entries().some((e) => e.type === 'artifact.recorded')).toBe(false);
    await kase.release();
  });

  it('a resumed volume collection adopts the snapshot the first run made instead of taking a second one', async () => {
    const data = volumeNamed('worker-07-scratch');
    const target = parseTarget(arnOf(data));
    const first = await newCase('resume');
    const caseId = first.caseId;
    const firstOutcome = await provider({ transfer: 'in-place' }).collect(target, contextFor(first));
    expect(firstOutcome.status, firstOutcome.reason).toBe('collected');
    await first.release();

    const second = await newCase('resume', true, caseId);
    world.lab.control.resetCalls();
    const outcome = await provider({ transfer: 'in-place' }).collect(target, contextFor(second));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(world.lab.calls()['333333333333']?.['ec2:CreateSnapshot']).toBeUndefined();
    expect(snapshotsOf(caseId).filter((s) => s.volumeId === data.id)).toHaveLength(1);
    const adopted = second.entries().filter((e) => e.type === 'snapshot.adopted');
    expect(adopted.map((e) => e.data.volumeId)).toContain(data.id);
    await second.close({ outcomes: [outcome] });
  });
});
