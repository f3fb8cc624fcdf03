/**
 * An EKS node → its EC2 instance target, as text the registry parses back. The partition comes
 * from the region (GovCloud and China nodes get `aws-us-gov` / `aws-cn` ARNs).
 */
import type { NodeMachine, NodeMapping } from '../../core/provider-module.js';
import { AWS_REGION, partitionOfRegion } from '../shared/aws-names.js';
import { parseProviderId, regionOfZone } from '../shared/provider-id.js';

export function mapAwsNode(machine: NodeMachine): NodeMapping | undefined {
  if (!machine.providerID.startsWith('aws://')) return undefined;
  const parsed = parseProviderId(machine.providerID);
  if (parsed.cloud === 'aws-fargate') {
    return { notMapped: 'a Fargate node has no EC2 instance or EBS volume of the account to snapshot', data: { cloud: 'aws-fargate' } };
  }
  if (parsed.cloud !== 'aws') return { notMapped: parsed.cloud === 'unknown' ? parsed.reason : 'not an EC2 instance', data: {} };
  const account = machine.hints.account;
  const region = machine.hints.region ?? (parsed.zone ? regionOfZone(parsed.zone) : undefined);
  if (!account || !region || !AWS_REGION.test(region)) {
    return {
      notMapped: `the node's ${account ? 'region' : 'AWS account'} is unknown: set nodeAccount and nodeRegion (or eks) for cluster "${machine.cluster}"`,
      data: { cloud: 'aws', instanceId: parsed.instanceId },
    };
  }
  const arn = `arn:${partitionOfRegion(region)}:ec2:${region}:${account}:instance/${parsed.instanceId}`;
  return { followUp: arn, data: { cloud: 'aws', instanceId: parsed.instanceId, zone: parsed.zone ?? null } };
}
