/**
 * What the steps of one pod's collection share (the run), and the kernel's helpers bound to it:
 * the steps import this file, never the sequence in collect-pod.ts (which imports them), so
 * there is no import cycle.
 */
import type { V1Container, V1ContainerStatus } from '@kubernetes/client-node';
import type { ClusterConfig } from '../config.js';
import { historyOf } from '../../core/case-history.js';
import type { CustodyError } from '../../core/errors.js';
import { freshName as kernelFreshName, runStep as kernelRunStep, storeOnce as kernelStoreOnce, type StepFailure } from '../../core/kernel.js';
import type { ProviderContext } from '../../core/ports.js';
import { jsonEvidence } from '../../core/redact-json.js';
import type { ClusterAccess } from './cluster-access.js';
import type { KubernetesPodTarget } from './targets.js';

/** Shared by the steps of one pod's collection. */
export interface PodRun {
  target: KubernetesPodTarget;
  /** `k8s:cluster/ns/pod[/container]`: the ledger's target field. */
  key: string;
  /** `k8s:cluster/ns/pod`: the resource named in errors. */
  resource: string;
  evidenceId: string;
  ctx: ProviderContext;
  access: ClusterAccess;
  cluster: ClusterConfig;
  stored: string[];
  failures: CustodyError[];
  podGone: boolean;
  /** Set when the pod was seen and then disappeared (not when it was never there). */
  vanished?: boolean;
}

export interface ContainerInfo {
  name: string;
  init: boolean;
  spec: V1Container;
  status?: V1ContainerStatus;
}

/** The name this run stores a stream under (the kernel's one resume naming policy), decided before it is read. */
export function freshName(run: PodRun, name: string): string {
  return kernelFreshName(run.ctx.recorder, run.evidenceId, name);
}

/** The name under which the case recorded `name` (itself or a `.resumed-` copy), from the case history. */
export function storedBefore(run: PodRun, name: string): string | undefined {
  return historyOf(run.ctx.recorder).storedName(run.evidenceId, name);
}

/**
 * Stores an API object as JSON under the pod's evidence id, any credential it carries cut out
 * (core's one redaction step: an `env` connection string, a signed URL in an annotation), unless
 * the case already holds it (kernel `storeOnce`), with the Audit-Id of the answer it came from.
 */
export async function storeOnce(run: PodRun, name: string, kind: string, source: string, described: unknown, cloudIds?: Record<string, string>, requestId?: string): Promise<void> {
  const result = await kernelStoreOnce(run.ctx.recorder, {
    evidenceId: run.evidenceId,
    name,
    kind,
    source,
    ...jsonEvidence(described),
    mediaType: 'application/json',
    target: run.key,
    ...(cloudIds ? { cloudIds } : {}),
    ...(requestId ? { requestIds: [requestId] } : {}),
  });
  // Stored by an earlier run of this case: it counts, and is not stored twice.
  run.stored.push(result.status === 'stored' ? result.stored.name : result.name);
}

/** File-name-safe form of a Kubernetes name (they are DNS names, so this rarely changes anything). */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * Runs `work` as step `step` (the kernel's `runStep`): a failure is recorded (`step.failed`) and
 * kept for the outcome; the stop signal propagates; a 404 on the pod marks it gone, and the
 * remaining pod steps are skipped.
 */
export async function runStep(run: PodRun, step: string, work: () => Promise<void>): Promise<void> {
  if (run.podGone) return;
  const failures: StepFailure[] = [];
  const result = await kernelRunStep({ recorder: run.ctx.recorder, progress: run.ctx.progress, key: run.key, failures }, step, work);
  if (result.ok) return;
  const failure = result.error;
  run.failures.push(failure);
  if (failure.code === 'E_NOT_FOUND' && failure.resource === run.resource) {
    run.podGone = true;
    // A pod that was never found did not vanish: the outcome says not found.
    if (step !== 'describe' || run.stored.length > 0) {
      run.vanished = true;
      await run.ctx.recorder.record('pod.vanished', { step, note: 'the pod no longer exists: the remaining pod steps are skipped, what was collected is kept' }, run.key);
    }
  }
}
