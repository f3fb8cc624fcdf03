/**
 * AWS target and selector syntax: EC2 instance and EBS volume ARNs, `tag:KEY=VALUE`. Parsing
 * is strict: a target that does not parse is refused before anything touches a cloud, with a
 * message that shows the expected form.
 */
import { CustodyError } from '../../core/errors.js';
import type { Selector, Target } from '../../core/targets.js';
import { AWS_ACCOUNT, AWS_PARTITIONS, AWS_REGION, EBS_VOLUME_ID as VOLUME_ID, EC2_INSTANCE_ID as INSTANCE_ID } from '../shared/aws-names.js';
import { emptyValueReason } from '../shared/selector-values.js';
import { consoleUrlError, isAwsConsoleUrl } from './console-url.js';

export interface AwsInstanceTarget extends Target {
  provider: 'aws';
  kind: 'aws-instance';
  arn: string;
  partition: string;
  region: string;
  account: string;
  instanceId: string;
}

export interface AwsVolumeTarget extends Target {
  provider: 'aws';
  kind: 'aws-volume';
  arn: string;
  partition: string;
  region: string;
  account: string;
  volumeId: string;
}

export type AwsTarget = AwsInstanceTarget | AwsVolumeTarget;

/** `tag:Key=Value`: every instance carrying that tag in the configured accounts and regions. */
export interface AwsTagSelector extends Selector {
  provider: 'aws';
  kind: 'aws-tag';
  tagKey: string;
  value: string;
}

export function isAwsTarget(target: Target): target is AwsTarget {
  return target.provider === 'aws' && (target.kind === 'aws-instance' || target.kind === 'aws-volume');
}

export function isAwsTagSelector(selector: Selector): selector is AwsTagSelector {
  return selector.provider === 'aws' && selector.kind === 'aws-tag';
}

const TAG_KEY = /^[\p{L}\p{N}\s_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{N}\s_.:/=+\-@]{0,256}$/u;

export const EC2_FORM = 'arn:aws:ec2:REGION:ACCOUNT:instance/i-… or arn:aws:ec2:REGION:ACCOUNT:volume/vol-…';
export const TAG_FORM = 'tag:KEY=VALUE';

function inputError(raw: string, expected: string, why: string, what: 'target' | 'selector' = 'target'): CustodyError {
  return new CustodyError('E_INPUT', `invalid ${what} "${raw}": ${why}. Expected ${expected}.`, { resource: raw });
}

/** An instance target from its parts (a selector's match, a Kubernetes node). */
export function instanceTarget(partition: string, region: string, account: string, instanceId: string): AwsInstanceTarget {
  const arn = `arn:${partition}:ec2:${region}:${account}:instance/${instanceId}`;
  return { provider: 'aws', kind: 'aws-instance', key: arn, arn, partition, region, account, instanceId };
}

/** Parses an EC2 instance or volume ARN. Throws `E_INPUT` with the expected form. */
export function parseEc2Arn(raw: string): AwsTarget {
  const parts = raw.split(':');
  if (parts.length !== 6) throw inputError(raw, EC2_FORM, 'an ARN has six colon-separated fields');
  const [, partition = '', service = '', region = '', account = '', resource = ''] = parts;
  if (!AWS_PARTITIONS.has(partition)) throw inputError(raw, EC2_FORM, `unknown partition "${partition}"`);
  if (service !== 'ec2') throw inputError(raw, EC2_FORM, `service is "${service}", not "ec2"`);
  if (!AWS_REGION.test(region)) throw inputError(raw, EC2_FORM, `"${region}" is not a region`);
  if (!AWS_ACCOUNT.test(account)) throw inputError(raw, EC2_FORM, `"${account}" is not a 12-digit account id`);
  const slash = resource.indexOf('/');
  const type = slash < 0 ? resource : resource.slice(0, slash);
  const id = slash < 0 ? '' : resource.slice(slash + 1);
  if (type === 'instance') {
    if (!INSTANCE_ID.test(id)) throw inputError(raw, EC2_FORM, `"${id}" is not an instance id (i- and 8 or 17 hex digits)`);
    return { provider: 'aws', kind: 'aws-instance', key: raw, arn: raw, partition, region, account, instanceId: id };
  }
  if (type === 'volume') {
    if (!VOLUME_ID.test(id)) throw inputError(raw, EC2_FORM, `"${id}" is not a volume id (vol- and 8 or 17 hex digits)`);
    return { provider: 'aws', kind: 'aws-volume', key: raw, arn: raw, partition, region, account, volumeId: id };
  }
  throw inputError(raw, EC2_FORM, `resource type "${type}" cannot be collected`);
}

/**
 * The registry's hook: an `arn:` is AWS's, and so is an AWS console URL, refused with the ARN to
 * give instead (it names no account); anything else is not.
 */
export function parseAwsTarget(raw: string): AwsTarget | undefined {
  const text = raw.trim();
  if (isAwsConsoleUrl(text)) throw consoleUrlError(raw, EC2_FORM);
  return text.startsWith('arn:') ? parseEc2Arn(text) : undefined;
}

/** `tag:KEY=VALUE`, or undefined when the text is not a tag selector. */
export function parseAwsSelector(raw: string): AwsTagSelector | undefined {
  const text = raw.trim();
  if (!text.startsWith('tag:')) return undefined;
  const body = text.slice('tag:'.length);
  const eq = body.indexOf('=');
  if (eq <= 0) throw inputError(raw, TAG_FORM, 'a tag selector needs KEY=VALUE', 'selector');
  const tagKey = body.slice(0, eq);
  const value = body.slice(eq + 1);
  if (!TAG_KEY.test(tagKey) || tagKey.toLowerCase().startsWith('aws:')) throw inputError(raw, TAG_FORM, `"${tagKey}" is not a valid tag key`, 'selector');
  if (value.trim() === '') throw inputError(raw, TAG_FORM, emptyValueReason('tag value'), 'selector');
  if (!TAG_VALUE.test(value)) throw inputError(raw, TAG_FORM, `"${value}" is not a valid tag value`, 'selector');
  return { provider: 'aws', kind: 'aws-tag', key: `tag:${tagKey}=${value}`, tagKey, value };
}
