/**
 * The forensics copy fails after the source snapshot and its re-encrypted copy exist: the outcome
 * must name what was preserved (partial, not "no snapshot was preserved") and the manifest must
 * list those snapshots — they are evidence sitting in the target account.
 */
import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/providers/targets.js';
import { addInstance } from '../../../src/lab/index.js';
import { contextFor, manifestArtifacts, MemoryRecorder } from './helpers.js';
import { instanceArn as arnOf, REGION, useAwsLab } from './lab-fixture.js';

const world = useAwsLab({ scratchPrefix: 'custody-aws-copy-failure-' });

describe('a forensics copy that fails', () => {
  it('leaves the source and re-encrypted snapshots in the manifest, and the outcome is partial naming them', async () => {
    const host = addInstance(world.lab.state, '333333333333', REGION, {
      tags: { Name: 'copy-fails', ForensicsEnabled: 'true' },
      volumes: [{ sizeGiB: 8, encryption: 'aws/ebs', tags: { ForensicsEnabled: 'true' } }],
      consoleOutput: 'copy-fails login: ',
    });
    const kase = new MemoryRecorder('IR-copy-fails');
    // The forensics account's CopySnapshot is refused; the target account's (re-encryption) is not.
    world.lab.control.failNext({ action: 'ec2:CopySnapshot', code: 'UnauthorizedOperation', status: 403, account: world.lab.forensicsAccount, count: 5 });
    const outcome = await world.provider({ transfer: 'copy' }).collect(parseTarget(arnOf(host)), contextFor(kase));

    const [artifact] = manifestArtifacts(kase.log);
    expect(artifact, JSON.stringify(outcome)).toBeDefined();
    expect(artifact!.cloudIds.snapshotId).toMatch(/^snap-/);
    expect(artifact!.cloudIds.reencryptedSnapshotId).toMatch(/^snap-/);
    expect(artifact!.cloudIds.forensicsSnapshotId).toBeUndefined();
    expect(world.lab.state.region(REGION).snapshots.get(artifact!.cloudIds.reencryptedSnapshotId!)?.ownerId).toBe('333333333333');

    expect(outcome.status).toBe('partial');
    expect(outcome.reason).not.toContain('no snapshot was preserved');
    expect(outcome.reason).toContain(`source snapshot ${artifact!.cloudIds.snapshotId}`);
    expect(outcome.reason).toContain(`re-encrypted ${artifact!.cloudIds.reencryptedSnapshotId}`);
    expect(outcome.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'ec2:CopySnapshot' });
    expect(outcome.evidenceIds).toContain(artifact!.evidenceId);
    // EC2 accepted no forensics copy: the failed step names none.
    const failed = kase.log.filter((e) => e.type === 'step.failed' && e.data.step === 'forensics-copy');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data).not.toHaveProperty('copySnapshotId');
    expect(failed[0]!.data).not.toHaveProperty('leftInAws');
  });
});
