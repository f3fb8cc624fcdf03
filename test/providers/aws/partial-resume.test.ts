/**
 * Resuming an instance whose snapshots exist for only some of its volumes, end to end against the
 * rehearsal lab with a real case folder. The provider adopts what the case already has and asks
 * CreateSnapshots for the rest only (ExcludeBootVolume / ExcludeDataVolumeIds), so every volume
 * ends with exactly one source snapshot in the case: duplicates would be evidence nobody can
 * account for. A volume detached between the runs keeps the snapshot the case took of it (carried
 * through and recorded as detached), and is never snapshotted again in its new state.
 */
import { CreateSnapshotCommand } from '@aws-sdk/client-ec2';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evidenceIdFor } from '../../../src/core/case-id.js';
import { CustodyError } from '../../../src/core/errors.js';
import type { CaseRecorder } from '../../../src/core/ports.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { verifyCase, type CaseHandle } from '../../../src/custody/index.js';
import { attachVolume } from '../../../src/lab/aws/scenario.js';
import { addInstance, type LabInstance } from '../../../src/lab/index.js';
import { assumeCollector, ec2Client } from '../../lab/aws/helpers.js';
import { caseWith } from '../../support/case-with.js';
import { contextFor, manifestArtifacts } from './helpers.js';
import { instanceArn as arnOf, REGION, useAwsLab } from './lab-fixture.js';

const ACCOUNT = '222222222222';
const TAGGED = { ForensicsEnabled: 'true' };
const world = useAwsLab({ scratchPrefix: 'custody-aws-partial-', allowedAccounts: [ACCOUNT, '333333333333'] });
const { provider } = world;
const openTestCase = (caseId: string, resume: boolean) => world.openCase(caseId, resume);

/** How many source snapshots (not copies) the lab holds for each volume in this case. */
function sourceSnapshotsPerVolume(caseId: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of world.lab.state.region(REGION).snapshots.values()) {
    if (s.tags.CaseId !== caseId || s.tags.SourceSnapshotId !== undefined) continue;
    counts[s.volumeId] = (counts[s.volumeId] ?? 0) + 1;
  }
  return counts;
}

function threeDiskHost(name: string): LabInstance {
  return addInstance(world.lab.state, ACCOUNT, REGION, {
    tags: { Name: name, ...TAGGED },
    volumes: [
      { sizeGiB: 8, encryption: 'aws/ebs', tags: TAGGED },
      { sizeGiB: 30, encryption: 'alias/cloud-custody-share', tags: TAGGED },
      { sizeGiB: 60, encryption: 'alias/cloud-custody-share', tags: TAGGED },
    ],
    consoleOutput: `${name} login: `,
  });
}


