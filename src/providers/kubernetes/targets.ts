/**
 * Kubernetes target and selector syntax: `k8s:CLUSTER/NAMESPACE/POD[/CONTAINER]` and
 * `k8s:CLUSTER/NAMESPACE?labels=KEY=VALUE[,KEY=VALUE]`.
 */
import { CustodyError } from '../../core/errors.js';
import type { Selector, Target } from '../../core/targets.js';
import { emptyValueReason } from '../shared/selector-values.js';

export interface KubernetesPodTarget extends Target {
  provider: 'kubernetes';
  kind: 'k8s-pod';
  cluster: string;
  namespace: string;
  pod: string;
  /** When set, only this container's evidence is taken (the pod's facts are always taken). */
  container?: string;
}

/** `k8s:CLUSTER/NAMESPACE?labels=app=api,tier=web` */
export interface KubernetesLabelSelector extends Selector {
  provider: 'kubernetes';
  kind: 'k8s-labels';
  cluster: string;
  namespace: string;
  labelSelector: string;
}

export function isPodTarget(target: Target): target is KubernetesPodTarget {
  return target.provider === 'kubernetes' && target.kind === 'k8s-pod';
}

export function isLabelSelector(selector: Selector): selector is KubernetesLabelSelector {
  return selector.provider === 'kubernetes' && selector.kind === 'k8s-labels';
}

// RFC 1123 labels, as Kubernetes requires for namespaces and pod names.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export const K8S_FORM = 'k8s:CLUSTER/NAMESPACE/POD[/CONTAINER]';
export const K8S_SELECTOR_FORM = 'k8s:CLUSTER/NAMESPACE?labels=KEY=VALUE[,KEY=VALUE]';

function inputError(raw: string, expected: string, why: string, what: 'target' | 'selector' = 'target'): CustodyError {
  return new CustodyError('E_INPUT', `invalid ${what} "${raw}": ${why}. Expected ${expected}.`, { resource: raw });
}

/** Whether `name` can be a namespace (an RFC 1123 label, as Kubernetes requires). */
export function isNamespaceName(name: string): boolean {
  return DNS_LABEL.test(name);
}

/** A pod target from its parts (a label selector's match). */
export function podTarget(cluster: string, namespace: string, pod: string, container?: string): KubernetesPodTarget {
  const key = `k8s:${cluster}/${namespace}/${pod}${container ? `/${container}` : ''}`;
  // The pod's own target takes every container: a case given both collects the pod once.
  return container === undefined
    ? { provider: 'kubernetes', kind: 'k8s-pod', key, cluster, namespace, pod }
    : { provider: 'kubernetes', kind: 'k8s-pod', key, cluster, namespace, pod, container, within: `k8s:${cluster}/${namespace}/${pod}` };
}

/** `k8s:…` without `?`, or undefined when the text is not a Kubernetes target. */
export function parseKubernetesTarget(raw: string): KubernetesPodTarget | undefined {
  const text = raw.trim();
  if (!text.startsWith('k8s:')) return undefined;
  const path = text.slice('k8s:'.length);
  if (path.includes('?')) throw inputError(raw, K8S_FORM, 'a label selector goes in --select');
  const parts = path.split('/');
  if (parts.length < 3 || parts.length > 4) throw inputError(raw, K8S_FORM, 'expected 3 or 4 path segments');
  const [cluster = '', namespace = '', pod = '', container] = parts;
  if (!CLUSTER_NAME.test(cluster)) throw inputError(raw, K8S_FORM, `"${cluster}" is not a cluster name`);
  if (!DNS_LABEL.test(namespace)) throw inputError(raw, K8S_FORM, `"${namespace}" is not a namespace name`);
  if (!DNS_SUBDOMAIN.test(pod) || pod.length > 253) throw inputError(raw, K8S_FORM, `"${pod}" is not a pod name`);
  if (container !== undefined && !DNS_LABEL.test(container)) throw inputError(raw, K8S_FORM, `"${container}" is not a container name`);
  return podTarget(cluster, namespace, pod, container);
}

/**
 * The conditions of a label selector: split at the commas between them, not those inside a set
 * (`tier in (web,api)`), so that one with an empty value (`app=`, `app!=`) can be refused:
 * `app!=$APP` with the variable unset matches every pod whose app label is not empty or which has
 * none — nearly the whole namespace, for a responder's --isolate.
 */
function conditionsOf(labels: string): string[] {
  const conditions: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < labels.length; i += 1) {
    const c = labels[i];
    if (c === '(') depth += 1;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      conditions.push(labels.slice(start, i));
      start = i + 1;
    }
  }
  conditions.push(labels.slice(start));
  return conditions;
}

/** `k8s:CLUSTER/NAMESPACE?labels=…`, or undefined when the text is not a Kubernetes selector. */
export function parseKubernetesSelector(raw: string): KubernetesLabelSelector | undefined {
  const text = raw.trim();
  if (!text.startsWith('k8s:')) return undefined;
  const body = text.slice('k8s:'.length);
  const q = body.indexOf('?');
  if (q < 0) throw inputError(raw, K8S_SELECTOR_FORM, 'a Kubernetes selector needs ?labels=...', 'selector');
  const [cluster = '', namespace = '', ...rest] = body.slice(0, q).split('/');
  if (rest.length > 0 || !CLUSTER_NAME.test(cluster) || !DNS_LABEL.test(namespace)) {
    throw inputError(raw, K8S_SELECTOR_FORM, 'expected CLUSTER/NAMESPACE before "?"', 'selector');
  }
  const params = new URLSearchParams(body.slice(q + 1));
  // Only one labels= is read: anything else would be dropped, and a dropped condition widens
  // the match (conditions go comma-separated inside labels=).
  const other = [...params.keys()].find((name) => name !== 'labels');
  if (other !== undefined) throw inputError(raw, K8S_SELECTOR_FORM, `"${other}" is not a parameter (put every condition in labels=, comma-separated)`, 'selector');
  if (params.getAll('labels').length > 1) throw inputError(raw, K8S_SELECTOR_FORM, '"labels" is given twice (put every condition in one labels=, comma-separated)', 'selector');
  const labels = params.get('labels');
  // Blanks and commas alone name no condition: the API server would take a blank selector as
  // "every pod in the namespace" (a responder's --isolate with it would isolate them all).
  if (!labels || /^[\s,]*$/.test(labels)) throw inputError(raw, K8S_SELECTOR_FORM, 'the labels= parameter is empty (it names no condition)', 'selector');
  const empty = conditionsOf(labels).find((condition) => /^[^=!]+(==?|!=)\s*$/.test(condition));
  if (empty !== undefined) throw inputError(raw, K8S_SELECTOR_FORM, emptyValueReason(`label value in "${empty.trim()}"`), 'selector');
  return { provider: 'kubernetes', kind: 'k8s-labels', key: `k8s:${cluster}/${namespace}?labels=${labels}`, cluster, namespace, labelSelector: labels };
}
