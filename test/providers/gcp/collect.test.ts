/**
 * The GCP provider against the lab, under the shipped policies/gcp/ (the lab's IAM evaluates the
 * tag conditions with CEL): what a responder gets for an instance, a disk, and what is refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CustodyError } from '../../../src/core/errors.js';
import type { LedgerEntry } from '../../../src/core/ports.js';
import { LabGcpState } from '../../../src/lab/gcp/index.js';
import { openCase } from '../../../src/custody/index.js';
import { collectGcpTarget } from '../../../src/providers/gcp/collect.js';
import { CONSISTENCY, NO_CONTENT_HASH } from '../../../src/providers/gcp/snapshot.js';
import { gcpTargetKey, parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { snapshotNameFor } from '../../../src/providers/gcp/ids.js';
import { evidenceIdFor } from '../../../src/core/case-id.js';
import { ContentRecorder, snapshotsWithoutIds, useGcpFixtures, type GcpFixture } from './fixture.js';

// Each test runs whole collections against the loopback lab with the real Google clients: on a
// loaded machine that can take longer than the default; correctness never depends on the time.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

const WEB_1 = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
const startFixture = useGcpFixtures();

function forensicsSnapshots(f: GcpFixture) {
  return [...f.lab.state.snapshots.values()].filter((s) => s.project === 'custody-forensics');
}

describe('collecting a tagged GCE instance', () => {
  it('describes it, reads every serial port and the screenshot first, then snapshots each disk into the forensics project', async () => {
    const fx = await startFixture();
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    expect(outcome).toMatchObject({ target: WEB_1, status: 'collected' });

    const types = fx.recorder.log.map((e) => e.type);
    const stored = fx.recorder.ofType('evidence.stored').map((e) => e.data.name);
    expect(stored.slice(0, 6)).toEqual(['instance.json', 'serial-port-1.txt', 'serial-port-2.txt', 'serial-port-3.txt', 'serial-port-4.txt', 'screenshot.png']);
    expect(stored).toContain('disks.json');
    expect(String(fx.recorder.fileNamed('serial-port-1.txt'))).toContain('Accepted publickey for root from 203.0.113.9');
    expect(Buffer.from(fx.recorder.fileNamed('screenshot.png') as Buffer).subarray(1, 4).toString()).toBe('PNG');
    // Volatile first: the screenshot is stored before any snapshot is requested.
    const screenshotAt = fx.recorder.log.findIndex((e) => e.type === 'evidence.stored' && e.data.name === 'screenshot.png');
    expect(types.indexOf('snapshot.requested')).toBeGreaterThan(screenshotAt);

    const snapshots = forensicsSnapshots(fx);
    expect(snapshots.map((s) => s.sourceDisk).sort()).toEqual([
      'projects/web-prod/zones/us-central1-a/disks/web-1',
      'projects/web-prod/zones/us-central1-a/disks/web-1-data',
    ]);
    for (const s of snapshots) {
      expect(s.status).toBe('READY');
      expect(s.labels['custody-case']).toBe('ir-test');
      expect(s.labels['custody-evidence']).toMatch(/^ev-[0-9a-f]{12}$/);
    }
    const completed = fx.recorder.ofType('snapshot.completed');
    expect(completed).toHaveLength(2);
    for (const c of completed) {
      expect(c.data).toMatchObject({ status: 'READY', storageBytesStatus: 'UP_TO_DATE', consistency: CONSISTENCY, contentHash: NO_CONTENT_HASH });
      expect(c.data.storageBytes).toMatch(/^\d+$/);
      expect(c.data.sourceDiskId).toMatch(/^\d+$/);
      expect(c.data.sourceDiskLastAttachTimestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    for (const r of fx.recorder.ofType('snapshot.requested')) expect(r.data.consistency).toBe(CONSISTENCY);
    expect(fx.recorder.ofType('artifact.recorded').map((e) => e.data.kind)).toEqual(['gce-snapshot', 'gce-snapshot']);
  });

  it('impersonates the collector with the lifetime it sends, records who/chain/scopes/expiry and never the token', async () => {
    const fx = await startFixture({ config: { tokenLifetimeSeconds: 1200 } });
    await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    const minted = fx.lab.server.requests.filter((r) => r.api === 'iamcredentials.serviceAccounts.generateAccessToken');
    expect(minted).toHaveLength(1);
    expect(minted[0]!.body).toEqual({ delegates: [], scope: fx.config.scopes, lifetime: '1200s' });
    const [impersonated] = fx.recorder.ofType('credentials.impersonated');
    expect(impersonated!.data).toMatchObject({
      project: 'web-prod',
      serviceAccount: 'cloud-custody-collector@web-prod.iam.gserviceaccount.com',
      orchestrator: 'custody-orchestrator@custody-forensics.iam.gserviceaccount.com',
      delegationChain: ['custody-orchestrator@custody-forensics.iam.gserviceaccount.com'],
      lifetimeSecondsRequested: 1200,
      reason: 'first',
    });
    const ledger = JSON.stringify(fx.recorder.log);
    for (const token of fx.lab.state.tokens.keys()) expect(ledger).not.toContain(token);
    expect(ledger).not.toMatch(/ya29\./);
  });

  it('credentials.impersonated records how far Google’s clock (the Date of IAM Credentials’ answer) was from this machine’s, so the ledger lines up with Cloud Audit Logs', async () => {
    // Google's clock 20 minutes ahead of this machine's.
    const fx = await startFixture({ lab: { now: () => Date.now() + 20 * 60_000 } });
    await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    const impersonated = fx.recorder.ofType('credentials.impersonated');
    expect(impersonated).toHaveLength(1);
    // The Date header has whole seconds.
    expect(Math.abs(Number(impersonated[0]!.data.gcpClockOffsetMs) - 20 * 60_000)).toBeLessThan(1_500);
  });

  it('Cloud Audit Logs would show the collector as principal, the orchestrator as delegation, and the case in the user agent and request reason', async () => {
    const fx = await startFixture();
    await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    const insert = fx.lab.state.audit.find((a) => a.methodName === 'compute.snapshots.insert')!;
    expect(insert.principalEmail).toBe('cloud-custody-collector@web-prod.iam.gserviceaccount.com');
    expect(insert.serviceAccountDelegationInfo).toEqual([{ firstPartyPrincipal: { principalEmail: 'custody-orchestrator@custody-forensics.iam.gserviceaccount.com' } }]);
    expect(insert.callerSuppliedUserAgent).toMatch(/^cloud-custody\/0\.1\.0 case\/IR-TEST evidence\/ev-[0-9a-f]{12} /);
    expect(insert.requestReason).toMatch(/^cloud-custody case IR-TEST evidence ev-/);
  });

  it('an instance without the collection tag is refused, naming the permission and the resource', async () => {
    const fx = await startFixture();
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/zones/us-central1-a/instances/legacy-1'));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'compute.instances.get', resource: 'projects/web-prod/zones/us-central1-a/instances/legacy-1' });
    // Worded as the other clouds' refusals: who refused what on which resource, and where to look;
    // Google's own sentence says nothing more here, so it is not repeated.
    expect(outcome.error!.message).toBe(
      "GCP refused compute.instances.get on projects/web-prod/zones/us-central1-a/instances/legacy-1 (forbidden). Check that the collector role is granted in that project and that the resource carries the collection tag (docs/deploy-gcp.md).",
    );
    expect(forensicsSnapshots(fx)).toEqual([]);
    expect(fx.recorder.ofType('step.failed')[0]!.data.step).toBe('describe');
  });

  it('a snapshot the forensics project refuses points at the snapshot-writer role there, not at the collection tag', async () => {
    const fx = await startFixture({ lab: { withoutPermissions: ['compute.snapshots.create'] } });
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    expect(outcome.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'compute.snapshots.create' });
    expect(outcome.error!.message).toMatch(/^GCP refused compute\.snapshots\.create on projects\/custody-forensics\S* \(forbidden\)\. Check that the snapshot-writer role \(policies\/gcp\/snapshot-writer-role\.json\) is granted to the collector in the forensics project \(docs\/deploy-gcp\.md\)\./);
    expect(forensicsSnapshots(fx)).toEqual([]);
  });

  it('a target lists as evidence only the ids the case holds something under: no disk whose snapshot was never taken', async () => {
    const fx = await startFixture({ lab: { withoutPermissions: ['compute.snapshots.create'] } });
    const held = () => new Set(fx.recorder.entries().filter((e) => e.type === 'evidence.stored' || e.type === 'artifact.recorded').map((e) => String(e.data.evidenceId)));
    const instance = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    expect(instance.status).toBe('failed');
    expect(instance.evidenceIds).toEqual([...held()]);
    expect(instance.evidenceIds).toHaveLength(1);
    // A disk named on its own keeps its id: its description is stored under it.
    const disk = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data'));
    expect(disk.status).toBe('failed');
    expect(disk.evidenceIds).toHaveLength(1);
    expect(held().has(disk.evidenceIds[0]!)).toBe(true);
  });

  it('a regional disk named on its own is snapshotted into the forensics project', async () => {
    const fx = await startFixture();
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data'));
    expect(outcome.status).toBe('collected');
    expect(forensicsSnapshots(fx).map((s) => s.sourceDisk)).toEqual(['projects/web-prod/regions/us-central1/disks/shared-data']);
  });

  it('storage location, CMEK and guest flush from the config reach snapshots.insert', async () => {
    const fx = await startFixture({
      config: { snapshots: { storageLocations: ['europe-west4'], kmsKeyName: 'projects/custody-forensics/locations/europe-west4/keyRings/custody/cryptoKeys/evidence', guestFlush: true } },
    });
    await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data'));
    const [s] = forensicsSnapshots(fx);
    expect(s).toMatchObject({ storageLocations: ['europe-west4'], kmsKeyName: 'projects/custody-forensics/locations/europe-west4/keyRings/custody/cryptoKeys/evidence', guestFlushRequested: true });
    expect(fx.recorder.ofType('snapshot.completed')[0]!.data.kmsKeyName).toBe(
      'projects/custody-forensics/locations/europe-west4/keyRings/custody/cryptoKeys/evidence/cryptoKeyVersions/1',
    );
  });
});

describe('resume and faults', () => {
  it('a resumed run adopts the snapshots the interrupted one created and never inserts twice', async () => {
    const fx = await startFixture();
    await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    const resumed = new ContentRecorder(fx.recorder.log);
    const outcome = await collectGcpTarget({ session: fx.newSession(resumed), recorder: resumed }, parseGcpTarget(WEB_1));
    expect(outcome.status).toBe('collected');
    expect(fx.lab.server.calls.get('compute.snapshots.insert')).toBe(2);
    expect(forensicsSnapshots(fx)).toHaveLength(2);
    expect(resumed.ofType('snapshot.adopted').length).toBeGreaterThanOrEqual(2);
    // Evidence the case already holds is not recorded again: one artefact and one completion per snapshot.
    const again = resumed.log.slice(fx.recorder.log.length);
    expect(again.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.status)).toEqual(['READY', 'READY']);
    expect(again.filter((e) => e.type === 'artifact.recorded' || e.type === 'snapshot.completed')).toEqual([]);
  });

  it('a resumed run whose serial console has grown finds the output an earlier run stored: a result, not a refusal recorded as unavailable', async () => {
    const fx = await startFixture();
    const dir = await mkdtemp(join(tmpdir(), 'gcp-resume-'));
    try {
      const options = { casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId: 'IR-GCP-RESUME', analyst: 'alice', toolVersion: 'test' };
      const first = await openCase(options);
      await collectGcpTarget({ session: fx.newSession(first as unknown as ContentRecorder), recorder: first }, parseGcpTarget(WEB_1));
      await first.release();
      fx.lab.state.appendSerial(LabGcpState.instanceKey('web-prod', 'us-central1-a', 'web-1'), 1, 'sshd[901]: Accepted publickey for root\n');
      const resumed = await openCase({ ...options, resume: true });
      const outcome = await collectGcpTarget({ session: fx.newSession(resumed as unknown as ContentRecorder), recorder: resumed }, parseGcpTarget(WEB_1));
      expect(outcome.status).toBe('collected');
      expect(resumed.entries().filter((e) => e.type === 'volatile.unavailable' && String(e.data.what).startsWith('serial'))).toEqual([]);
      expect(resumed.entries().filter((e) => e.type === 'evidence.stored' && e.data.name === 'serial-port-1.txt')).toHaveLength(1);
      await resumed.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an instance and its own disk named in one case share one snapshot (same name and request id)', async () => {
    const fx = await startFixture();
    const run = { session: fx.session, recorder: fx.recorder };
    const [a, b] = await Promise.all([
      collectGcpTarget(run, parseGcpTarget(WEB_1)),
      collectGcpTarget(run, parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1-data')),
    ]);
    expect([a.status, b.status]).toEqual(['collected', 'collected']);
    expect(forensicsSnapshots(fx)).toHaveLength(2);
  });

  it('rate limits (403 rateLimitExceeded, which the client calls PERMISSION_DENIED) are retried, not reported as denials', async () => {
    const fx = await startFixture();
    fx.lab.server.faults.push({ api: 'compute.snapshots.insert', kind: 'rate-limit', times: 2 });
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1'));
    expect(outcome.status).toBe('collected');
    expect(fx.lab.server.calls.get('compute.snapshots.insert')).toBe(3);
  });

  it('a rate limit that never lifts ends as E_THROTTLED for that disk', async () => {
    const fx = await startFixture();
    fx.lab.server.faults.push({ api: 'compute.snapshots.insert', kind: 'rate-limit', times: 100 });
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1'));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatchObject({ code: 'E_THROTTLED' });
  });

  it('an exhausted snapshot quota is named as a quota, not a denial, and the other disk still completes', async () => {
    const fx = await startFixture({ lab: { settings: { snapshotQuota: 1 } } });
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toMatch(/1 of 2 disks preserved/);
    expect(outcome.reason).toMatch(/exceeded a quota/);
  });

  it('a disk deleted while its snapshot runs: the operation ends DONE with an error and the target is partial, naming the disk', async () => {
    const fx = await startFixture({ lab: { settings: { operationPolls: 2 } } });
    fx.lab.server.beforeRequest = (api) => {
      if (api === 'compute.globalOperations.wait') fx.lab.state.disks.delete('projects/web-prod/zones/us-central1-a/disks/web-1-data');
    };
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain('projects/web-prod/zones/us-central1-a/disks/web-1-data');
    expect(outcome.reason).toContain('RESOURCE_NOT_FOUND');
  });

  it('a snapshot of the expected name made from another disk is not adopted as this disk\'s evidence', async () => {
    const fx = await startFixture();
    const target = parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1');
    const name = snapshotNameFor(evidenceIdFor(fx.recorder.caseId, gcpTargetKey(target)));
    // Someone with access to the forensics project made it first, from the data disk.
    const other = fx.lab.state.disks.get('projects/web-prod/zones/us-central1-a/disks/web-1-data')!;
    fx.lab.state.snapshots.set(`projects/custody-forensics/global/snapshots/${name}`, {
      project: 'custody-forensics', name, id: '424242', status: 'READY', sourceDisk: 'projects/web-prod/zones/us-central1-a/disks/web-1-data', sourceDiskId: other.id,
      diskSizeGb: other.sizeGb, storageBytes: other.usedBytes, labels: {}, storageLocations: ['us'], tags: [], creationTimestamp: '2026-01-01T00:00:00.000-08:00', guestFlushRequested: false,
    });
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, target);
    expect(outcome.status).toBe('failed');
    expect(fx.recorder.ofType('snapshot.completed')).toEqual([]);
    expect(fx.recorder.ofType('artifact.recorded')).toEqual([]);
    expect(fx.recorder.ofType('snapshot.adopted')).toEqual([]);
    expect(String(outcome.reason)).toContain(name);
  });

  it('a snapshot that ended FAILED is kept and recorded; the resumed run takes a new one under the next name and collects the disk, and a further resume finds that one', async () => {
    const fx = await startFixture();
    const target = parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1');
    const evidenceId = evidenceIdFor(fx.recorder.caseId, gcpTargetKey(target));
    const [failed, second] = [snapshotNameFor(evidenceId), snapshotNameFor(evidenceId, 2)];
    expect(second).toBe(`${failed}-2`);
    fx.lab.state.failingSnapshots.add(`projects/custody-forensics/global/snapshots/${failed}`);

    const first = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, target);
    expect(first.status).toBe('failed');
    expect(String(first.reason)).toContain(`snapshot ${failed} of ${gcpTargetKey(target)} ended FAILED; it is kept, and a resumed run takes a new snapshot as ${second}`);
    expect(fx.recorder.ofType('snapshot.failed').map((e) => [e.data.snapshotName, e.data.attempt, e.data.status, e.data.found, e.data.nextSnapshotName])).toEqual([
      [failed, 1, 'FAILED', 'ended FAILED', second],
    ]);
    expect(fx.recorder.ofType('artifact.recorded')).toEqual([]);

    const resumed = new ContentRecorder(fx.recorder.log);
    const outcome = await collectGcpTarget({ session: fx.newSession(resumed), recorder: resumed }, target);
    expect(outcome.status, outcome.reason).toBe('collected');
    const after = resumed.log.slice(fx.recorder.log.length).filter((e) => e.type.startsWith('snapshot.') || e.type === 'artifact.recorded');
    expect(after.map((e) => [e.type, e.data.snapshotName ?? (e.data.cloudIds as Record<string, unknown>).snapshotName])).toEqual([
      ['snapshot.requested', second],
      ['snapshot.created', second],
      ['snapshot.completed', second],
      ['artifact.recorded', second],
    ]);
    // The FAILED one is still there: custody was not asked to delete it, and has no grant to.
    expect(forensicsSnapshots(fx).map((s) => [s.name, s.status])).toEqual([[failed, 'FAILED'], [second, 'READY']]);

    // A further resume asks for the same second name, finds it and records nothing twice.
    const again = new ContentRecorder(resumed.log);
    const inserts = fx.lab.server.calls.get('compute.snapshots.insert');
    expect((await collectGcpTarget({ session: fx.newSession(again), recorder: again }, target)).status).toBe('collected');
    expect(fx.lab.server.calls.get('compute.snapshots.insert')).toBe(inserts);
    const last = again.log.slice(resumed.log.length).filter((e) => e.type.startsWith('snapshot.') || e.type === 'artifact.recorded');
    expect(last.map((e) => [e.type, e.data.snapshotName])).toEqual([['snapshot.adopted', second]]);
  });

  it('a snapshot whose insert operation ends DONE with an error and the snapshot FAILED is recorded with the operation and its error, kept, and the disk fails for this run', async () => {
    const fx = await startFixture();
    const target = parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1');
    const evidenceId = evidenceIdFor(fx.recorder.caseId, gcpTargetKey(target));
    const [failed, second] = [snapshotNameFor(evidenceId), snapshotNameFor(evidenceId, 2)];
    const resource = `projects/custody-forensics/global/snapshots/${failed}`;
    fx.lab.state.failingSnapshots.add(resource);
    fx.lab.state.failingSnapshotErrors.set(resource, { code: 'INTERNAL_ERROR', message: 'Internal error. Please try again.', httpStatus: 500, httpMessage: 'INTERNAL SERVER ERROR' });

    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, target);
    const operationName = fx.recorder.ofType('snapshot.created')[0]!.data.operationName as string;
    expect(operationName).toMatch(/^operation-/);
    const detail = `(operation ${operationName}: INTERNAL_ERROR: Internal error. Please try again.)`;
    expect(outcome.status).toBe('failed');
    expect(String(outcome.reason)).toContain(`snapshot ${failed} of ${gcpTargetKey(target)} ended FAILED ${detail}; it is kept, and a resumed run takes a new snapshot as ${second}`);
    expect(fx.recorder.ofType('snapshot.failed').map((e) => [e.data.snapshotName, e.data.attempt, e.data.status, e.data.found, e.data.nextSnapshotName])).toEqual([
      [failed, 1, 'FAILED', `ended FAILED ${detail}`, second],
    ]);
    expect(fx.recorder.ofType('step.failed').map((e) => [e.data.step, e.data.snapshotName, (e.data.error as { code: string }).code])).toEqual([['snapshot', failed, 'E_CLOUD']]);
    expect(fx.recorder.ofType('snapshot.completed')).toEqual([]);
    expect(fx.recorder.ofType('artifact.recorded')).toEqual([]);
    expect(forensicsSnapshots(fx).map((s) => [s.name, s.status])).toEqual([[failed, 'FAILED']]);
  });

  it('two targets of one run sharing a disk whose snapshot ended FAILED share that outcome: the second records the disk as covered and takes no second snapshot in the run', async () => {
    const fx = await startFixture();
    const disk = parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1');
    const evidenceId = evidenceIdFor(fx.recorder.caseId, gcpTargetKey(disk));
    const failed = snapshotNameFor(evidenceId);
    fx.lab.state.failingSnapshots.add(`projects/custody-forensics/global/snapshots/${failed}`);

    const instance = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    expect(instance.status).toBe('partial');
    const inserts = fx.lab.server.calls.get('compute.snapshots.insert');
    const named = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, disk);
    expect(named.status).toBe('failed');
    expect(String(named.reason)).toContain(`snapshot ${failed} of ${gcpTargetKey(disk)} ended FAILED`);
    expect(fx.lab.server.calls.get('compute.snapshots.insert')).toBe(inserts);
    expect(fx.recorder.ofType('disk.covered').map((e) => [e.target, e.data.disk, e.data.coveredBy])).toEqual([[gcpTargetKey(disk), gcpTargetKey(disk), WEB_1]]);
    expect(fx.recorder.ofType('snapshot.failed').map((e) => e.data.snapshotName)).toEqual([failed]);
    expect(forensicsSnapshots(fx).filter((s) => s.name.startsWith(failed)).map((s) => [s.name, s.status])).toEqual([[failed, 'FAILED']]);
  });

  it('a FAILED snapshot the interrupted run never recorded is recorded when found, and the same run takes the next name', async () => {
    const fx = await startFixture();
    const target = parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1');
    const evidenceId = evidenceIdFor(fx.recorder.caseId, gcpTargetKey(target));
    const [failed, second] = [snapshotNameFor(evidenceId), snapshotNameFor(evidenceId, 2)];
    fx.lab.state.failingSnapshots.add(`projects/custody-forensics/global/snapshots/${failed}`);
    const cut = new CutRecorder('snapshot.failed');
    await expect(collectGcpTarget({ session: fx.newSession(cut), recorder: cut }, target)).rejects.toMatchObject({ code: 'E_LEDGER' });

    const resumed = new ContentRecorder(cut.log);
    const outcome = await collectGcpTarget({ session: fx.newSession(resumed), recorder: resumed }, target);
    expect(outcome.status, outcome.reason).toBe('collected');
    const after = resumed.log.slice(cut.log.length).filter((e) => e.type.startsWith('snapshot.'));
    expect(after.map((e) => [e.type, e.data.snapshotName])).toEqual([
      ['snapshot.failed', failed],
      ['snapshot.requested', second],
      ['snapshot.created', second],
      ['snapshot.completed', second],
    ]);
    expect(after[0]!.data).toMatchObject({ attempt: 1, status: 'FAILED', found: 'found FAILED under this name before any insert of this run' });
    expect(forensicsSnapshots(fx).map((s) => [s.name, s.status])).toEqual([[failed, 'FAILED'], [second, 'READY']]);
  });

  it('a screenshot the API failed to give leaves the target partial, not collected (only an instance without a display has none to take)', async () => {
    const fx = await startFixture({ lab: { withoutPermissions: ['compute.instances.getScreenshot'] } });
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    expect(fx.recorder.ofType('volatile.unavailable').map((e) => e.data.what)).toEqual(['screenshot']);
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toMatch(/screenshot/);
  });

  it('an expired token is renewed once and the call goes through (recorded as expired-token)', async () => {
    const fx = await startFixture();
    const run = { session: fx.session, recorder: fx.recorder };
    await collectGcpTarget(run, parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1'));
    // The collector's token lapses early (revoked, clock skew): the broker believes it still valid.
    for (const token of fx.lab.state.tokens.values()) if (token.principal.startsWith('cloud-custody-collector@')) token.expiresAt = 0;
    const outcome = await collectGcpTarget(run, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data'));
    expect(outcome.status).toBe('collected');
    expect(fx.recorder.ofType('credentials.impersonated').map((e) => e.data.reason)).toEqual(['first', 'expired-token']);
  });

  it('an orchestrator without token-creator on the collector is refused naming iam.serviceAccounts.getAccessToken', async () => {
    const fx = await startFixture({ config: { collectorServiceAccount: 'someone-else@{project}.iam.gserviceaccount.com' } });
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'iam.serviceAccounts.getAccessToken' });
  });

  it('snapshot operations are awaited in rounds over all pending operations, not one poller per disk', async () => {
    const fx = await startFixture({ lab: { settings: { operationPolls: 3 } } });
    const run = { session: fx.session, recorder: fx.recorder };
    const outcomes = await Promise.all([
      collectGcpTarget(run, parseGcpTarget(WEB_1)),
      collectGcpTarget(run, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['collected', 'collected']);
    const waiter = fx.session.waiter;
    // 3 operations × 4 waits each; the rounds are shared by all of them.
    expect(waiter.calls).toBe(fx.lab.server.calls.get('compute.globalOperations.wait'));
    expect(waiter.rounds).toBeLessThan(waiter.calls);
  });
});

/** A recorder whose ledger can no longer be written from the first `type` entry on. */
class CutRecorder extends ContentRecorder {
  private cut = false;
  constructor(private readonly at: string) {
    super();
  }
  override async record(type: string, data: Record<string, unknown> = {}, target?: string): Promise<LedgerEntry> {
    if (this.cut || type === this.at) {
      this.cut = true;
      throw new CustodyError('E_LEDGER', `test cut: ${type} was not recorded`);
    }
    return super.record(type, data, target);
  }
}

