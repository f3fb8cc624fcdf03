/**
 * `--preserve`: termination protection on, and DeleteOnTermination off for every attached
 * volume, so the evidence survives someone terminating the instance. Each change is recorded
 * with its before and after values as EC2 reports them: ModifyInstanceAttribute answers only
 * `return true`, so the value is read before the change and read back after it, and a change EC2
 * accepted but does not report is a failed step, never an applied one. An attribute the read
 * before shows already as asked (a resumed run, a second case on a protected instance) is not
 * changed again: ModifyInstanceAttribute is not called, and `change.found-in-effect` records the
 * value with the request id of the read that showed it. Nothing else about the instance is touched.
 */
import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, ModifyInstanceAttributeCommand, type Instance } from '@aws-sdk/client-ec2';
import { CustodyError } from '../../core/errors.js';
import { isStopSignal, recordMutation } from '../../core/kernel.js';
import type { AwsInstanceTarget } from './targets.js';
import { runStep, type TargetRun } from './run.js';
import type { Described } from './describe.js';

/** A value as EC2 reported it, with the request id of the read. */
interface Reading<T> {
  value: T;
  requestId: string | null;
}

async function readTerminationProtection(run: TargetRun<AwsInstanceTarget>): Promise<Reading<boolean | null>> {
  const { output, requestId } = await run.scope.caller.ec2(
    'describeInstanceAttribute',
    new DescribeInstanceAttributeCommand({ InstanceId: run.target.instanceId, Attribute: 'disableApiTermination' }),
    run.target.arn,
    run.signal,
  );
  return { value: output.DisableApiTermination?.Value ?? null, requestId: requestId ?? null };
}

/** DeleteOnTermination of every EBS mapping, by device name, from a fresh DescribeInstances. */
async function readDeleteOnTermination(run: TargetRun<AwsInstanceTarget>): Promise<Reading<Map<string, boolean | null>>> {
  const { output, requestId } = await run.scope.caller.ec2(
    'describeInstances',
    new DescribeInstancesCommand({ InstanceIds: [run.target.instanceId] }),
    run.target.arn,
    run.signal,
  );
  const instance = (output.Reservations ?? []).flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === run.target.instanceId);
  const byDevice = new Map<string, boolean | null>();
  for (const m of instance?.BlockDeviceMappings ?? []) if (m.DeviceName) byDevice.set(m.DeviceName, m.Ebs?.DeleteOnTermination ?? null);
  return { value: byDevice, requestId: requestId ?? null };
}

/**
 * A change EC2 accepted that its read-back does not show: recorded as `change.unconfirmed` with
 * what EC2 reports, then the step fails with an error naming the attribute and the instance.
 */
async function refuteChange(run: TargetRun<AwsInstanceTarget>, data: Record<string, unknown>, message: string, confirmRequestId: string | null): Promise<never> {
  await run.recorder.record('change.unconfirmed', data, run.target.arn);
  throw new CustodyError('E_CLOUD', `${message}: the change is not in effect (check the instance, and set it by hand if it must be)`, {
    action: 'ec2:ModifyInstanceAttribute',
    resource: run.target.arn,
    ...(confirmRequestId ? { requestId: confirmRequestId } : {}),
  });
}

/**
 * The read-back after a change EC2 answered. If it fails (refused, throttled out), the change was
 * made but is not confirmed: `change.unconfirmed` records ModifyInstanceAttribute's request id with
 * `after: null` and the read's error, so the ledger keeps the answer of the call that changed the
 * instance; then the read's own error fails the step.
 */
async function readBackOrRecord<T>(run: TargetRun<AwsInstanceTarget>, read: () => Promise<Reading<T>>, sent: Record<string, unknown>): Promise<Reading<T>> {
  try {
    return await read();
  } catch (error) {
    if (isStopSignal(error) || !(error instanceof CustodyError)) throw error;
    await run.recorder.record('change.unconfirmed', { ...sent, confirmed: null, readBackError: error.toRecord() }, run.target.arn);
    throw error;
  }
}

/**
 * `described` is the instance as the describe step read it: the DeleteOnTermination values before
 * the change, and the request id that read them.
 */