describe('AWS provider: resuming an instance whose snapshots are only partly there', () => {
  it('only one data volume has a snapshot: the resume adopts it, snapshots the root and the other data volume, and each volume ends with exactly one', async () => {
    const host = threeDiskHost('half-done-01');
    const [root, logs, scratch] = host.blockDevices.map((d) => d.volumeId) as [string, string, string];
    const target = parseTarget(arnOf(host));
    const caseId = 'IR-partial-data-1';
    const first = await openTestCase(caseId, false);
    await first.release();
    // What an interrupted earlier run left: one data volume's snapshot, tagged with the case at creation.
    const collector = ec2Client(world.lab, await assumeCollector(world.lab, ACCOUNT, { RoleSessionName: `custody-${caseId}`, Tags: [{ Key: 'CaseId', Value: caseId }] }));
    const earlier = await collector.send(
      new CreateSnapshotCommand({
        VolumeId: logs,
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: [
              { Key: 'CaseId', Value: caseId },
              { Key: 'EvidenceId', Value: evidenceIdFor(caseId, arnOf(host)) },
            ],
          },
        ],
      }),
    );
    expect(sourceSnapshotsPerVolume(caseId)).toEqual({ [logs]: 1 });

    const kase = await openTestCase(caseId, true);
    world.lab.control.resetCalls();
    const outcome = await provider().collect(target, contextFor(kase));
    expect(outcome.status, outcome.reason).toBe('collected');

    expect(sourceSnapshotsPerVolume(caseId)).toEqual({ [root]: 1, [logs]: 1, [scratch]: 1 });
    expect(world.lab.calls()[ACCOUNT]?.['ec2:CreateSnapshots']).toBe(1);
    const entries = kase.entries();
    expect(entries.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data)).toEqual([
      expect.objectContaining({ volumeId: logs, snapshotId: earlier.SnapshotId }),
    ]);
    const requested = entries.filter((e) => e.type === 'snapshot.requested' && e.data.operation === 'CreateSnapshots');
    expect(requested).toHaveLength(1);
    expect(requested[0]!.data).toMatchObject({ volumeIds: [root, scratch], excludeBootVolume: false, excludeDataVolumeIds: [logs] });
    const created = entries.find((e) => e.type === 'snapshot.created')!.data.snapshots as Array<{ volumeId: string }>;
    expect(created.map((s) => s.volumeId).sort()).toEqual([root, scratch].sort());
    // Every volume's evidence is carried through, the adopted one included.
    const artifacts = manifestArtifacts(entries);
    expect(artifacts.map((a) => a.volumeId).sort()).toEqual([root, logs, scratch].sort());

    await kase.close({ outcomes: [outcome] });
    const verified = await verifyCase(join(world.dir, 'cases', caseId));
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });

  it('a data volume attached after the first run: the resume snapshots only it (boot and the known data volume excluded), each volume exactly once', async () => {
    const host = threeDiskHost('grown-01');
    const target = parseTarget(arnOf(host));
    const caseId = 'IR-partial-attached-1';
    const first = await openTestCase(caseId, false);
    const firstOutcome = await provider({ transfer: 'in-place' }).collect(target, contextFor(first));
    expect(firstOutcome.status, firstOutcome.reason).toBe('collected');
    await first.release();
    const before = host.blockDevices.map((d) => d.volumeId);
    expect(sourceSnapshotsPerVolume(caseId)).toEqual(Object.fromEntries(before.map((v) => [v, 1])));

    const added = attachVolume(world.lab.state, host.id, { sizeGiB: 200, encryption: 'alias/cloud-custody-share', tags: TAGGED });
    const kase = await openTestCase(caseId, true);
    const resumedFrom = kase.entries().length;
    const outcome = await provider({ transfer: 'in-place' }).collect(target, contextFor(kase));
    expect(outcome.status, outcome.reason).toBe('collected');

    expect(sourceSnapshotsPerVolume(caseId)).toEqual(Object.fromEntries([...before, added].map((v) => [v, 1])));
    const rerun = kase.entries().slice(resumedFrom);
    const requested = rerun.filter((e) => e.type === 'snapshot.requested' && e.data.operation === 'CreateSnapshots');
    expect(requested).toHaveLength(1);
    const [root, ...data] = before as [string, ...string[]];
    expect(requested[0]!.data).toMatchObject({ volumeIds: [added], excludeBootVolume: true, excludeDataVolumeIds: data });
    expect(rerun.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.volumeId).sort()).toEqual([root, ...data].sort());

    await kase.close({ outcomes: [outcome] });
    const verified = await verifyCase(join(world.dir, 'cases', caseId));
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });

  it('a volume detached between a killed run and its resume keeps the snapshot the case took, and it is carried to the forensics account', async () => {
    const host = threeDiskHost('detached-01');
    const target = parseTarget(arnOf(host));
    const caseId = 'IR-partial-detached-1';
    const first = await openTestCase(caseId, false);
    // kill -9 right after CreateSnapshots returned: all three snapshots exist, the result is not on record.
    const killedAfterCreate = caseWith(first, {
      record: async (type, data, tgt) => {
        if (type === 'snapshot.created') throw new CustodyError('E_LEDGER', 'simulated kill -9');
        return first.record(type, data, tgt);
      },
    });
    await expect(provider().collect(target, contextFor(killedAfterCreate))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const volumes = host.blockDevices.map((d) => d.volumeId);
    const detached = host.blockDevices.pop()!.volumeId; // the attacker detaches a data volume
    const kase = await openTestCase(caseId, true);
    const resumedFrom = kase.entries().length;
    world.lab.control.resetCalls();
    const outcome = await provider().collect(target, contextFor(kase));
    const artifacts = manifestArtifacts(kase.entries());
    const detachedArtifact = artifacts.find((a) => a.volumeId === detached);
    expect(detachedArtifact, `outcome ${outcome.status}; artifacts for ${artifacts.map((a) => a.volumeId).join(', ')}`).toBeDefined();
    const copies = [...world.lab.state.region(REGION).snapshots.values()].filter((s) => s.ownerId === world.lab.forensicsAccount && s.tags.CaseId === caseId);
    expect(copies).toHaveLength(3);

    // The detached volume is not snapshotted again: the case keeps the one it took before.
    expect(world.lab.calls()[ACCOUNT]?.['ec2:CreateSnapshots'] ?? 0).toBe(0);
    expect(world.lab.calls()[ACCOUNT]?.['ec2:CreateSnapshot'] ?? 0).toBe(0);
    expect(sourceSnapshotsPerVolume(caseId)).toEqual(Object.fromEntries(volumes.map((v) => [v, 1])));
    // The ledger says the volume was detached since the case asked for its snapshot.
    const entries = kase.entries();
    const firstRequest = entries.find((e) => e.type === 'snapshot.requested' && e.data.operation === 'CreateSnapshots')!;
    expect(firstRequest.data.volumeIds).toContain(detached);
    const rerun = entries.slice(resumedFrom);
    const adopted = rerun.find((e) => e.type === 'snapshot.adopted' && e.data.volumeId === detached);
    expect(adopted?.data).toMatchObject({ role: 'source', note: 'volume no longer attached to the instance' });
    expect(rerun.filter((e) => e.type === 'volume.detached-since-request').map((e) => e.data)).toEqual([
      expect.objectContaining({ volumeId: detached, snapshotId: adopted!.data.snapshotId, firstRequestedSeq: firstRequest.seq, volumeFound: true, volumeState: 'available', attachments: [] }),
    ]);
    expect(detachedArtifact!.cloudIds).toMatchObject({ snapshotId: adopted!.data.snapshotId });
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(outcome.reason).toContain(`${detached} was detached from the instance`);

    await kase.close({ outcomes: [outcome] });
    const verified = await verifyCase(join(world.dir, 'cases', caseId));
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });

  it('a volume detached after its snapshot was requested but before CreateSnapshots reached EC2 is reported not preserved, and is not snapshotted in its new state', async () => {
    const host = threeDiskHost('detached-02');
    const target = parseTarget(arnOf(host));
    const caseId = 'IR-partial-detached-2';
    const first = await openTestCase(caseId, false);
    // kill -9 right after the request was on record, before the call left: no snapshot exists.
    const killedAfterRequest = caseWith(first, {
      record: async (type, data, tgt) => {
        const entry = await first.record(type, data, tgt);
        if (type === 'snapshot.requested') throw new CustodyError('E_LEDGER', 'simulated kill -9');
        return entry;
      },
    });
    await expect(provider().collect(target, contextFor(killedAfterRequest))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    expect(sourceSnapshotsPerVolume(caseId)).toEqual({});
    const [root, logs] = host.blockDevices.map((d) => d.volumeId) as [string, string];
    const detached = host.blockDevices.pop()!.volumeId;

    const kase = await openTestCase(caseId, true);
    const resumedFrom = kase.entries().length;
    const outcome = await provider().collect(target, contextFor(kase));

    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain(`not preserved: ${detached}`);
    expect(outcome.reason).toContain(`${detached} was detached from the instance since the case requested its snapshot; the case holds no snapshot of it`);
    expect(sourceSnapshotsPerVolume(caseId)).toEqual({ [root]: 1, [logs]: 1 });
    const rerun = kase.entries().slice(resumedFrom);
    expect(rerun.filter((e) => e.type === 'volume.detached-since-request').map((e) => e.data)).toEqual([
      expect.objectContaining({ volumeId: detached, snapshotId: null, volumeFound: true, volumeState: 'available' }),
    ]);
    const artifacts = manifestArtifacts(rerun).map((a) => a.volumeId);
    expect(artifacts.sort()).toEqual([root, logs].sort());

    await kase.close({ outcomes: [outcome] });
    const verified = await verifyCase(join(world.dir, 'cases', caseId));
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });
});

