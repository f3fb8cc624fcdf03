/**
 * The Kubernetes provider: `k8s:CLUSTER/NAMESPACE/POD[/CONTAINER]` targets and
 * `k8s:CLUSTER/NAMESPACE?labels=…` selectors, for clusters named in `kubernetes.clusters`.
 */
import type { CustodyConfig } from '../config.js';
import { CustodyError } from '../../core/errors.js';
import { startSelectorSearch } from '../../core/selector-search.js';
import type { CollectOptions, PlannedCall, PlannedStep, Provider, ProviderContext, TargetOutcome } from '../../core/ports.js';
import type { ProviderServices } from '../../core/provider-module.js';
import { selectorKey, targetKey } from '../../core/targets.js';
import type { Selector, Target } from '../../core/targets.js';
import { isLabelSelector, isPodTarget, podTarget, type KubernetesPodTarget } from './targets.js';
import { collectorRoleArn, partitionOfRegion } from '../shared/aws-names.js';
import { RunStates } from '../shared/run-state.js';
import { callKubernetesAnswer } from './call.js';
import { checkKubeconfig, connectCluster } from './cluster-access.js';
import { withEksCredentials } from './eks-credentials.js';
import type { ClusterAccess, KubernetesDeps } from './cluster-access.js';
import { collectPod } from './collect-pod.js';
import { volatileCommands } from './commands.js';
import { describeOperation, K8S_OPERATIONS, OWNER_OPERATIONS } from './operations.js';
import type { KubernetesOperationName } from './operations.js';

function planCall(name: KubernetesOperationName, where: string, resource: string): PlannedCall {
  const op = K8S_OPERATIONS[name];
  return { api: `k8s:${describeOperation(op)}`, where, mutates: op.mutates, permissions: [{ action: `k8s:${describeOperation(op)}`, resource }] };
}

/** The plan for one pod: what would be called, touching nothing. */
export function planPod(target: KubernetesPodTarget, options: CollectOptions): PlannedStep[] {
  const where = `cluster ${target.cluster}, namespace ${target.namespace}`;
  const pod = `k8s:${target.cluster}/${target.namespace}/${target.pod}`;
  const node = `k8s:${target.cluster}/node/(the pod's node)`;
  const steps: PlannedStep[] = [
    {
      step: 'describe',
      description: 'the pod (uid, container ids, image digests), its owners, its ServiceAccount and its Node',
      calls: [planCall('readPod', where, pod), ...Object.values(OWNER_OPERATIONS).map((o) => planCall(o, where, `${pod} owners`)), planCall('readServiceAccount', where, pod), planCall('readNode', `cluster ${target.cluster}`, node)],
    },
    { step: 'events', description: 'events for the pod (kept one hour by default)', calls: [planCall('listEvents', where, pod)] },
    {
      step: 'volatile',
      description: `exec in each running container: ${volatileCommands(options.includeEnv === true).map((c) => c.argv.join(' ')).join('; ')}`,
      calls: [planCall('execInPod', where, pod)],
    },
  ];
  if (options.isolate) {
    steps.push({
      step: 'isolate',
      description: 'label the pod, deny-all NetworkPolicy on that label, cordon the node (never delete or drain)',
      calls: [planCall('labelPod', where, pod), planCall('createNetworkPolicy', where, `k8s:${target.cluster}/${target.namespace}/networkpolicy`), planCall('cordonNode', `cluster ${target.cluster}`, node)],
    });
  }
  steps.push(
    { step: 'logs', description: 'current and previous logs of every container (init too), with timestamps, streamed', calls: [planCall('readPodLog', where, pod)] },
    {
      step: 'checkpoint',
      description: `checkpoint probe through the node proxy (403/404/500 recorded, never fatal)${options.retrieveCheckpoint ? '; each archive copied off the node by a helper pod in the forensics namespace, then the helper deleted' : ''}`,
      calls: [
        planCall('checkpointContainer', `cluster ${target.cluster}`, node),
        ...(options.retrieveCheckpoint
          ? [planCall('createHelperPod', `cluster ${target.cluster}, forensics namespace`, 'helper pod'), planCall('readHelperPod', `cluster ${target.cluster}, forensics namespace`, 'helper pod'), planCall('execInHelperPod', `cluster ${target.cluster}, forensics namespace`, 'helper pod'), planCall('deleteHelperPod', `cluster ${target.cluster}, forensics namespace`, 'helper pod')]
          : []),
      ],
    },
    { step: 'node-follow-up', description: "the node's providerID → its cloud instance, snapshotted by that cloud's provider in the same case", calls: [] },
  );
  return steps;
}

/**
 * Builds the Kubernetes provider, or undefined when the config has no `kubernetes` section.
 *
 * @example
 * const provider = createKubernetesProvider(config);
 * const outcome = await provider?.collect(parseTarget('k8s:prod/shop/web-1'), ctx);
 */
