import { isAwsTarget } from '../../../src/providers/targets.js';
/**
 * The AWS provider end to end against the rehearsal lab (loopback STS/EC2/KMS speaking the real
 * wire protocols), with a real case folder: the incidents it must survive.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../../src/core/errors.js';
import type { CaseRecorder } from '../../../src/core/ports.js';
import { parseSelector, parseTarget } from '../../../src/providers/targets.js';
import { verifyCase, type CaseHandle } from '../../../src/custody/index.js';
import { addInstance } from '../../../src/lab/index.js';
import { caseWith } from '../../support/case-with.js';
import { contextFor, ledgerText, manifestArtifacts, MemoryRecorder } from './helpers.js';
import { instanceArn as arnOf, REGION, useAwsLab } from './lab-fixture.js';
import { evidenceIdFor } from '../../../src/core/case-id.js';

const world = useAwsLab({ scratchPrefix: 'custody-aws-' });
const { instanceNamed, provider, newCase, snapshotsOf } = world;

describe('AWS provider in the lab', () => {
  it('collects web-01: its aws/ebs root is re-encrypted before sharing, both volumes land in the forensics account, and the case verifies', async () => {
    const kase = await newCase('happy');
    const web = instanceNamed('web-01');
    const target = parseTarget(arnOf(web));
    const aws = provider({ lock: { mode: 'compliance', durationDays: 30 } });
    aws.validate(target);
    const ctx = contextFor(kase);
    const outcome = await aws.collect(target, ctx);
    expect(outcome.status, outcome.reason).toBe('collected');

    const entries = kase.entries();
    const assumed = entries.find((e) => e.type === 'credentials.assumed')!;
    expect(assumed.data).toMatchObject({ account: '222222222222', sourceIdentity: 'alice', sessionName: `custody-${kase.caseId}` });
    expect(ledgerText(entries)).not.toContain(world.lab.orchestratorCredentials.secretAccessKey);

    const [root, data] = web.blockDevices.map((d) => d.volumeId);
    const artifacts = manifestArtifacts(entries);
    expect(artifacts).toHaveLength(2);
    const byVolume = new Map(artifacts.map((a) => [a.volumeId, a.cloudIds]));
    // aws/ebs cannot be shared: the root needed a copy under the shareable key; the data volume did not.
    expect(byVolume.get(root!)?.reencryptedSnapshotId).toMatch(/^snap-/);
    expect(byVolume.get(data!)?.reencryptedSnapshotId).toBeUndefined();

    const snapshots = world.lab.state.region(REGION).snapshots;
    for (const ids of byVolume.values()) {
      const shared = snapshots.get(ids.reencryptedSnapshotId ?? ids.snapshotId!)!;
      expect([...shared.createVolumePermissions]).toEqual(['111111111111']);
      const kept = snapshots.get(ids.forensicsSnapshotId!)!;
      expect(kept.ownerId).toBe('111111111111');
      expect(kept.tags).toMatchObject({ CaseId: kase.caseId, SourceSnapshotId: shared.id });
      expect(kept.lock?.mode).toBe('compliance');
    }
    // One CreateSnapshots for the whole instance, recorded before and after.
    expect(world.lab.calls()['222222222222']?.['ec2:CreateSnapshots']).toBe(1);
    const types = entries.map((e) => e.type);
    expect(types.indexOf('snapshot.requested')).toBeLessThan(types.indexOf('snapshot.created'));
    expect(ctx.events.some((e) => e.fraction !== undefined)).toBe(true);

    await kase.close({ outcomes: [outcome] });
    const verified = await verifyCase(join(world.dir, 'cases', kase.caseId));
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });

  it('an untagged instance is refused: the outcome and the ledger name the action and the resource that were denied', async () => {
    const kase = await newCase('untagged');
    const batch = instanceNamed('batch-01');
    const aws = provider();
    const outcome = await aws.collect(parseTarget(arnOf(batch)), contextFor(kase));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshots' });
    expect(String(outcome.error?.resource)).toContain(batch.id);
    const failures = kase.entries().filter((e) => e.type === 'step.failed');
    expect(failures.map((f) => f.data.step)).toEqual(expect.arrayContaining(['console-output', 'snapshot']));
    const snapshotFailure = failures.find((f) => f.data.step === 'snapshot')!;
    expect(snapshotFailure.target).toBe(arnOf(batch));
    expect(snapshotFailure.data.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshots' });
    expect(snapshotsOf(kase.caseId)).toHaveLength(0);
    await kase.release();
  });

  it('an instance that does not exist fails with E_NOT_FOUND and no snapshot call', async () => {
    const kase = await newCase('unknown');
    const aws = provider();
    const outcome = await aws.collect(parseTarget(`arn:aws:ec2:${REGION}:222222222222:instance/i-0fedcba9876543210`), contextFor(kase));
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'E_NOT_FOUND' } });
    expect(outcome.reason).toContain('i-0fedcba9876543210');
    await kase.release();
  });

  it('an account outside aws.allowedAccounts is refused before any call is made', async () => {
    const aws = provider();
    const target = parseTarget(`arn:aws:ec2:${REGION}:999999999999:instance/i-0fedcba9876543210`);
    world.lab.control.resetCalls();
    expect(() => aws.validate(target)).toThrow(expect.objectContaining({ code: 'E_ACCOUNT_NOT_ALLOWED' }));
    const kase = await newCase('not-allowed');
    const outcome = await aws.collect(target, contextFor(kase));
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'E_ACCOUNT_NOT_ALLOWED' } });
    expect(world.lab.control.totalCalls()).toBe(0);
    await kase.release();
  });

  it('throttled CreateSnapshots calls are retried by the SDK and only one snapshot set is made', async () => {
    const kase = await newCase('throttled');
    const api = instanceNamed('api-01');
    world.lab.control.failNext({ action: 'ec2:CreateSnapshots', code: 'RequestLimitExceeded', status: 503, count: 2, account: '333333333333' });
    const aws = provider({ transfer: 'in-place' });
    const outcome = await aws.collect(parseTarget(arnOf(api)), contextFor(kase));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(snapshotsOf(kase.caseId)).toHaveLength(1);
    expect(kase.entries().filter((e) => e.type === 'snapshot.created')).toHaveLength(1);
    await kase.release();
  });

  it('credentials that expire mid-run are refreshed once and the case records the new session', async () => {
    const kase = await newCase('expired');
    const aws = provider({ transfer: 'in-place' });
    const web = parseTarget(arnOf(instanceNamed('web-01')));
    const db = parseTarget(arnOf(instanceNamed('db-01')));
    aws.validate(web);
    aws.validate(db);
    // One run (one context, one signal): the run's session is the one that expires.
    const run = contextFor(kase);
    const first = await aws.collect(web, run);
    expect(first.status, first.reason).toBe('collected');
    expect(world.lab.control.expireSessions()).toBeGreaterThan(0);
    const second = await aws.collect(db, run);
    expect(second.status, second.reason).toBe('collected');
    const sessions = kase.entries().filter((e) => e.type === 'credentials.assumed');
    expect(sessions.map((e) => e.data.reason)).toEqual(['first', 'expired-token']);
    await kase.release();
  });

  it('an instance terminated mid-run fails with a clear reason and keeps what was collected before', async () => {
    const kase = await newCase('terminated');
    const worker = addInstance(world.lab.state, '333333333333', REGION, {
      tags: { Name: 'doomed-01', ForensicsEnabled: 'true' },
      volumes: [{ sizeGiB: 8, encryption: 'aws/ebs', tags: { ForensicsEnabled: 'true' } }],
      consoleOutput: 'doomed-01 login: ',
    });
    const volumeIds = worker.blockDevices.map((d) => d.volumeId);
    world.lab.control.terminateInstance(worker.id, { onCall: { action: 'ec2:CreateSnapshots', n: 1 } });
    const aws = provider();
    const outcome = await aws.collect(parseTarget(arnOf(worker)), contextFor(kase));
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/vanished|terminated/);
    const stored = kase.entries().filter((e) => e.type === 'evidence.stored');
    expect(stored.map((e) => e.data.name).sort()).toEqual(['console-output.txt', 'instance.json']);
    // One description file: the instance, its volume and the volume's key, each with its API.
    const description = JSON.parse(readFileSync(join(kase.caseDir, stored.find((e) => e.data.name === 'instance.json')!.data.path as string), 'utf8'));
    expect(description.instance).toMatchObject({ api: 'ec2:DescribeInstances', instance: { InstanceId: worker.id } });
    expect(description.volumes.api).toBe('ec2:DescribeVolumes');
    expect(description.volumes.volumes.map((v: { VolumeId: string }) => v.VolumeId)).toEqual(volumeIds);
    expect(description.kmsKeys).toMatchObject({ api: 'kms:DescribeKey', keys: expect.arrayContaining([expect.objectContaining({ role: 'volume' })]) });
    expect(kase.entries().some((e) => e.type === 'step.failed' && e.data.step === 'snapshot')).toBe(true);
    await kase.release();
  });

  it('a run killed right after CreateSnapshots and again after the forensics copy resumes without a single duplicate snapshot', async () => {
    const web = instanceNamed('web-01');
    const target = parseTarget(arnOf(web));
    const crashOn = (kase: CaseHandle, type: string, when: (data: Record<string, unknown>) => boolean): CaseRecorder =>
      caseWith(kase, {
        record: async (t, data, tgt) => {
          if (t === type && when(data ?? {})) throw new CustodyError('E_LEDGER', 'simulated kill -9');
          return kase.record(t, data, tgt);
        },
      });

    const first = await newCase('crash');
    const caseId = first.caseId;
    await expect(provider().collect(target, contextFor(crashOn(first, 'snapshot.created', () => true)))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    expect(snapshotsOf(caseId)).toHaveLength(2);

    const second = await newCase('crash', true, caseId);
    await expect(
      provider().collect(target, contextFor(crashOn(second, 'snapshot.copied', (d) => d.role === 'forensics'))),
    ).rejects.toMatchObject({ code: 'E_LEDGER' });
    await second.release();

    const third = await newCase('crash', true, caseId);
    const outcome = await provider().collect(target, contextFor(third));
    expect(outcome.status, outcome.reason).toBe('collected');
    // Two source snapshots, one re-encrypted copy of the aws/ebs root, two forensics copies: nothing twice.
    const all = snapshotsOf(caseId);
    expect(all).toHaveLength(5);
    const sources = all.filter((s) => s.tags.SourceSnapshotId === undefined);
    expect(new Set(sources.map((s) => s.volumeId)).size).toBe(2);
    const copies = all.filter((s) => s.tags.SourceSnapshotId !== undefined).map((s) => `${s.ownerId}:${s.tags.SourceSnapshotId}`);
    expect(new Set(copies).size).toBe(copies.length);
    expect(third.entries().filter((e) => e.type === 'snapshot.adopted').length).toBeGreaterThanOrEqual(2);
    await third.close({ outcomes: [outcome] });
  });

  it('a run killed after writing instance.json but before recording it keeps that file and records this run’s under its own name', async () => {
    const db = instanceNamed('db-01');
    const target = parseTarget(arnOf(db));
    const recorder = new MemoryRecorder('IR-half-written');
    const evidenceId = evidenceIdFor(recorder.caseId, arnOf(db));
    recorder.files.set(`evidence/${evidenceId}/instance.json`, Buffer.from('{"written by":"the killed run"}'));
    const outcome = await provider({ transfer: 'in-place' }).collect(target, contextFor(recorder));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(recorder.file(evidenceId, 'instance.json')).toContain('the killed run');
    const stored = recorder.ofType('evidence.stored').map((e) => String(e.data.name));
    expect(stored.find((n) => /^instance\.resumed-\d+\.json$/.test(n))).toBeDefined();
    expect(stored).toContain('console-output.txt');
  });

  it('a run killed after writing instance.json but before recording it, when the description is unchanged, has that file recorded as it is: one description, no resumed copy', async () => {
    const db = instanceNamed('db-01');
    const target = parseTarget(arnOf(db));
    const first = new MemoryRecorder('IR-described-once');
    expect((await provider({ transfer: 'in-place' }).collect(target, contextFor(first))).status).toBe('collected');
    const written = first.file(evidenceIdFor(first.caseId, arnOf(db)), 'instance.json')!;
    // The instance, its volumes and their keys in one file; request ids are in the entry only,
    // so describing the same resources again gives the same bytes.
    expect(Object.keys(JSON.parse(written))).toEqual(['instance', 'volumes', 'kmsKeys']);

    const resumed = new MemoryRecorder('IR-described-twice');
    const evidenceId = evidenceIdFor(resumed.caseId, arnOf(db));
    resumed.files.set(`evidence/${evidenceId}/instance.json`, Buffer.from(written));
    const outcome = await provider({ transfer: 'in-place' }).collect(target, contextFor(resumed));
    expect(outcome.status, outcome.reason).toBe('collected');
    const stored = resumed.ofType('evidence.stored').filter((e) => e.data.evidenceId === evidenceId);
    expect(stored.map((e) => String(e.data.name)).sort()).toEqual(['console-output.txt', 'instance.json']);
    expect(stored.find((e) => e.data.name === 'instance.json')!.data).toMatchObject({
      kind: 'instance-description',
      cloudIds: { instanceId: db.id, volume0: expect.stringMatching(/^vol-/) },
      requestIds: expect.arrayContaining([expect.any(String), expect.any(String)]),
    });
  });

  it('on resume, a volume without a snapshot gets one while the volumes that have one are excluded from CreateSnapshots', async () => {
    const host = addInstance(world.lab.state, '222222222222', REGION, {
      tags: { Name: 'two-disks', ForensicsEnabled: 'true' },
      volumes: [
        { sizeGiB: 8, encryption: 'aws/ebs', tags: { ForensicsEnabled: 'true' } },
        { sizeGiB: 30, encryption: 'alias/cloud-custody-share', tags: { ForensicsEnabled: 'true' } },
      ],
      consoleOutput: 'two-disks login: ',
    });
    const target = parseTarget(arnOf(host));
    const first = new MemoryRecorder('IR-partial');
    expect((await provider({ transfer: 'in-place' }).collect(target, contextFor(first))).status).toBe('collected');
    // The data volume's snapshot is gone (as if the volume had been attached after the first run).
    const dataVolume = host.blockDevices[1]!.volumeId;
    const snapshots = world.lab.state.region(REGION).snapshots;
    for (const s of snapshotsOf('IR-partial')) if (s.volumeId === dataVolume) snapshots.delete(s.id);

    const second = new MemoryRecorder('IR-partial', 'alice', first.log);
    const outcome = await provider({ transfer: 'in-place' }).collect(target, contextFor(second));
    expect(outcome.status, outcome.reason).toBe('collected');
    const rerun = second.log.slice(first.log.length);
    expect(rerun.find((e) => e.type === 'snapshot.requested')!.data).toMatchObject({ volumeIds: [dataVolume], excludeBootVolume: true });
    expect(rerun.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.volumeId)).toEqual([host.blockDevices[0]!.volumeId]);
    expect(snapshotsOf('IR-partial').map((s) => s.volumeId).sort()).toEqual(host.blockDevices.map((d) => d.volumeId).sort());
  });

  it('a failed lookup of earlier snapshots does not stop a first collection, but does stop a resumed one from creating blind', async () => {
    const host = addInstance(world.lab.state, '333333333333', REGION, {
      tags: { Name: 'lookup-denied', ForensicsEnabled: 'true' },
      volumes: [{ sizeGiB: 8, encryption: 'aws/ebs', tags: { ForensicsEnabled: 'true' } }],
      consoleOutput: 'lookup-denied login: ',
    });
    const target = parseTarget(arnOf(host));
    const first = new MemoryRecorder('IR-lookup');
    // Twice: the lookup is started early and asked again by the snapshot step.
    world.lab.control.failNext({ action: 'ec2:DescribeSnapshots', code: 'UnauthorizedOperation', status: 403, account: '333333333333', count: 2 });
    const outcome = await provider({ transfer: 'in-place' }).collect(target, contextFor(first));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(first.ofType('step.failed')[0]!.data).toMatchObject({ step: 'snapshot-lookup', error: { code: 'E_ACCESS_DENIED' } });

    const second = new MemoryRecorder('IR-lookup', 'alice', first.log);
    // Twice: the lookup is started early and asked again by the snapshot step.
    world.lab.control.failNext({ action: 'ec2:DescribeSnapshots', code: 'UnauthorizedOperation', status: 403, account: '333333333333', count: 2 });
    const resumed = await provider({ transfer: 'in-place' }).collect(target, contextFor(second));
    expect(resumed).toMatchObject({ status: 'failed', error: { code: 'E_ACCESS_DENIED', action: 'ec2:DescribeSnapshots' } });
    expect(snapshotsOf('IR-lookup')).toHaveLength(1);
  });

  it('a tag search stopped by the run ends the search: no account is recorded as a failed search', async () => {
    const kase = await newCase('selector-stopped');
    const stopped = { ...contextFor(kase), signal: AbortSignal.abort(new Error('Ctrl-C')) };
    await expect(provider().resolveSelector(parseSelector('tag:Incident=INC-42'), stopped)).rejects.toThrow(/cancelled/);
    // A search cut short by the stop says nothing about the account's access.
    expect(kase.entries().filter((e) => e.type === 'step.failed')).toEqual([]);
    await kase.release();
  });

  it('a tag selector searches every allowed account and finds the tagged host', async () => {
    const kase = await newCase('selector');
    const aws = provider();
    const targets = await aws.resolveSelector(parseSelector('tag:Incident=INC-42'), contextFor(kase));
    expect(targets.map((t) => isAwsTarget(t) && t.kind === 'aws-instance' && t.instanceId)).toEqual([instanceNamed('worker-07').id]);
    const searched = kase.entries().filter((e) => e.type === 'selector.searched');
    expect(searched.map((e) => (e.data.scope as { account: string }).account).sort()).toEqual(['222222222222', '333333333333']);
    await kase.release();
  });
});