describe('a run cut off after a cloud call (what a kill -9 or a full disk leaves: the cloud did the work, the case never heard)', () => {
  it.each(['snapshot.created', 'snapshot.completed', 'artifact.recorded'])(
    'cut at %s: the resumed run adopts each snapshot that exists, inserts only the missing ones, and the instance is collected',
    async (cut) => {
      const fx = await startFixture();
      const first = new CutRecorder(cut);
      await expect(collectGcpTarget({ session: fx.newSession(first), recorder: first }, parseGcpTarget(WEB_1))).rejects.toMatchObject({ code: 'E_LEDGER' });
      // As after a kill: the cut-off run's inserts already sent have landed, nothing else follows.
      const sent = first.log.filter((e) => e.type === 'snapshot.requested').length;
      while ((fx.lab.server.calls.get('compute.snapshots.insert') ?? 0) < sent) await new Promise((r) => setTimeout(r, 5));
      const existing = [...fx.lab.state.snapshots.values()].filter((s) => s.project === 'custody-forensics').map((s) => s.name);
      expect(existing.length).toBeGreaterThan(0);
      const inserts = fx.lab.server.calls.get('compute.snapshots.insert');

      const resumed = new ContentRecorder(first.log);
      const outcome = await collectGcpTarget({ session: fx.newSession(resumed), recorder: resumed }, parseGcpTarget(WEB_1));
      expect(outcome.status, outcome.reason).toBe('collected');
      const names = [...fx.lab.state.snapshots.values()].filter((s) => s.project === 'custody-forensics').map((s) => s.name);
      expect(names).toHaveLength(2);
      expect(fx.lab.server.calls.get('compute.snapshots.insert')).toBe(inserts! + (2 - existing.length));
      const after = resumed.log.slice(first.log.length);
      expect(after.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotName).sort()).toEqual([...existing].sort());
      expect(after.filter((e) => e.type === 'artifact.recorded')).toHaveLength(2);
    },
  );
});

