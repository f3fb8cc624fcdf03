/**
 * Collecting one pod, most volatile and shortest-lived first:
 * 1. the pod object, its owners, its ServiceAccount and its Node;
 * 2. events for the pod (they expire after an hour by default);
 * 3. volatile state through exec, from the fixed allow-list (then, with --isolate, containment);
 * 4. logs of every container, init containers too, current and previous, streamed;
 * 5. a checkpoint probe through the node proxy (never fails the case);
 * 6. the node's cloud instance, returned as a follow-up target for its provider.
 * A step that fails is recorded and the next one runs; a pod that vanishes ends the pod steps,
 * keeping what was collected (outcome `partial`).
 */
import type { V1Container, V1ContainerStatus, V1Node, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { ClusterConfig } from '../config.js';
import { evidenceIdFor } from '../../core/case-id.js';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import type { ProviderContext, TargetOutcome } from '../../core/ports.js';
import { targetKey } from '../../core/targets.js';
import type { Target } from '../../core/targets.js';
import { isPodTarget, type KubernetesPodTarget } from './targets.js';
import { callKubernetesAnswer } from './call.js';
import type { ClusterAccess } from './cluster-access.js';
import { probeCheckpoint } from './checkpoint.js';
import { runVolatileCommands } from './exec.js';
import { isolatePod } from './isolate.js';
import { streamContainerLog } from './logs.js';
import { K8S_OPERATIONS, OWNER_OPERATIONS } from './operations.js';
import { nodeFollowUp, type NodeFollowUps } from './node-follow-up.js';
import { runStep, safeName, storeOnce, type ContainerInfo, type PodRun } from './pod-run.js';
import { withoutUrlCredentials } from '../../core/url-credentials.js';

export type { ContainerInfo, PodRun } from './pod-run.js';

/**
 * The user and groups the API server authenticated the collector as (SelfSubjectReview, GA in
 * 1.28), for the record. An older or refusing server is recorded as unknown, never a failure.
 */
async function whoAmI(access: ClusterAccess): Promise<Record<string, unknown>> {
  try {
    const { value: review, requestId } = await callKubernetesAnswer('reviewIdentity', `k8s:${access.name}`, () => access.authentication.createSelfSubjectReviewWithHttpInfo({ body: {} }));
    const user = review.status?.userInfo;
    return { username: user?.username ?? null, groups: user?.groups ?? [], ...(requestId ? { requestId } : {}) };
  } catch (error) {
    return { username: null, unknownBecause: isCustodyError(error) ? error.message : String(error) };
  }
}

/** Every container of the pod (init containers first), with its status. */
export function containersOf(pod: V1Pod): ContainerInfo[] {
  const statuses = new Map<string, V1ContainerStatus>();
  for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) statuses.set(s.name, s);
  const list = (specs: V1Container[] | undefined, init: boolean): ContainerInfo[] =>
    (specs ?? []).map((spec) => {
      const status = statuses.get(spec.name);
      return { name: spec.name, init, spec, ...(status ? { status } : {}) };
    });
  return [...list(pod.spec?.initContainers, true), ...list(pod.spec?.containers, false)];
}

/** What the owner reads (ReplicaSet, Deployment, …) answer with, as far as the walk up needs. */
type OwnerAnswer = { data: { metadata?: { ownerReferences?: V1OwnerReference[]; uid?: string } }; headers: Record<string, string> };

