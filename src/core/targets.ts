import { CustodyError } from './errors.js';

/**
 * What a responder can name on the command line. Parsing is strict: a target that does not
 * parse is refused before anything touches a cloud, with a message that shows the expected form.
 */
export type Target = AwsInstanceTarget | AwsVolumeTarget | KubernetesPodTarget;
export type Selector = AwsTagSelector | KubernetesLabelSelector;

export interface AwsInstanceTarget {
  kind: 'aws-instance';
  arn: string;
  partition: string;
  region: string;
  account: string;
  instanceId: string;
}

export interface AwsVolumeTarget {
  kind: 'aws-volume';
  arn: string;
  partition: string;
  region: string;
  account: string;
  volumeId: string;
}

export interface KubernetesPodTarget {
  kind: 'k8s-pod';
  cluster: string;
  namespace: string;
  pod: string;
  /** When set, only this container's evidence is taken (the pod's facts are always taken). */
  container?: string;
}

/** `tag:Key=Value`: every instance carrying that tag in the configured accounts and regions. */
export interface AwsTagSelector {
  kind: 'aws-tag';
  key: string;
  value: string;
}

/** `k8s:CLUSTER/NAMESPACE?labels=app=api,tier=web` */
export interface KubernetesLabelSelector {
  kind: 'k8s-labels';
  cluster: string;
  namespace: string;
  labelSelector: string;
}

const PARTITIONS = new Set(['aws', 'aws-cn', 'aws-us-gov']);
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ACCOUNT = /^\d{12}$/;
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const VOLUME_ID = /^vol-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
// RFC 1123 labels, as Kubernetes requires for namespaces and pod names.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const TAG_KEY = /^[\p{L}\p{N}\s_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{N}\s_.:/=+\-@]{0,256}$/u;

function inputError(raw: string, expected: string, why: string, what: 'target' | 'selector' = 'target'): CustodyError {
  return new CustodyError('E_INPUT', `invalid ${what} "${raw}": ${why}. Expected ${expected}.`, {
    resource: raw,
  });
}

const EC2_FORM = 'arn:aws:ec2:REGION:ACCOUNT:instance/i-... or arn:aws:ec2:REGION:ACCOUNT:volume/vol-...';
const K8S_FORM = 'k8s:CLUSTER/NAMESPACE/POD[/CONTAINER]';

/** Parses one target named on the command line. Throws `E_INPUT` with the expected form. */
export function parseTarget(raw: string): Target {
  const text = raw.trim();
  if (text.startsWith('arn:')) return parseEc2Arn(text);
  if (text.startsWith('k8s:')) return parsePodTarget(text);
  throw inputError(raw, `${EC2_FORM}, or ${K8S_FORM}`, 'unrecognised form');
}

export function parseEc2Arn(raw: string): AwsInstanceTarget | AwsVolumeTarget {
  const parts = raw.split(':');
  if (parts.length !== 6) throw inputError(raw, EC2_FORM, 'an ARN has six colon-separated fields');
  const [, partition = '', service = '', region = '', account = '', resource = ''] = parts;
  if (!PARTITIONS.has(partition)) throw inputError(raw, EC2_FORM, `unknown partition "${partition}"`);
  if (service !== 'ec2') throw inputError(raw, EC2_FORM, `service is "${service}", not "ec2"`);
  if (!REGION.test(region)) throw inputError(raw, EC2_FORM, `"${region}" is not a region`);
  if (!ACCOUNT.test(account)) throw inputError(raw, EC2_FORM, `"${account}" is not a 12-digit account id`);
  const slash = resource.indexOf('/');
  const type = slash < 0 ? resource : resource.slice(0, slash);
  const id = slash < 0 ? '' : resource.slice(slash + 1);
  if (type === 'instance') {
    if (!INSTANCE_ID.test(id)) throw inputError(raw, EC2_FORM, `"${id}" is not an instance id (i- and 8 or 17 hex digits)`);
    return { kind: 'aws-instance', arn: raw, partition, region, account, instanceId: id };
  }
  if (type === 'volume') {
    if (!VOLUME_ID.test(id)) throw inputError(raw, EC2_FORM, `"${id}" is not a volume id (vol- and 8 or 17 hex digits)`);
    return { kind: 'aws-volume', arn: raw, partition, region, account, volumeId: id };
  }
  throw inputError(raw, EC2_FORM, `resource type "${type}" cannot be collected`);
}