/** A run of WEB_1 whose ledger fails at its first snapshot.completed, once Compute has every insert it asked for. */
async function cutOffAtCompletion(fx: GcpFixture): Promise<CutRecorder> {
  const first = new CutRecorder('snapshot.completed');
  await expect(collectGcpTarget({ session: fx.newSession(first), recorder: first }, parseGcpTarget(WEB_1))).rejects.toMatchObject({ code: 'E_LEDGER' });
  const sent = first.log.filter((e) => e.type === 'snapshot.requested').length;
  while ((fx.lab.server.calls.get('compute.snapshots.insert') ?? 0) < sent) await new Promise((r) => setTimeout(r, 5));
  return first;
}

describe('an instance deleted between a cut-off run and its resume', () => {
  it.each([
    ['its disks kept', false],
    ['its disks deleted with it', true],
  ] as const)('%s: the snapshots the cut-off run asked for are adopted by name and recorded as evidence, none is inserted again, and the instance is partial, saying why', async (_label, disksToo) => {
    const fx = await startFixture();
    const first = await cutOffAtCompletion(fx);
    const existing = [...fx.lab.state.snapshots.values()].filter((s) => s.project === 'custody-forensics').map((s) => s.name).sort();
    expect(existing).toHaveLength(2);
    const inserts = fx.lab.server.calls.get('compute.snapshots.insert');
    // Whoever the case is about deletes the instance (and, with auto-delete, its disks).
    const instance = fx.lab.state.instances.get(LabGcpState.instanceKey('web-prod', 'us-central1-a', 'web-1'))!;
    fx.lab.state.instances.delete(LabGcpState.instanceKey('web-prod', 'us-central1-a', 'web-1'));
    if (disksToo) for (const [key, disk] of fx.lab.state.disks) if (disk.users.some((u) => u.endsWith(`/instances/${instance.name}`))) fx.lab.state.disks.delete(key);

    const resumed = new ContentRecorder(first.log);
    const outcome = await collectGcpTarget({ session: fx.newSession(resumed), recorder: resumed }, parseGcpTarget(WEB_1));
    const after = resumed.log.slice(first.log.length);
    expect(fx.lab.server.calls.get('compute.snapshots.insert')).toBe(inserts);
    expect(after.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotName).sort()).toEqual(existing);
    expect(after.filter((e) => e.type === 'artifact.recorded')).toHaveLength(2);
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain('was not found');
    expect(outcome.reason).toContain('2 of 2 disks preserved');
  });

  it.each([
    ['null, as requests record an id Compute did not give', null],
    ["'', as older requests recorded it", ''],
  ] as const)('a request that recorded no disk id (%s): the snapshot made from the disk it names is adopted, not refused as made from another disk', async (_label, recorded) => {
    const fx = await startFixture();
    const first = await cutOffAtCompletion(fx);
    // The earlier run's requests as written when Compute's description of the disk gave no id.
    for (const e of first.log) if (e.type === 'snapshot.requested') e.data.sourceDiskId = recorded;
    fx.lab.state.instances.delete(LabGcpState.instanceKey('web-prod', 'us-central1-a', 'web-1'));

    const resumed = new ContentRecorder(first.log);
    const outcome = await collectGcpTarget({ session: fx.newSession(resumed), recorder: resumed }, parseGcpTarget(WEB_1));
    const after = resumed.log.slice(first.log.length);
    expect(after.filter((e) => e.type === 'step.failed' && e.data.step === 'snapshot')).toEqual([]);
    expect(after.filter((e) => e.type === 'snapshot.adopted')).toHaveLength(2);
    expect(outcome.reason).toContain('2 of 2 disks preserved');
  });

  it('a request that recorded no disk id: a snapshot under the name made from another disk is still refused', async () => {
    const fx = await startFixture();
    const first = await cutOffAtCompletion(fx);
    for (const e of first.log) if (e.type === 'snapshot.requested') e.data.sourceDiskId = null;
    // The boot disk's snapshot, as if somebody had made it from the data disk under the boot disk's name.
    const boot = [...fx.lab.state.snapshots.values()].find((s) => s.project === 'custody-forensics' && s.sourceDisk.endsWith('/disks/web-1'))!;
    boot.sourceDisk = 'projects/web-prod/zones/us-central1-a/disks/web-1-data';
    fx.lab.state.instances.delete(LabGcpState.instanceKey('web-prod', 'us-central1-a', 'web-1'));

    const resumed = new ContentRecorder(first.log);
    await collectGcpTarget({ session: fx.newSession(resumed), recorder: resumed }, parseGcpTarget(WEB_1));
    const after = resumed.log.slice(first.log.length);
    const refused = after.filter((e) => e.type === 'step.failed' && e.data.step === 'snapshot');
    expect(refused.map((e) => e.data.disk)).toEqual(['//compute.googleapis.com/projects/web-prod/zones/us-central1-a/disks/web-1']);
    expect(String((refused[0]!.data.error as { message: string }).message)).toContain('refusing to adopt it');
    expect(after.filter((e) => e.type === 'snapshot.adopted')).toHaveLength(1);
  });
});

