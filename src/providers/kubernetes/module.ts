/**
 * The Kubernetes provider module: what the registry knows of Kubernetes without loading
 * @kubernetes/client-node, which is imported only inside `create` and `preflight`.
 */
import { defineProvider, type AnyConfig, type PreflightRow, type ProviderModule } from '../../core/provider-module.js';
import { CustodyError } from '../../core/errors.js';
import type { CustodyConfig } from '../config.js';
import { kubernetesConfigSection, type KubernetesConfig } from './config.js';
import { isNamespaceName, isPodTarget, parseKubernetesSelector, parseKubernetesTarget } from './targets.js';

export const kubernetesModule: ProviderModule<'kubernetes', KubernetesConfig> = defineProvider({
  name: 'kubernetes',
  configSection: kubernetesConfigSection,
  help: {
    targets: ['k8s:CLUSTER/NAMESPACE/POD[/CONTAINER]        a pod (and its node\'s disks)'],
    selectors: ['k8s:CLUSTER/NAMESPACE?labels=K=V[,K=V]       every pod matching the labels'],
  },
  flags: [
    { flag: 'isolate', option: 'isolate', help: '(Kubernetes) label the pod, deny-all NetworkPolicy, cordon the node' },
    { flag: 'include-env', option: 'includeEnv', help: '(Kubernetes) also capture container environment variables' },
    { flag: 'retrieve-checkpoint', option: 'retrieveCheckpoint', help: '(Kubernetes) copy the container checkpoint archive off the node' },
  ],
  preflightColumns: ['CLUSTER', 'NAMESPACE'],
  preflightScopes: [
    { flag: 'cluster', placeholder: 'NAME', help: 'a configured cluster to check (repeatable; default: every configured cluster)' },
    { flag: 'namespace', placeholder: 'NS', help: "a namespace the collector must reach (repeatable; default: the cluster's configured namespaces, else default)" },
  ],
  parseTarget: parseKubernetesTarget,
  parseSelector: parseKubernetesSelector,
  summarizeConfig(section: KubernetesConfig): Record<string, unknown> {
    // Kubeconfig paths and CA files stay out of the case: where the cluster is and how it maps to nodes goes in.
    return {
      clusters: Object.fromEntries(
        Object.entries(section.clusters).map(([name, cluster]) => [
          name,
          {
            ...(cluster.context !== undefined ? { context: cluster.context } : {}),
            ...(cluster.eks !== undefined ? { eks: cluster.eks } : {}),
            ...(cluster.server !== undefined ? { server: cluster.server } : {}),
            ...(cluster.nodeAccount !== undefined ? { nodeAccount: cluster.nodeAccount } : {}),
            ...(cluster.nodeRegion !== undefined ? { nodeRegion: cluster.nodeRegion } : {}),
            ...(cluster.skipTLSVerify ? { skipTLSVerify: true } : {}),
          },
        ]),
      ),
    };
  },
  checkPreflight(section: KubernetesConfig, request) {
    const unknown = (request.scopes.cluster ?? []).find((c) => !section.clusters[c]);
    if (unknown) throw new CustodyError('E_INPUT', `--cluster "${unknown}" is not in the config's kubernetes.clusters`, { resource: unknown });
    // A name no namespace can have would only be asked about, and answered for, as if it were one.
    const badNamespace = (request.scopes.namespace ?? []).find((n) => !isNamespaceName(n));
    if (badNamespace !== undefined) {
      throw new CustodyError('E_INPUT', `--namespace "${badNamespace}" is not a namespace name (lower-case letters, digits and "-")`, { resource: badNamespace });
    }
    // A pod in a cluster the config does not name is refused as collect refuses it; otherwise
    // every other check passes and the typo goes unnoticed until the incident.
    const pod = request.targets.filter(isPodTarget).find((t) => !section.clusters[t.cluster]);
    if (pod) {
      const known = Object.keys(section.clusters).join(', ') || 'none';
      throw new CustodyError('E_CONFIG', `${pod.key}: cluster "${pod.cluster}" is not in kubernetes.clusters (configured: ${known})`, { resource: pod.key });
    }
  },
  async preflight(request, services): Promise<PreflightRow[]> {
    const { runKubernetesPreflight } = await import('./preflight.js');
    const clusters = request.scopes.cluster ?? [];
    const namespaces = request.scopes.namespace ?? [];
    const rows = await runKubernetesPreflight({
      config: request.config as CustodyConfig,
      ...(clusters.length > 0 ? { clusters: [...clusters] } : {}),
      ...(namespaces.length > 0 ? { namespaces: [...namespaces] } : {}),
      ...(request.analyst ? { analyst: request.analyst } : {}),
      services,
    });
    return rows.map((r) => ({ provider: 'kubernetes', scope: [r.cluster, r.namespace], check: r.check, result: r.result, action: r.action, need: r.need, detail: r.detail }));
  },
  async create(config: AnyConfig, services) {
    const { createKubernetesProvider } = await import('./provider.js');
    return createKubernetesProvider(config as CustodyConfig, {}, services);
  },
});