async function describePod(run: PodRun): Promise<{ pod: V1Pod; node?: V1Node }> {
  const { namespace, pod: name } = run.target;
  const { core, apps, batch } = run.access;
  const { value: pod, requestId } = await callKubernetesAnswer('readPod', run.resource, () => core.readNamespacedPodWithHttpInfo({ name, namespace }));
  await storeOnce(
    run,
    'pod.json',
    'pod-description',
    `/api/v1/namespaces/${namespace}/pods/${name}`,
    pod,
    { uid: pod.metadata?.uid ?? '', resourceVersion: pod.metadata?.resourceVersion ?? '', nodeName: pod.spec?.nodeName ?? '' },
    requestId,
  );
  let node: V1Node | undefined;

  await runStep(run, 'owners', async () => {
    // Follow controller references up (Pod → ReplicaSet → Deployment), at most three hops.
    let refs = pod.metadata?.ownerReferences ?? [];
    for (let depth = 0; depth < 3 && refs.length > 0; depth += 1) {
      const next = [];
      for (const ref of refs) {
        const opName = OWNER_OPERATIONS[ref.kind];
        if (!opName) {
          await run.ctx.recorder.record('owner.skipped', { kind: ref.kind, name: ref.name, apiVersion: ref.apiVersion, reason: `owner kind ${ref.kind} is not read by the collector` }, run.key);
          continue;
        }
        const resource = `k8s:${run.target.cluster}/${namespace}/${ref.kind}/${ref.name}`;
        const args = { name: ref.name, namespace };
        const { value: owner, requestId } = await callKubernetesAnswer(opName, resource, async (): Promise<OwnerAnswer> => {
          switch (ref.kind) {
            case 'ReplicaSet':
              return apps.readNamespacedReplicaSetWithHttpInfo(args);
            case 'Deployment':
              return apps.readNamespacedDeploymentWithHttpInfo(args);
            case 'StatefulSet':
              return apps.readNamespacedStatefulSetWithHttpInfo(args);
            case 'DaemonSet':
              return apps.readNamespacedDaemonSetWithHttpInfo(args);
            default:
              return batch.readNamespacedJobWithHttpInfo(args);
          }
        });
        const op = K8S_OPERATIONS[opName];
        await storeOnce(run, `owner-${ref.kind.toLowerCase()}-${safeName(ref.name)}.json`, 'workload-description', `/apis/${op.apiGroup}/v1/namespaces/${namespace}/${op.resource}/${ref.name}`, owner, { uid: owner.metadata?.uid ?? '' }, requestId);
        next.push(...(owner.metadata?.ownerReferences ?? []));
      }
      refs = next;
    }
  });

  await runStep(run, 'service-account', async () => {
    const saName = pod.spec?.serviceAccountName ?? 'default';
    const { value: sa, requestId } = await callKubernetesAnswer('readServiceAccount', `k8s:${run.target.cluster}/${namespace}/serviceaccount/${saName}`, () =>
      core.readNamespacedServiceAccountWithHttpInfo({ name: saName, namespace }),
    );
    await storeOnce(run, `serviceaccount-${safeName(saName)}.json`, 'serviceaccount-description', `/api/v1/namespaces/${namespace}/serviceaccounts/${saName}`, sa, { uid: sa.metadata?.uid ?? '' }, requestId);
  });

  await runStep(run, 'node', async () => {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) {
      await run.ctx.recorder.record('node.unknown', { reason: 'the pod is not scheduled on a node' }, run.key);
      return;
    }
    const answer = await callKubernetesAnswer('readNode', `k8s:${run.target.cluster}/node/${nodeName}`, () => core.readNodeWithHttpInfo({ name: nodeName }));
    node = answer.value;
    await storeOnce(run, `node-${safeName(nodeName)}.json`, 'node-description', `/api/v1/nodes/${nodeName}`, node, { uid: node.metadata?.uid ?? '', providerID: node.spec?.providerID ?? '' }, answer.requestId);
  });
  return node ? { pod, node } : { pod };
}

async function collectEvents(run: PodRun, pod: V1Pod): Promise<void> {
  const { namespace, pod: name } = run.target;
  const fieldSelector = `involvedObject.kind=Pod,involvedObject.name=${name}`;
  const { value: events, requestId } = await callKubernetesAnswer('listEvents', run.resource, () => run.access.core.listNamespacedEventWithHttpInfo({ namespace, fieldSelector }));
  // Events of an earlier pod with the same name are kept too; its uid tells them apart.
  await storeOnce(
    run,
    'events.json',
    'pod-events',
    `/api/v1/namespaces/${namespace}/events?fieldSelector=${fieldSelector}`,
    events,
    { podUid: pod.metadata?.uid ?? '', count: String(events.items.length) },
    requestId,
  );
}