describe('a disk Compute describes without an id', () => {
  it('is requested with sourceDiskId null, not an empty id, and its artefact names no sourceDiskId', async () => {
    const fx = await startFixture();
    const target = parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1-data');
    (fx.lab.state.disks.get('projects/web-prod/zones/us-central1-a/disks/web-1-data') as { id?: string }).id = undefined;
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, target);
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(fx.recorder.ofType('snapshot.requested').map((e) => e.data.sourceDiskId)).toEqual([null]);
    const artifacts = fx.recorder.ofType('artifact.recorded');
    expect(artifacts).toHaveLength(1);
    expect(artifacts[0]!.data.cloudIds).not.toHaveProperty('sourceDiskId');
  });
});

describe('a snapshot Compute describes without an id', () => {
  it('is completed with snapshotId null, not an empty id, and its artefact names no snapshotId', async () => {
    const fx = await startFixture();
    snapshotsWithoutIds(fx);
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1-data'));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(fx.recorder.ofType('snapshot.completed').map((e) => e.data.snapshotId)).toEqual([null]);
    const artifacts = fx.recorder.ofType('artifact.recorded');
    expect(artifacts).toHaveLength(1);
    expect(artifacts[0]!.data.cloudIds).not.toHaveProperty('snapshotId');
  });

  it('that ended FAILED is recorded with snapshotId null', async () => {
    const fx = await startFixture();
    snapshotsWithoutIds(fx);
    const target = parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1');
    fx.lab.state.failingSnapshots.add(`projects/custody-forensics/global/snapshots/${snapshotNameFor(evidenceIdFor(fx.recorder.caseId, gcpTargetKey(target)))}`);
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, target);
    expect(outcome.status).toBe('failed');
    expect(fx.recorder.ofType('snapshot.failed').map((e) => e.data.snapshotId)).toEqual([null]);
  });

  it('adopted by a resume is recorded with snapshotId null, and recorded as evidence once', async () => {
    const fx = await startFixture();
    const first = await cutOffAtCompletion(fx);
    snapshotsWithoutIds(fx);
    const resumed = new ContentRecorder(first.log);
    const outcome = await collectGcpTarget({ session: fx.newSession(resumed), recorder: resumed }, parseGcpTarget(WEB_1));
    expect(outcome.status, outcome.reason).toBe('collected');
    const after = resumed.log.slice(first.log.length);
    expect(after.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotId)).toEqual([null, null]);
    expect(after.filter((e) => e.type === 'snapshot.completed').map((e) => e.data.snapshotId)).toEqual([null, null]);
    expect(after.filter((e) => e.type === 'artifact.recorded')).toHaveLength(2);
  });
});