/**
 * `kase`, except that from the `nth` entry of `type` on (`type` may name a role: `snapshot.copied
 * forensics`) nothing can be recorded any more: what a kill -9 or a full disk right after the
 * cloud answered leaves (the cloud did the work, the case never heard).
 */
function cutAt(kase: CaseHandle, type: string, nth: number): CaseRecorder {
  let cut = false;
  let seen = 0;
  const refuse = (what: string) => {
    cut = true;
    return Promise.reject(new CustodyError('E_LEDGER', `test cut: ${what} was not recorded`));
  };
  const reaches = (what: string) => what === type && (seen += 1) === nth;
  return caseWith(kase, {
    record: (t, data, target) => (cut || reaches(`${t} ${String(data?.role ?? '')}`.trim()) ? refuse(t) : kase.record(t, data, target)),
    storeEvidence: (input) => (cut ? refuse(input.name) : kase.storeEvidence(input)),
    recordArtifact: (input) => (cut || reaches('artifact.recorded') ? refuse(input.kind) : kase.recordArtifact(input)),
  });
}

describe('AWS provider: resuming an instance that was terminated or is gone since the killed run', () => {
  it.each([
    ['terminated', false],
    ['gone from DescribeInstances', true],
  ] as const)('instance %s: the snapshots the case took before are carried to the forensics account, none is retaken, the outcome is partial and says why, and the case verifies', async (label, gone) => {
    const host = threeDiskHost(`vanished-${gone ? 'gone' : 'terminated'}`);
    const target = parseTarget(arnOf(host));
    const caseId = `IR-partial-vanished-${gone ? 'gone' : 'terminated'}`;
    const first = await openTestCase(caseId, false);
    // kill -9 right after CreateSnapshots returned: all three snapshots exist, the result is not on record.
    await expect(provider().collect(target, contextFor(cutAt(first, 'snapshot.created', 1)))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const volumes = host.blockDevices.map((d) => d.volumeId);
    const taken = world.snapshotsOf(caseId).map((s) => s.id).sort();
    expect(taken).toHaveLength(3);
    // Whoever the case is about terminates the instance before the resume (its volumes go with it).
    world.lab.control.terminateInstance(host.id);
    if (gone) world.lab.state.region(REGION).instances.delete(host.id);

    const kase = await openTestCase(caseId, true);
    const resumedFrom = kase.entries().length;
    world.lab.control.resetCalls();
    const outcome = await provider().collect(target, contextFor(kase));

    expect(world.lab.calls()[ACCOUNT]?.['ec2:CreateSnapshots'] ?? 0).toBe(0);
    expect(world.lab.calls()[ACCOUNT]?.['ec2:CreateSnapshot'] ?? 0).toBe(0);
    expect(sourceSnapshotsPerVolume(caseId)).toEqual(Object.fromEntries(volumes.map((v) => [v, 1])));
    const copies = world.snapshotsOf(caseId).filter((s) => s.ownerId === world.lab.forensicsAccount);
    expect(copies.map((s) => s.tags.SourceSnapshotId !== undefined)).toEqual([true, true, true]);
    const rerun = kase.entries().slice(resumedFrom);
    expect(rerun.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotId).sort()).toEqual(taken);
    expect(rerun.filter((e) => e.type === 'volume.detached-since-request').map((e) => e.data.volumeId).sort()).toEqual([...volumes].sort());
    expect(manifestArtifacts(kase.entries()).map((a) => a.volumeId).sort()).toEqual([...volumes].sort());
    // Partial, never collected: the instance itself could not be collected again.
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain(gone ? 'was not found' : 'is terminated');
    expect(outcome.reason).toContain('carried through');

    await kase.close({ outcomes: [outcome] });
    const verified = await verifyCase(join(world.dir, 'cases', caseId));
    expect(verified.problems).toEqual([]);
  });
});