/**
 * Collects one pod and returns its outcome; the node's cloud instance, when it maps to a
 * supported provider, is in `followUps`.
 */
export async function collectPod(target: KubernetesPodTarget, ctx: ProviderContext, access: ClusterAccess, cluster: ClusterConfig, registry?: NodeFollowUps): Promise<TargetOutcome> {
  const key = targetKey(target);
  const resource = `k8s:${target.cluster}/${target.namespace}/${target.pod}`;
  const run: PodRun = {
    target,
    key,
    resource,
    evidenceId: evidenceIdFor(ctx.recorder.caseId, resource),
    ctx,
    access,
    cluster,
    stored: [],
    failures: [],
    podGone: false,
  };
  access.identity ??= whoAmI(access);
  const identity = await access.identity;
  await ctx.recorder.record(
    'cluster.connected',
    {
      identity,
      cluster: target.cluster,
      // From the kubeconfig, which configuration never validated: a password in it stays out.
      server: withoutUrlCredentials(access.server),
      auth: access.auth,
      ...(access.context ? { context: access.context } : {}),
      ...(access.caFingerprint ? { caFingerprint: access.caFingerprint } : {}),
      ...(access.skipTLSVerify ? { tlsVerified: false } : {}),
    },
    key,
  );

  let described: { pod: V1Pod; node?: V1Node } | undefined;
  await runStep(run, 'describe', async () => {
    described = await describePod(run);
  });
  const followUps: Target[] = [];
  if (described) {
    const { pod, node } = described;
    let containers = containersOf(pod);
    if (target.container) {
      // The named container, and those of other targets of the run core folded into this one.
      const named = [target.container, ...(target.alongside ?? []).flatMap((t) => (isPodTarget(t) && t.container ? [t.container] : []))];
      const names = containers.map((c) => c.name);
      containers = containers.filter((c) => named.includes(c.name));
      for (const missing of named.filter((name) => !names.includes(name))) {
        // Names what the pod has, so a mistyped container is corrected in one go.
        const has = `its containers: ${names.join(', ') || 'none'}`;
        run.failures.push(new CustodyError('E_NOT_FOUND', `container "${missing}" is not in pod ${resource} (${has})`, { resource: `${resource}/${missing}` }));
        await ctx.recorder.record('step.failed', { step: 'containers', error: run.failures[run.failures.length - 1]!.toRecord() }, key);
      }
    }
    await runStep(run, 'events', () => collectEvents(run, pod));
    await runStep(run, 'volatile', () => runVolatileCommands(run, containers));
    if (ctx.options.isolate) await runStep(run, 'isolate', () => isolatePod(run, pod));
    for (const container of containers) {
      await runStep(run, `logs:${container.name}`, () => streamContainerLog(run, container, false));
      await runStep(run, `logs:${container.name}:previous`, () => streamContainerLog(run, container, true));
    }
    if (node?.metadata?.name) {
      await runStep(run, 'checkpoint', () => probeCheckpoint(run, node.metadata!.name!, containers));
    }
    if (node) {
      const next = await nodeFollowUp(run, node, registry);
      if (next) followUps.push(next);
    }
  }

  const status = run.failures.length === 0 ? 'collected' : run.stored.length > 0 ? 'partial' : 'failed';
  const first = run.failures[0];
  return {
    target: key,
    status,
    ...(first ? { reason: reasonFor(run, first), error: first.toRecord() } : {}),
    evidenceIds: run.stored.length > 0 ? [run.evidenceId] : [],
    ...(followUps.length ? { followUps } : {}),
  };
}

/** The outcome's sentence: a pod that was never there is "not found", one seen and lost "vanished". */
function reasonFor(run: PodRun, first: CustodyError): string {
  if (run.vanished) return `the pod vanished during collection; ${first.message}`;
  if (run.podGone) return `pod ${run.resource} was not found in cluster ${run.target.cluster} (${first.message})`;
  return first.message;
}