// Serial port output is paged (start/next) up to a fixed number of pages: output that goes on past
// them is recorded as cut, and the target is partial, never collected on a file that stops short.
describe('serial port output longer than the pages read', () => {
  it('is stored as far as it was read, recorded as volatile.incomplete with where it stopped, and leaves the target partial', async () => {
    // 16-byte pages: 64 pages read 1,024 bytes; port 2 is given more than that.
    const fx = await startFixture({ lab: { settings: { operationPolls: 1, serialPageBytes: 16 } }, config: { serialPorts: [1, 2] } });
    const key = LabGcpState.instanceKey('web-prod', 'us-central1-a', 'web-1');
    const port1 = fx.lab.state.instances.get(key)!.serial[1] ?? '';
    fx.lab.state.appendSerial(key, 2, 'x'.repeat(3000));
    const port2 = fx.lab.state.instances.get(key)!.serial[2]!;
    expect(port1.length).toBeLessThan(64 * 16);

    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));

    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain('serial port 2: reading stopped after 64 pages with more output from byte 1024 on');
    expect(String(fx.recorder.fileNamed('serial-port-1.txt'))).toBe(port1);
    expect(String(fx.recorder.fileNamed('serial-port-2.txt'))).toBe(port2.slice(0, 1024));
    expect(fx.recorder.ofType('volatile.incomplete').map((e) => e.data)).toEqual([
      expect.objectContaining({ what: 'serial-port-2', pages: 64, start: '0', next: '1024' }),
    ]);
  });
});