export function createKubernetesProvider(config: CustodyConfig, deps: KubernetesDeps = {}, services?: ProviderServices): Provider {
  const clusters = config.kubernetes?.clusters;
  if (!clusters) throw new CustodyError('E_CONFIG', 'the config has no "kubernetes" section: name the clusters to collect from in kubernetes.clusters');
  const resolvedDeps = withEksCredentials(deps, services);
  // One client per cluster and run of a case (shared/run-state.ts): the EKS authenticator caches
  // its token across the run's targets, and signs it with that run's AWS session.
  const runs = new RunStates<Map<string, ClusterAccess>>(() => new Map());
  const accessFor = (cluster: string, ctx: ProviderContext): ClusterAccess => {
    const accesses = runs.of(ctx.recorder, ctx.signal);
    let access = accesses.get(cluster);
    if (!access) {
      access = connectCluster(config, cluster, ctx.recorder, resolvedDeps, ctx.signal);
      accesses.set(cluster, access);
    }
    return access;
  };

  // A node's cloud machine is mapped and parsed by the registry: this provider knows no other
  // provider's target types. Without the registry's services (a unit test) nothing is followed up.
  const followUps = services;

  // Each cluster's kubeconfig is read once before the case opens: a missing file, one that does
  // not parse or a context it lacks is refused then, not after the case exists (a target failed).
  const kubeconfigRead = new Map<string, CustodyError | undefined>();
  const checkCluster = (cluster: string, what: string) => {
    const configured = clusters[cluster];
    if (!configured) {
      const known = Object.keys(clusters).join(', ') || 'none';
      throw new CustodyError('E_CONFIG', `${what}: cluster "${cluster}" is not in kubernetes.clusters (configured: ${known})`, { resource: what });
    }
    if (!kubeconfigRead.has(cluster)) {
      try {
        checkKubeconfig(cluster, configured);
        kubeconfigRead.set(cluster, undefined);
      } catch (error) {
        kubeconfigRead.set(cluster, error instanceof CustodyError ? error : new CustodyError('E_CONFIG', String(error), { resource: cluster }));
      }
    }
    const unreadable = kubeconfigRead.get(cluster);
    if (unreadable) throw new CustodyError('E_CONFIG', `${what}: ${unreadable.message}`, { resource: what });
  };

  return {
    name: 'kubernetes',
    handles: (target: Target) => isPodTarget(target),
    handlesSelector: (selector: Selector) => isLabelSelector(selector),
    validate(target: Target): void {
      if (!isPodTarget(target)) throw new CustodyError('E_UNSUPPORTED', `the kubernetes provider does not collect ${target.kind} targets`);
      checkCluster(target.cluster, targetKey(target));
    },
    validateSelector(selector: Selector): void {
      if (isLabelSelector(selector)) checkCluster(selector.cluster, `selector ${selectorKey(selector)}`);
    },
    scopeOf: (target: Target) => (isPodTarget(target) ? `k8s:${target.cluster}` : 'k8s'),
    selectorScope: (selector: Selector) => (isLabelSelector(selector) ? `namespace ${selector.namespace} of the configured cluster ${selector.cluster}` : 'the configured clusters'),
    plan(target: Target, options: CollectOptions): PlannedStep[] {
      if (!isPodTarget(target)) return [];
      const eks = clusters[target.cluster]?.eks;
      if (!eks) return planPod(target, options);
      const roleArn = collectorRoleArn(config.aws?.collectorRole, eks.account, partitionOfRegion(eks.region));
      // The EKS token is a presigned sts:GetCallerIdentity, which needs no permission; the
      // session it is signed with is the collector role's, which the cluster's access entry maps.
      const access: PlannedStep = {
        step: 'cluster-access',
        description: `EKS token for cluster ${eks.name}, signed with the collector role's session in ${eks.account} and refreshed before its 15 minutes end`,
        calls: [{ api: 'sts:AssumeRole', where: `forensics account → ${eks.account}`, mutates: false, permissions: [{ action: 'sts:AssumeRole', resource: roleArn }] }],
      };
      return [access, ...planPod(target, options)];
    },
    async resolveSelector(selector: Selector, ctx: ProviderContext): Promise<Target[]> {
      if (!isLabelSelector(selector)) return [];
      const key = selectorKey(selector);
      checkCluster(selector.cluster, `selector ${key}`);
      // One scope: the namespace of the cluster. Recorded as every provider's (src/core/selector-search.ts).
      // A stopped run, or a ledger that cannot be written, ends the search: it is not a scope that failed.
      const search = startSelectorSearch({ recorder: ctx.recorder, selector: key, provider: 'kubernetes', signal: ctx.signal, ...(ctx.searchIncomplete ? { searchIncomplete: ctx.searchIncomplete } : {}) });
      const where = { where: `namespace ${selector.namespace} of cluster ${selector.cluster}`, fields: { cluster: selector.cluster, namespace: selector.namespace } };
      const answer = await search.scope(where, async () => {
        const access = accessFor(selector.cluster, ctx);
        const { value: list, requestId } = await callKubernetesAnswer('listPods', `k8s:${selector.cluster}/${selector.namespace}`, () =>
          access.core.listNamespacedPodWithHttpInfo({ namespace: selector.namespace, labelSelector: selector.labelSelector }),
        );
        const pods = list.items.map((p) => p.metadata?.name ?? '').filter(Boolean).sort();
        const detail = { labelSelector: selector.labelSelector, resourceVersion: list.metadata?.resourceVersion ?? null };
        return { found: pods, requestIds: requestId ? [requestId] : [], detail };
      });
      // Its only scope failed: the selector fails with that error (the orchestrator's `selector.failed`).
      search.finish([where]);
      return (answer?.found ?? []).map((pod) => podTarget(selector.cluster, selector.namespace, pod));
    },
    async collect(target: Target, ctx: ProviderContext): Promise<TargetOutcome> {
      if (!isPodTarget(target)) throw new CustodyError('E_UNSUPPORTED', `the kubernetes provider does not collect ${target.kind} targets`);
      const cluster = clusters[target.cluster];
      if (!cluster) throw new CustodyError('E_CONFIG', `cluster "${target.cluster}" is not in kubernetes.clusters`);
      return collectPod(target, ctx, accessFor(target.cluster, ctx), cluster, followUps);
    },
    close: () => runs.close(),
  };
}
