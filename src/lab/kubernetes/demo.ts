/**
 * The Kubernetes part of `custody demo`: the demo cluster as an EKS cluster whose nodes are AWS
 * lab instances, accepting EKS tokens signed with the AWS lab's credentials (the collector role's
 * session in the cluster's account), and the config and targets that point the product at it.
 */
import { startKubernetesLab } from './server.js';
import type { KubernetesLab } from './server.js';
import { collectorSubject, k8sDemoScenario } from './scenario.js';
import type { DemoNodeInstance, K8sDemoScenario } from './scenario.js';

export interface KubernetesDemoLabInput {
  /** AWS lab instances the nodes run on; the first hosts the compromised pod. */
  nodeInstances: readonly DemoNodeInstance[];
  /** The EKS cluster: its name, and the account and region it (and its nodes) live in. */
  eks: { clusterName: string; account: string; region: string };
  /** The AWS lab's secret for an access key id, so EKS token signatures are checked for real. */
  secretFor?: (accessKeyId: string) => string | undefined;
  /** Name of the cluster in the product's config (default `demo-eks`). */
  configName?: string;
}

export interface KubernetesDemoLab {
  lab: KubernetesLab;
  scenario: K8sDemoScenario;
  /** Put under `kubernetes.clusters[configName]` of the demo config. */
  clusterConfig: { eks: { name: string; account: string; region: string }; server: string; skipTLSVerify: true; nodeAccount: string; nodeRegion: string };
  configName: string;
  /** `k8s:demo-eks/shop/<compromised pod>`. */
  podTarget: string;
  /** `k8s:demo-eks/shop?labels=app=web`. */
  selector: string;
  close(): Promise<void>;
}

/**
 * Starts the demo cluster.
 *
 * @example
 * const worker = instances.find((i) => i.tags.Name === 'worker-07')!;
 * const k8s = await startKubernetesDemoLab({ nodeInstances: [worker], eks: { clusterName: 'demo-eks', account: worker.ownerId, region: worker.region },
 *   secretFor: (id) => awsLab.state.credentials.get(id)?.secretAccessKey });
 * config.kubernetes = { clusters: { [k8s.configName]: k8s.clusterConfig } };  targets.push(k8s.podTarget);
 */
export async function startKubernetesDemoLab(input: KubernetesDemoLabInput): Promise<KubernetesDemoLab> {
  const scenario = k8sDemoScenario({ instances: input.nodeInstances });
  const { clusterName, account, region } = input.eks;
  scenario.cluster.eks = {
    clusterName,
    // An EKS access entry maps the collector role to the group the shipped RBAC binds.
    subject: collectorSubject(`arn:aws:iam::${account}:role/CloudCustodyCollector`),
    ...(input.secretFor ? { secretFor: input.secretFor } : {}),
  };
  const lab = await startKubernetesLab({ cluster: scenario.cluster });
  const configName = input.configName ?? 'demo-eks';
  return {
    lab,
    scenario,
    configName,
    clusterConfig: { eks: { name: clusterName, account, region }, server: lab.url, skipTLSVerify: true, nodeAccount: account, nodeRegion: region },
    podTarget: `k8s:${configName}/${scenario.namespace}/${scenario.compromisedPod}`,
    selector: `k8s:${configName}/${scenario.namespace}?labels=${scenario.appLabel}`,
    close: () => lab.close(),
  };
}
