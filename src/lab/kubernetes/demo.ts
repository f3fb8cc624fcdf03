/**
 * The Kubernetes clusters of `custody demo`, with the config and targets that point the product
 * at them: an EKS cluster whose nodes are AWS lab instances, accepting EKS tokens signed with the
 * AWS lab's credentials (the collector role's session in the cluster's account), and a GKE
 * cluster whose node is a GCP lab instance, reached through a kubeconfig.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  /** AWS's time, when the AWS lab's clock is skewed (LabControl.awsTime): EKS checks token dates against it. */
  awsTime?: () => number;
  /** Name of the cluster in the product's config (default `demo-eks`). */
  configName?: string;
}

export interface KubernetesDemoLab {
  lab: KubernetesLab;
  scenario: K8sDemoScenario;
  /** Put under `kubernetes.clusters[configName]` of the demo config. */
  clusterConfig: { eks: { name: string; account: string; region: string }; server: string; skipTLSVerify: true; nodeAccount: string; nodeRegion: string; namespaces: string[] };
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
    subject: collectorSubject(`arn:aws:iam::${account}:role/CloudCustodyCollector`, scenario.binding),
    ...(input.secretFor ? { secretFor: input.secretFor } : {}),
    ...(input.awsTime ? { awsTime: input.awsTime } : {}),
  };
  const lab = await startKubernetesLab({ cluster: scenario.cluster });
  const configName = input.configName ?? 'demo-eks';
  return {
    lab,
    scenario,
    configName,
    clusterConfig: { eks: { name: clusterName, account, region }, server: lab.url, skipTLSVerify: true, nodeAccount: account, nodeRegion: region, namespaces: [scenario.namespace] },
    podTarget: `k8s:${configName}/${scenario.namespace}/${scenario.compromisedPod}`,
    selector: `k8s:${configName}/${scenario.namespace}?labels=${scenario.appLabel}`,
    close: () => lab.close(),
  };
}

export interface GkeDemoLabInput {
  /** The GCE instance the compromised pod's node is (a GKE node is named after its instance). */
  node: { project: string; zone: string; name: string };
  /** Where the cluster's kubeconfig is written (0600); its owner removes the folder. */
  dir: string;
  namespace?: string;
  /** Name of the cluster in the product's config (default `demo-gke`). */
  configName?: string;
}

export interface GkeDemoLab {
  lab: KubernetesLab;
  scenario: K8sDemoScenario;
  /** Put under `kubernetes.clusters[configName]`: a kubeconfig, as a GKE cluster is reached. */
  clusterConfig: { kubeconfig: string; context: string; namespaces: string[] };
  configName: string;
  podTarget: string;
  /** The node's instance as the GCP provider names it once the node is followed. */
  nodeTarget: string;
  close(): Promise<void>;
}

/**
 * Starts a GKE-like demo cluster whose node is a GCP lab instance (`spec.providerID`
 * `gce://PROJECT/ZONE/INSTANCE`), reached through a kubeconfig that holds the lab's own collector
 * token (made up by the lab, valid only against it).
 *
 * @example
 * const gke = await startGkeDemoLab({ node: { project: 'gke-prod', zone: 'us-central1-b', name: 'gke-prod-pool-1-abcd' }, dir });
 * config.kubernetes = { clusters: { [gke.configName]: gke.clusterConfig } };  targets.push(gke.podTarget);
 */
export async function startGkeDemoLab(input: GkeDemoLabInput): Promise<GkeDemoLab> {
  const { project, zone, name } = input.node;
  const scenario = k8sDemoScenario({
    instances: [{ id: name, availabilityZone: zone, nodeName: name, providerID: `gce://${project}/${zone}/${name}` }],
    ...(input.namespace ? { namespace: input.namespace } : {}),
  });
  const lab = await startKubernetesLab({ cluster: scenario.cluster });
  const configName = input.configName ?? 'demo-gke';
  const kubeconfig = join(input.dir, `${configName}.kubeconfig`);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: configName, cluster: { server: lab.url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'cloud-custody-collector', user: { token: scenario.collectorToken } }],
    contexts: [{ name: configName, context: { cluster: configName, user: 'cloud-custody-collector' } }],
    'current-context': configName,
  };
  try {
    // JSON is YAML: client-node reads it as a kubeconfig.
    await writeFile(kubeconfig, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  } catch (error) {
    await lab.close();
    throw error;
  }
  return {
    lab,
    scenario,
    configName,
    clusterConfig: { kubeconfig, context: configName, namespaces: [scenario.namespace] },
    podTarget: `k8s:${configName}/${scenario.namespace}/${scenario.compromisedPod}`,
    nodeTarget: `//compute.googleapis.com/projects/${project}/zones/${zone}/instances/${name}`,
    close: () => lab.close(),
  };
}
