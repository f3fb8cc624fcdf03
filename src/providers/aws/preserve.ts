/**
 * `--preserve`: termination protection on, and DeleteOnTermination off for every attached
 * volume, so the evidence survives someone terminating the instance. Each change is recorded
 * with its before and after values; nothing else about the instance is touched.
 */
import { ModifyInstanceAttributeCommand, type Instance } from '@aws-sdk/client-ec2';
import { recordMutation } from '../../core/kernel.js';
import type { AwsInstanceTarget } from './targets.js';
import { runStep, type TargetRun } from './run.js';

export async function preserveInstance(run: TargetRun<AwsInstanceTarget>, instance: Instance): Promise<void> {
  const { target } = run;
  await runStep(run, 'preserve-termination-protection', async () => {
    const change = { attribute: 'disableApiTermination', instanceId: target.instanceId };
    // DescribeInstances does not report this attribute; the before value is not read (no extra permission).
    await recordMutation(
      run.recorder,
      target.arn,
      { type: 'change.requested', data: { ...change, before: null, after: true } },
      () =>
        run.scope.caller.ec2(
          'preserveInstance',
          new ModifyInstanceAttributeCommand({ InstanceId: target.instanceId, DisableApiTermination: { Value: true } }),
          target.arn,
          run.signal,
        ),
      ({ requestId }) => ({ type: 'change.applied', data: { ...change, before: null, after: true, requestId: requestId ?? null } }),
    );
  });

  const mappings = (instance.BlockDeviceMappings ?? []).filter((m) => m.DeviceName && m.Ebs?.VolumeId);
  const toChange = mappings.filter((m) => m.Ebs?.DeleteOnTermination !== false);
  if (toChange.length === 0) return;
  await runStep(run, 'preserve-volumes', async () => {
    const volumes = toChange.map((m) => ({ deviceName: m.DeviceName as string, volumeId: m.Ebs?.VolumeId as string, before: m.Ebs?.DeleteOnTermination ?? null, after: false }));
    const change = { attribute: 'deleteOnTermination', instanceId: target.instanceId, volumes };
    await recordMutation(
      run.recorder,
      target.arn,
      { type: 'change.requested', data: change },
      () =>
        run.scope.caller.ec2(
          'preserveInstance',
          new ModifyInstanceAttributeCommand({
            InstanceId: target.instanceId,
            BlockDeviceMappings: volumes.map((v) => ({ DeviceName: v.deviceName, Ebs: { VolumeId: v.volumeId, DeleteOnTermination: false } })),
          }),
          target.arn,
          run.signal,
        ),
      ({ requestId }) => ({ type: 'change.applied', data: { ...change, requestId: requestId ?? null } }),
    );
  });
}