export async function preserveInstance(run: TargetRun<AwsInstanceTarget>, described: Described<Instance>): Promise<void> {
  const { target } = run;
  const instance = described.value;
  await runStep(run, 'preserve-termination-protection', async () => {
    const change = { attribute: 'disableApiTermination', instanceId: target.instanceId };
    // The value before is read, not assumed. If the read is refused (a role deployed before this
    // permission), protecting the instance still matters more: the change goes ahead with the
    // before value recorded as not read, and the read-back below fails the step for the same reason.
    let before: Reading<boolean | null> & { error?: Record<string, unknown> };
    try {
      before = await readTerminationProtection(run);
    } catch (error) {
      if (isStopSignal(error) || !(error instanceof CustodyError)) throw error;
      before = { value: null, requestId: null, error: error.toRecord() };
    }
    if (before.value === true) {
      // Asking again would change nothing and record a change that did not happen.
      await run.recorder.record(
        'change.found-in-effect',
        { ...change, value: true, requested: true, readBy: 'ec2:DescribeInstanceAttribute', readRequestId: before.requestId },
        target.arn,
      );
      return;
    }
    const read = { before: before.value, beforeRequestId: before.requestId, ...(before.error ? { beforeReadError: before.error } : {}) };
    await recordMutation(
      run.recorder,
      target.arn,
      { type: 'change.requested', data: { ...change, ...read, after: true } },
      async () => {
        const { requestId } = await run.scope.caller.ec2(
          'preserveInstance',
          new ModifyInstanceAttributeCommand({ InstanceId: target.instanceId, DisableApiTermination: { Value: true } }),
          target.arn,
          run.signal,
        );
        const after = await readBackOrRecord(run, () => readTerminationProtection(run), { ...change, ...read, after: null, requestId: requestId ?? null, requested: true });
        const reported = { ...change, ...read, after: after.value, requestId: requestId ?? null, confirmed: { disableApiTermination: after.value }, confirmRequestId: after.requestId };
        if (after.value !== true) {
          await refuteChange(
            run,
            { ...reported, requested: true },
            `instance ${target.instanceId}: EC2 accepted disableApiTermination=true (ModifyInstanceAttribute) but DescribeInstanceAttribute reports disableApiTermination=${String(after.value)}`,
            after.requestId,
          );
        }
        return reported;
      },
      (reported) => ({ type: 'change.applied', data: reported }),
    );
  });

  const mappings = (instance.BlockDeviceMappings ?? []).filter((m) => m.DeviceName && m.Ebs?.VolumeId);
  const toChange = mappings.filter((m) => m.Ebs?.DeleteOnTermination !== false);
  const alreadyKept = mappings.filter((m) => m.Ebs?.DeleteOnTermination === false);
  if (alreadyKept.length > 0) {
    // Volumes the instance already keeps on termination are left out of the change, and said so.
    await run.recorder.record(
      'change.found-in-effect',
      {
        attribute: 'deleteOnTermination',
        instanceId: target.instanceId,
        volumes: alreadyKept.map((m) => ({ deviceName: m.DeviceName as string, volumeId: m.Ebs?.VolumeId as string, value: false })),
        requested: false,
        readBy: 'ec2:DescribeInstances',
        readRequestId: described.requestId ?? null,
        readAt: described.describedAt,
      },
      target.arn,
    );
  }
  if (toChange.length === 0) return;
  await runStep(run, 'preserve-volumes', async () => {
    const volumes = toChange.map((m) => ({ deviceName: m.DeviceName as string, volumeId: m.Ebs?.VolumeId as string, before: m.Ebs?.DeleteOnTermination ?? null, after: false }));
    const change = { attribute: 'deleteOnTermination', instanceId: target.instanceId, volumes };
    await recordMutation(
      run.recorder,
      target.arn,
      { type: 'change.requested', data: change },
      async () => {
        const { requestId } = await run.scope.caller.ec2(
          'preserveInstance',
          new ModifyInstanceAttributeCommand({
            InstanceId: target.instanceId,
            BlockDeviceMappings: volumes.map((v) => ({ DeviceName: v.deviceName, Ebs: { VolumeId: v.volumeId, DeleteOnTermination: false } })),
          }),
          target.arn,
          run.signal,
        );
        const read = await readBackOrRecord(run, () => readDeleteOnTermination(run), {
          ...change,
          volumes: volumes.map((v) => ({ ...v, after: null })),
          requestId: requestId ?? null,
          requested: false,
        });
        const reportedVolumes = volumes.map((v) => ({ ...v, after: read.value.get(v.deviceName) ?? null }));
        const reported = {
          ...change,
          volumes: reportedVolumes,
          requestId: requestId ?? null,
          confirmed: { deleteOnTermination: Object.fromEntries(reportedVolumes.map((v) => [v.volumeId, v.after])) },
          confirmRequestId: read.requestId,
        };
        const unchanged = reportedVolumes.filter((v) => v.after !== false).map((v) => `${v.volumeId} (${v.deviceName})`);
        if (unchanged.length > 0) {
          await refuteChange(
            run,
            { ...reported, requested: false },
            `instance ${target.instanceId}: EC2 accepted deleteOnTermination=false (ModifyInstanceAttribute) but DescribeInstances reports it is not false for ${unchanged.join(', ')}`,
            read.requestId,
          );
        }
        return reported;
      },
      (reported) => ({ type: 'change.applied', data: reported }),
    );
  });
}