function parsePodTarget(raw: string): KubernetesPodTarget {
  const path = raw.slice('k8s:'.length);
  if (path.includes('?')) throw inputError(raw, K8S_FORM, 'a label selector goes in --select');
  const parts = path.split('/');
  if (parts.length < 3 || parts.length > 4) throw inputError(raw, K8S_FORM, 'expected 3 or 4 path segments');
  const [cluster = '', namespace = '', pod = '', container] = parts;
  if (!CLUSTER_NAME.test(cluster)) throw inputError(raw, K8S_FORM, `"${cluster}" is not a cluster name`);
  if (!DNS_LABEL.test(namespace)) throw inputError(raw, K8S_FORM, `"${namespace}" is not a namespace name`);
  if (!DNS_SUBDOMAIN.test(pod) || pod.length > 253) throw inputError(raw, K8S_FORM, `"${pod}" is not a pod name`);
  if (container !== undefined && !DNS_LABEL.test(container)) {
    throw inputError(raw, K8S_FORM, `"${container}" is not a container name`);
  }
  return container === undefined
    ? { kind: 'k8s-pod', cluster, namespace, pod }
    : { kind: 'k8s-pod', cluster, namespace, pod, container };
}

const TAG_FORM = "tag:KEY=VALUE or k8s:CLUSTER/NAMESPACE?labels=KEY=VALUE[,KEY=VALUE]";

/** Parses a `--select` expression. */
export function parseSelector(raw: string): Selector {
  const text = raw.trim();
  if (text.startsWith('tag:')) {
    const body = text.slice('tag:'.length);
    const eq = body.indexOf('=');
    if (eq <= 0) throw inputError(raw, TAG_FORM, 'a tag selector needs KEY=VALUE', 'selector');
    const key = body.slice(0, eq);
    const value = body.slice(eq + 1);
    if (!TAG_KEY.test(key) || key.toLowerCase().startsWith('aws:')) throw inputError(raw, TAG_FORM, `"${key}" is not a valid tag key`, 'selector');
    if (!TAG_VALUE.test(value)) throw inputError(raw, TAG_FORM, `"${value}" is not a valid tag value`, 'selector');
    return { kind: 'aws-tag', key, value };
  }
  if (text.startsWith('k8s:')) {
    const body = text.slice('k8s:'.length);
    const q = body.indexOf('?');
    if (q < 0) throw inputError(raw, TAG_FORM, 'a Kubernetes selector needs ?labels=...', 'selector');
    const [cluster = '', namespace = '', ...rest] = body.slice(0, q).split('/');
    if (rest.length > 0 || !CLUSTER_NAME.test(cluster) || !DNS_LABEL.test(namespace)) {
      throw inputError(raw, TAG_FORM, 'expected CLUSTER/NAMESPACE before "?"', 'selector');
    }
    const query = new URLSearchParams(body.slice(q + 1));
    const labels = query.get('labels');
    if (!labels) throw inputError(raw, TAG_FORM, 'the labels= parameter is empty', 'selector');
    return { kind: 'k8s-labels', cluster, namespace, labelSelector: labels };
  }
  throw inputError(raw, TAG_FORM, 'unrecognised selector', 'selector');
}

/** A stable, human-readable key for a target: used in the ledger's `target` field. */
export function targetKey(target: Target): string {
  switch (target.kind) {
    case 'aws-instance':
    case 'aws-volume':
      return target.arn;
    case 'k8s-pod':
      return `k8s:${target.cluster}/${target.namespace}/${target.pod}${target.container ? `/${target.container}` : ''}`;
  }
}

export function selectorKey(selector: Selector): string {
  return selector.kind === 'aws-tag'
    ? `tag:${selector.key}=${selector.value}`
    : `k8s:${selector.cluster}/${selector.namespace}?labels=${selector.labelSelector}`;
}
