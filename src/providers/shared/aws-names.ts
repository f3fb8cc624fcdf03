/**
 * AWS name syntax both the AWS provider and the Kubernetes provider (EKS clusters, node
 * accounts) validate: a shared service of the registry, so neither imports the other.
 */
import { z } from 'zod';

export const AWS_ACCOUNT = /^\d{12}$/;
export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
export const AWS_PARTITIONS = new Set(['aws', 'aws-cn', 'aws-us-gov']);
/** EC2 instance and EBS volume ids: the prefix and 8 (older) or 17 hex digits. */
export const EC2_INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const EBS_VOLUME_ID = /^vol-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

export const awsAccountId = z.string().regex(AWS_ACCOUNT, 'must be a 12-digit AWS account id');
export const awsRegion = z.string().regex(AWS_REGION, 'must be an AWS region such as us-east-1');

/** The partition a region belongs to (GovCloud and China regions have their own). */
export function partitionOfRegion(region: string): string {
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('cn-')) return 'aws-cn';
  return 'aws';
}

/**
 * The collector role in `account`: `collectorRole` is a role name, or an ARN pattern with
 * `{account}` (default `CloudCustodyCollector`).
 */
export function collectorRoleArn(collectorRole: string | undefined, account: string, partition = 'aws'): string {
  const role = collectorRole ?? 'CloudCustodyCollector';
  return role.startsWith('arn:') ? role.replaceAll('{account}', account) : `arn:${partition}:iam::${account}:role/${role}`;
}
