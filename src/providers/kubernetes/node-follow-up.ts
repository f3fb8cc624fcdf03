/**
 * The pod's node → its cloud machine, as a follow-up target for that cloud's provider, so the
 * node's disks are preserved in the same case. EKS nodes become `aws-instance` targets; GKE and
 * AKS ids are parsed and recorded as not yet supported.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { AwsInstanceTarget } from '../../core/targets.js';
import type { PodRun } from './collect-pod.js';
import { parseProviderId, regionOfZone } from './provider-id.js';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Records how the node maps to a cloud machine; returns the target to collect, if any. */
export async function nodeFollowUp(run: PodRun, node: V1Node): Promise<AwsInstanceTarget | undefined> {
  const { recorder } = run.ctx;
  const nodeName = node.metadata?.name ?? '';
  const providerID = node.spec?.providerID;
  const parsed = parseProviderId(providerID);
  const base = { node: nodeName, providerID: providerID ?? null };
  switch (parsed.cloud) {
    case 'aws': {
      const account = run.cluster.nodeAccount ?? run.cluster.eks?.account;
      const zoneRegion = parsed.zone ? regionOfZone(parsed.zone) : undefined;
      const region = run.cluster.nodeRegion ?? run.cluster.eks?.region ?? zoneRegion;
      if (!account || !region || !REGION.test(region)) {
        await recorder.record(
          'node.not-mapped',
          { ...base, cloud: 'aws', instanceId: parsed.instanceId, reason: `the node's ${account ? 'region' : 'AWS account'} is unknown: set nodeAccount and nodeRegion (or eks) for cluster "${run.target.cluster}"` },
          run.key,
        );
        return undefined;
      }
      const arn = `arn:aws:ec2:${region}:${account}:instance/${parsed.instanceId}`;
      await recorder.record('node.mapped', { ...base, cloud: 'aws', instanceId: parsed.instanceId, zone: parsed.zone ?? null, followUp: arn }, run.key);
      return { kind: 'aws-instance', arn, partition: 'aws', region, account, instanceId: parsed.instanceId };
    }
    case 'gce':
    case 'azure':
      await recorder.record('node.not-mapped', { ...base, cloud: parsed.cloud, parsed, reason: 'provider not yet supported: preserve the node disk with the cloud console or its own tooling' }, run.key);
      return undefined;
    case 'aws-fargate':
      await recorder.record('node.not-mapped', { ...base, cloud: 'aws-fargate', reason: 'a Fargate node has no EC2 instance or EBS volume of the account to snapshot' }, run.key);
      return undefined;
    default:
      await recorder.record('node.not-mapped', { ...base, reason: parsed.reason }, run.key);
      return undefined;
  }
}
