/**
 * Collection options beyond the default instance run: --preserve and --screenshot, the `share`
 * transfer, and a run cancelled while waiting. (A volume named on its own uses CreateSnapshot,
 * which the lab does not speak yet: see test/moto.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type CustodyConfig } from '../../../src/providers/config.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { addInstance, demoScenario, startLab, type LabInstance, type RunningLab } from '../../../src/lab/index.js';
import { createAwsProvider } from '../../../src/providers/aws/index.js';
import { contextFor, manifestArtifacts, MemoryRecorder } from './helpers.js';

const REGION = 'us-east-1';
let lab: RunningLab;
let config: CustodyConfig;

function instanceNamed(name: string): LabInstance {
  const found = [...lab.state.region(REGION).instances.values()].find((i) => i.tags.Name === name);
  if (!found) throw new Error(`no ${name} in the lab`);
  return found;
}

function provider(overrides: Partial<NonNullable<CustodyConfig['aws']>> = {}) {
  return createAwsProvider(
    { ...config, aws: { ...config.aws!, ...overrides } },
    { credentials: async () => lab.orchestratorCredentials, wait: { initialDelayMs: 20, maxDelayMs: 100 } },
  );
}

beforeAll(async () => {
  lab = await startLab(demoScenario({ snapshotDurationMs: 100 }));
  config = parseConfig({
    aws: {
      forensicsAccount: lab.forensicsAccount,
      region: REGION,
      allowedAccounts: ['222222222222', '333333333333'],
      endpoints: { sts: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint },
    },
  });
});

afterAll(async () => {
  await lab?.stop();
});

describe('AWS provider options', () => {
  it('--preserve turns on termination protection and keeps the volumes on termination, recording before and after', async () => {
    const host = addInstance(lab.state, '333333333333', REGION, {
      tags: { Name: 'preserve-me', ForensicsEnabled: 'true' },
      volumes: [
        { sizeGiB: 8, encryption: 'aws/ebs', tags: { ForensicsEnabled: 'true' } },
        { sizeGiB: 16, encryption: 'none', tags: { ForensicsEnabled: 'true' }, deleteOnTermination: true },
      ],
      consoleOutput: 'preserve-me login: ',
    });
    const aws = provider({ transfer: 'in-place' });
    const recorder = new MemoryRecorder('IR-preserve');
    const outcome = await aws.collect(parseTarget(`arn:aws:ec2:${REGION}:333333333333:instance/${host.id}`), contextFor(recorder, { preserve: true, screenshot: true }));
    await aws.close?.();
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(host.disableApiTermination).toBe(true);
    expect(host.blockDevices.every((d) => d.deleteOnTermination === false)).toBe(true);
    const applied = recorder.ofType('change.applied');
    expect(applied.map((e) => e.data.attribute)).toEqual(['disableApiTermination', 'deleteOnTermination']);
    expect((applied[1]!.data.volumes as Array<{ before: unknown; after: unknown }>).every((v) => v.after === false)).toBe(true);
    const types = recorder.types();
    expect(types.indexOf('change.requested')).toBeLessThan(types.indexOf('change.applied'));
    // Preserving comes before the snapshot, and the screenshot was taken with the console output.
    expect(types.lastIndexOf('change.applied')).toBeLessThan(types.indexOf('snapshot.requested'));
    expect(recorder.ofType('evidence.stored').map((e) => e.data.name)).toEqual(expect.arrayContaining(['console-output.txt', 'console-screenshot.jpg']));
  });

  it('transfer "share" stops once the forensics account may use the snapshot, without copying it', async () => {
    const aws = provider({ transfer: 'share' });
    const recorder = new MemoryRecorder('IR-share');
    const api = instanceNamed('api-01');
    const outcome = await aws.collect(parseTarget(`arn:aws:ec2:${REGION}:333333333333:instance/${api.id}`), contextFor(recorder));
    await aws.close?.();
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(recorder.ofType('snapshot.shared')).toHaveLength(1);
    expect(recorder.ofType('snapshot.copied').map((e) => e.data.role)).toEqual(['reencrypted']);
    expect(manifestArtifacts(recorder.log)[0]!.cloudIds.forensicsSnapshotId).toBeUndefined();
  });
});

describe('--preserve records what EC2 reports, read before and read back after', () => {
  const TAGGED = { ForensicsEnabled: 'true' };
  const arnOf = (host: LabInstance) => `arn:aws:ec2:${REGION}:333333333333:instance/${host.id}`;
  const preserveHost = (name: string, extra: { disableApiTermination?: boolean } = {}) =>
    addInstance(lab.state, '333333333333', REGION, {
      tags: { Name: name, ...TAGGED },
      volumes: [
        { sizeGiB: 8, encryption: 'none', tags: TAGGED, deleteOnTermination: true },
        { sizeGiB: 8, encryption: 'none', tags: TAGGED, deleteOnTermination: true },
      ],
      consoleOutput: `${name} login: `,
      ...extra,
    });
  const collect = async (host: LabInstance, caseId: string) => {
    const aws = provider({ transfer: 'in-place' });
    const recorder = new MemoryRecorder(caseId);
    const outcome = await aws.collect(parseTarget(arnOf(host)), contextFor(recorder, { preserve: true }));
    await aws.close?.();
    return { outcome, recorder };
  };
  const changes = (recorder: MemoryRecorder) =>
    recorder.log.filter((e) => e.type.startsWith('change.') || e.type === 'step.failed').map((e) => `${e.type}:${String(e.data.attribute ?? e.data.step)}`);

  it('termination protection off before is read as false, and the applied entries carry the values EC2 reports with the read-back request ids', async () => {
    const host = preserveHost('readback-01');
    const { outcome, recorder } = await collect(host, 'IR-readback-1');
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(changes(recorder)).toEqual([
      'change.requested:disableApiTermination',
      'change.applied:disableApiTermination',
      'change.requested:deleteOnTermination',
      'change.applied:deleteOnTermination',
    ]);
    const [protectionAsked, volumesAsked] = recorder.ofType('change.requested').map((r) => r.data);
    expect(protectionAsked).toMatchObject({ attribute: 'disableApiTermination', before: false, after: true, beforeRequestId: expect.any(String) });
    expect(volumesAsked).toMatchObject({ attribute: 'deleteOnTermination', volumes: host.blockDevices.map((d) => ({ volumeId: d.volumeId, before: true, after: false })) });
    const [protection, volumes] = recorder.ofType('change.applied').map((a) => a.data);
    expect(protection).toMatchObject({
      attribute: 'disableApiTermination',
      instanceId: host.id,
      before: false,
      after: true,
      confirmed: { disableApiTermination: true },
      requestId: expect.any(String),
      confirmRequestId: expect.any(String),
    });
    // Three calls, three request ids: the read before, the change, the read back.
    expect(new Set([protection!.beforeRequestId, protection!.requestId, protection!.confirmRequestId]).size).toBe(3);
    expect(volumes).toMatchObject({
      attribute: 'deleteOnTermination',
      volumes: host.blockDevices.map((d) => ({ deviceName: d.deviceName, volumeId: d.volumeId, before: true, after: false })),
      confirmed: { deleteOnTermination: Object.fromEntries(host.blockDevices.map((d) => [d.volumeId, false])) },
      confirmRequestId: expect.any(String),
    });
    expect(volumes!.confirmRequestId).not.toBe(volumes!.requestId);
    expect(recorder.ofType('change.unconfirmed')).toEqual([]);
  });

  it('protection that was already on is not asked for again: no ModifyInstanceAttribute for it, and change.found-in-effect names the read that showed it', async () => {
    const host = preserveHost('readback-02', { disableApiTermination: true });
    const modifiesBefore = lab.control.totalCalls('ec2:ModifyInstanceAttribute');
    const { outcome, recorder } = await collect(host, 'IR-readback-2');
    expect(outcome.status, outcome.reason).toBe('collected');
    // Only the DeleteOnTermination change is sent.
    expect(lab.control.totalCalls('ec2:ModifyInstanceAttribute') - modifiesBefore).toBe(1);
    expect(changes(recorder)).toEqual(['change.found-in-effect:disableApiTermination', 'change.requested:deleteOnTermination', 'change.applied:deleteOnTermination']);
    expect(recorder.ofType('change.found-in-effect')[0]!.data).toEqual({
      attribute: 'disableApiTermination',
      instanceId: host.id,
      value: true,
      requested: true,
      readBy: 'ec2:DescribeInstanceAttribute',
      readRequestId: expect.any(String),
    });
  });

  it('a resumed case asks for nothing already in effect: no ModifyInstanceAttribute call at all, and the ledger says each attribute was found as asked, with the request id of the read', async () => {
    const host = preserveHost('readback-06');
    const { outcome: first, recorder: earlier } = await collect(host, 'IR-readback-6');
    expect(first.status, first.reason).toBe('collected');
    expect(host.disableApiTermination).toBe(true);

    const modifiesBefore = lab.control.totalCalls('ec2:ModifyInstanceAttribute');
    const aws = provider({ transfer: 'in-place' });
    const resumed = new MemoryRecorder('IR-readback-6', undefined, earlier.log);
    const from = resumed.log.length;
    const outcome = await aws.collect(parseTarget(arnOf(host)), contextFor(resumed, { preserve: true }));
    await aws.close?.();
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(lab.control.totalCalls('ec2:ModifyInstanceAttribute') - modifiesBefore).toBe(0);
    const now = resumed.log.slice(from).filter((e) => e.type.startsWith('change.'));
    expect(now.map((e) => `${e.type}:${String(e.data.attribute)}`)).toEqual(['change.found-in-effect:disableApiTermination', 'change.found-in-effect:deleteOnTermination']);
    expect(now[0]!.data).toMatchObject({ value: true, requested: true, readBy: 'ec2:DescribeInstanceAttribute', readRequestId: expect.any(String) });
    expect(now[1]!.data).toMatchObject({
      requested: false,
      readBy: 'ec2:DescribeInstances',
      readRequestId: expect.any(String),
      volumes: host.blockDevices.map((d) => ({ deviceName: d.deviceName, volumeId: d.volumeId, value: false })),
    });
  });

  it('an instance that answers "true" and silently keeps its attributes: the target is partial, nothing is recorded as applied, and the ledger says what EC2 reports', async () => {
    const host = preserveHost('readback-03');
    lab.control.ignoreAttributeChanges(host.id);
    const { outcome, recorder } = await collect(host, 'IR-readback-3');
    expect(host.disableApiTermination).toBe(false);
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain('preserve-termination-protection');
    expect(changes(recorder)).toEqual([
      'change.requested:disableApiTermination',
      'change.unconfirmed:disableApiTermination',
      'step.failed:preserve-termination-protection',
      'change.requested:deleteOnTermination',
      'change.unconfirmed:deleteOnTermination',
      'step.failed:preserve-volumes',
    ]);
    const [protection, volumes] = recorder.ofType('change.unconfirmed').map((e) => e.data);
    expect(protection).toMatchObject({ attribute: 'disableApiTermination', instanceId: host.id, before: false, requested: true, after: false, confirmed: { disableApiTermination: false } });
    expect(volumes).toMatchObject({
      attribute: 'deleteOnTermination',
      requested: false,
      volumes: host.blockDevices.map((d) => ({ volumeId: d.volumeId, before: true, after: true })),
      confirmed: { deleteOnTermination: Object.fromEntries(host.blockDevices.map((d) => [d.volumeId, true])) },
    });
    const failures = recorder.ofType('step.failed').map((e) => e.data.error as { code: string; message: string; action: string; resource: string; requestId: string });
    expect(failures[0]).toMatchObject({ code: 'E_CLOUD', action: 'ec2:ModifyInstanceAttribute', resource: arnOf(host), requestId: protection!.confirmRequestId });
    expect(failures[0]!.message).toContain(`instance ${host.id}`);
    expect(failures[0]!.message).toContain('disableApiTermination');
    for (const d of host.blockDevices) expect(failures[1]!.message).toContain(d.volumeId);
    // The evidence is still taken: the snapshot goes ahead after the failed preserve steps.
    expect(recorder.ofType('snapshot.created')).toHaveLength(1);
  });

  it('a refused read before the change does not stop the protection: before is recorded as not read, with the refusal', async () => {
    const host = preserveHost('readback-04');
    lab.control.failNext({ action: 'ec2:DescribeInstanceAttribute', code: 'UnauthorizedOperation', status: 403, message: 'You are not authorized to perform this operation.' });
    const { outcome, recorder } = await collect(host, 'IR-readback-4');
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(host.disableApiTermination).toBe(true);
    expect(recorder.ofType('change.applied')[0]!.data).toMatchObject({
      attribute: 'disableApiTermination',
      before: null,
      beforeRequestId: null,
      beforeReadError: { code: 'E_ACCESS_DENIED', action: 'ec2:DescribeInstanceAttribute' },
      after: true,
      confirmed: { disableApiTermination: true },
    });
  });

  it('a read-back refused after EC2 made the change keeps ModifyInstanceAttribute\'s request id: change.unconfirmed with after null and the read\'s error, and the target is partial', async () => {
    const host = preserveHost('readback-05');
    // Both reads of termination protection refused (before and after); the change itself is allowed.
    lab.control.failNext({ action: 'ec2:DescribeInstanceAttribute', code: 'UnauthorizedOperation', status: 403, message: 'You are not authorized to perform this operation.', count: 2 });
    const { outcome, recorder } = await collect(host, 'IR-readback-5');
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(host.disableApiTermination).toBe(true);
    expect(recorder.ofType('change.applied').filter((e) => e.data.attribute === 'disableApiTermination')).toEqual([]);
    const unconfirmed = recorder.ofType('change.unconfirmed');
    expect(unconfirmed).toHaveLength(1);
    expect(unconfirmed[0]!.data).toMatchObject({
      attribute: 'disableApiTermination',
      before: null,
      after: null,
      requested: true,
      confirmed: null,
      readBackError: { code: 'E_ACCESS_DENIED', action: 'ec2:DescribeInstanceAttribute' },
    });
    expect(unconfirmed[0]!.data.requestId).toEqual(expect.any(String));
    const failed = recorder.ofType('step.failed').filter((e) => e.data.step === 'preserve-termination-protection');
    expect(failed.map((e) => (e.data.error as { action?: string }).action)).toEqual(['ec2:DescribeInstanceAttribute']);
  });
});

describe('a cancelled run', () => {
  it('stops waiting for a slow snapshot, says so, and leaves the snapshot for a resumed run', async () => {
    const slow = await startLab(demoScenario({ snapshotDurationMs: 10 * 60_000 }));
    try {
      const aws = createAwsProvider(
        parseConfig({
          aws: {
            forensicsAccount: slow.forensicsAccount,
            region: REGION,
            allowedAccounts: ['333333333333'],
            endpoints: { sts: slow.endpoint, ec2: slow.endpoint, kms: slow.endpoint },
          },
        }),
        { credentials: async () => slow.orchestratorCredentials, wait: { initialDelayMs: 20, maxDelayMs: 50 } },
      );
      const api = [...slow.state.region(REGION).instances.values()].find((i) => i.tags.Name === 'api-01')!;
      const recorder = new MemoryRecorder('IR-cancel');
      const controller = new AbortController();
      const ctx = { ...contextFor(recorder), signal: controller.signal };
      const running = aws.collect(parseTarget(`arn:aws:ec2:${REGION}:333333333333:instance/${api.id}`), ctx);
      await new Promise<void>((resolve) => {
        const check = () => (recorder.ofType('snapshot.created').length > 0 ? resolve() : setTimeout(check, 10));
        check();
      });
      controller.abort();
      const outcome = await running;
      await aws.close?.();
      // The snapshot exists (pending, it continues in AWS): partial, and the manifest names it.
      expect(outcome.status).toBe('partial');
      expect(outcome.reason).toMatch(/cancelled/);
      expect(outcome.reason).toMatch(/what exists \(in the manifest\): vol-\w+: source snapshot snap-\w+ exists(;|$)/);
      expect(manifestArtifacts(recorder.log)).toHaveLength(1);
      expect([...slow.state.region(REGION).snapshots.values()].filter((s) => s.tags.CaseId === 'IR-cancel')).toHaveLength(1);
    } finally {
      await slow.stop();
    }
  });
});

describe('another region', () => {
  it('an instance in us-west-2 is re-encrypted there and copied across into the forensics region', async () => {
    const scenario = demoScenario({ snapshotDurationMs: 50 });
    const account = scenario.accounts.find((a) => a.id === '333333333333')!;
    account.keys = [...(account.keys ?? []), { alias: 'alias/cloud-custody-share', region: 'us-west-2', allowedAccounts: [scenario.forensicsAccount] }];
    account.instances = [
      ...(account.instances ?? []),
      {
        region: 'us-west-2',
        tags: { Name: 'west-01', ForensicsEnabled: 'true' },
        volumes: [{ sizeGiB: 8, encryption: 'aws/ebs', tags: { ForensicsEnabled: 'true' } }],
        consoleOutput: 'west-01 login: ',
      },
    ];
    const west = await startLab(scenario);
    try {
      const aws = createAwsProvider(
        parseConfig({
          aws: {
            forensicsAccount: west.forensicsAccount,
            region: REGION,
            regions: [REGION, 'us-west-2'],
            allowedAccounts: ['333333333333'],
            endpoints: { sts: west.endpoint, ec2: west.endpoint, kms: west.endpoint },
          },
        }),
        { credentials: async () => west.orchestratorCredentials, wait: { initialDelayMs: 20, maxDelayMs: 50 } },
      );
      const host = [...west.state.region('us-west-2').instances.values()].find((i) => i.tags.Name === 'west-01')!;
      const recorder = new MemoryRecorder('IR-west');
      const outcome = await aws.collect(parseTarget(`arn:aws:ec2:us-west-2:333333333333:instance/${host.id}`), contextFor(recorder));
      await aws.close?.();
      expect(outcome.status, outcome.reason).toBe('collected');
      const ids = manifestArtifacts(recorder.log)[0]!.cloudIds;
      expect(west.state.region('us-west-2').snapshots.get(ids.reencryptedSnapshotId!)?.ownerId).toBe('333333333333');
      const kept = west.state.region(REGION).snapshots.get(ids.forensicsSnapshotId!)!;
      expect(kept.ownerId).toBe('111111111111');
      expect(recorder.ofType('snapshot.requested').find((e) => e.data.role === 'forensics')!.data).toMatchObject({ sourceRegion: 'us-west-2' });
    } finally {
      await west.stop();
    }
  });
});