describe('AWS provider: a run cut off after each cloud call, then resumed', () => {
  // Preserve, an aws/ebs root (re-encrypted before sharing), a forensics copy, a lock and the disk hash: every step there is.
  const options = { preserve: true, hash: true };
  const SMALL_DISK = { sizeMiB: 16, writtenFraction: 0.25 };
  const config = { lock: { mode: 'compliance' as const, durationDays: 1 } };
  it.each([
    ['change.applied', 1],
    ['change.applied', 2],
    ['snapshot.created', 1],
    ['artifact.recorded', 1],
    ['snapshot.completed source', 1],
    ['snapshot.copied reencrypted', 1],
    ['snapshot.shared', 1],
    ['snapshot.copied forensics', 1],
    ['snapshot.completed forensics', 1],
    ['snapshot.copied forensics', 2],
    ['snapshot.locked', 1],
    ['disk.hashed forensics', 1],
  ] as const)('cut at %s #%i: every volume ends with one source snapshot and one copy of each kind, what existed is adopted by id, each disk hashed once, and the case verifies', async (type, nth) => {
    const host = addInstance(world.lab.state, ACCOUNT, REGION, {
      tags: { Name: `cut-${type}-${nth}`, ...TAGGED },
      volumes: [
        // The EBS direct API serves a 16 MiB disk (a quarter of its blocks written) for each, as the
        // demo's are small: the whole-disk hash still reads every block; SHA-256 over 1 GiB of
        // mostly zeros per volume cost ~2.5 CPU s a case and decided nothing here.
        { sizeGiB: 1, encryption: 'aws/ebs', tags: TAGGED, disk: SMALL_DISK },
        { sizeGiB: 1, encryption: 'alias/cloud-custody-share', tags: TAGGED, disk: SMALL_DISK },
      ],
      consoleOutput: 'login: ',
    });
    const target = parseTarget(arnOf(host));
    const caseId = `IR-cut-${type.replace(/[ .]/g, '-')}-${nth}`;
    const first = await openTestCase(caseId, false);
    await expect(provider(config).collect(target, contextFor(cutAt(first, type, nth), options))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const existing = world.snapshotsOf(caseId).map((s) => s.id);
    // Locks the cut-off run set in the cloud but never recorded: with two volumes in flight, the
    // other volume's lock can land before the cut whatever the cut entry is (timing, not order).
    const recordedLocked = new Set(first.entries().filter((e) => e.type === 'snapshot.locked').map((e) => String(e.data.snapshotId)));
    const lockedUnrecorded = world.snapshotsOf(caseId).filter((s) => s.lock !== undefined && !recordedLocked.has(s.id)).length;

    const kase = await openTestCase(caseId, true);
    const resumedFrom = kase.entries().length;
    const outcome = await provider(config).collect(target, contextFor(kase, options));
    expect(outcome.status, outcome.reason).toBe('collected');
    const all = world.snapshotsOf(caseId);
    // 2 source snapshots, the root's re-encrypted copy, 2 forensics copies.
    expect(all).toHaveLength(5);
    expect(sourceSnapshotsPerVolume(caseId)).toEqual(Object.fromEntries(host.blockDevices.map((d) => [d.volumeId, 1])));
    const copies = all.filter((s) => s.tags.SourceSnapshotId !== undefined).map((s) => `${s.ownerId}/${s.tags.SourceSnapshotId}`);
    expect(new Set(copies).size).toBe(copies.length);
    // The resumed run names every snapshot the cut-off run made as adopted.
    const rerun = kase.entries().slice(resumedFrom);
    const adopted = rerun.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotId);
    expect(existing.filter((id) => !adopted.includes(id))).toEqual([]);
    // A compliance lock the cut-off run put on a copy is found in place and said so, not asked for again in vain.
    const foundLocked = rerun.filter((e) => e.type === 'snapshot.locked' && e.data.foundLocked !== undefined);
    expect(foundLocked).toHaveLength(lockedUnrecorded);
    if (type === 'snapshot.locked') expect(foundLocked.length).toBeGreaterThanOrEqual(1);
    expect(kase.entries().filter((e) => e.type === 'disk.hashed').map((e) => e.data.volumeId).sort()).toEqual(host.blockDevices.map((d) => d.volumeId).sort());
    await kase.close({ outcomes: [outcome] });
    const verified = await verifyCase(join(world.dir, 'cases', caseId));
    expect(verified.problems).toEqual([]);
  });
});
