/**
 * The lab cluster's description (what a scenario declares) and the Kubernetes JSON objects built
 * from it, shaped as a real API server returns them.
 */
import { createHash } from 'node:crypto';
import type { LabLog } from './logs.js';
import type { BoundAdmissionPolicy } from './admission.js';
import type { LabSubject } from './rbac.js';

export interface LabExecResult {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
}

export interface LabContainerSpec {
  name: string;
  image: string;
  /** An init container: ran to completion before the others. */
  init?: boolean;
  env?: Record<string, string>;
  /** Executables present in the image (basename). Others fail as the runtime reports. */
  binaries?: string[];
  /** Files `cat` can read. */
  files?: Record<string, string>;
  /** Outputs for whole commands, keyed by the argv joined with single spaces. */
  outputs?: Record<string, LabExecResult>;
  log?: LabLog;
  /** The log of the previous (crashed) instance: its presence makes the container restarted. */
  previousLog?: LabLog;
}

export interface LabOwnerRef {
  kind: 'ReplicaSet' | 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job';
  name: string;
}

export interface LabPodSpec {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  /** The pod's annotations (tools put URLs and tokens there too). */
  annotations?: Record<string, string>;
  nodeName: string;
  serviceAccountName?: string;
  owner?: LabOwnerRef;
  containers: LabContainerSpec[];
  /** Deleted (404 from then on) after this many API requests concerning the pod. */
  vanishAfterRequests?: number;
  /** Set for pods created through the API that mount the node's checkpoint folder: the mount path. */
  checkpointMount?: string;
}

/** What the kubelet answers to a checkpoint request through the node proxy. */
export type LabCheckpointBehaviour = 200 | 403 | 404 | 500;

export interface LabNodeSpec {
  name: string;
  /** `aws:///us-east-1a/i-…` for EKS nodes. */
  providerID: string;
  zone?: string;
  checkpoint?: LabCheckpointBehaviour;
  /** Size of the archives a successful checkpoint writes on this node (default 1 MiB). */
  checkpointBytes?: number;
}

export interface LabWorkloadSpec {
  kind: LabOwnerRef['kind'];
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  /** The owner of this workload (a ReplicaSet's Deployment). */
  owner?: LabOwnerRef;
}

export interface LabEventSpec {
  namespace: string;
  involvedKind: string;
  involvedName: string;
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
  time: string;
  count?: number;
}

export interface LabEksSpec {
  /** The `x-k8s-aws-id` the token must carry. */
  clusterName: string;
  /** Who a valid EKS token authenticates as (an access entry's mapping). */
  subject: LabSubject;
  /**
   * The secret of an access key id (the AWS lab's), to re-compute the presigned URL's signature
   * as STS would. Without it the lab checks the token's structure and 15-minute validity only.
   */
  secretFor?: (accessKeyId: string) => string | undefined;
  /** AWS's time (the AWS lab's, when its clock is skewed): a token's date is checked against it. Default: this machine's clock. */
  awsTime?: () => number;
}

export interface LabClusterSpec {
  pods: LabPodSpec[];
  nodes: LabNodeSpec[];
  workloads?: LabWorkloadSpec[];
  serviceAccounts?: Array<{ namespace: string; name: string; annotations?: Record<string, string> }>;
  events?: LabEventSpec[];
  /** Bearer token → subject. */
  subjects: Record<string, LabSubject>;
  eks?: LabEksSpec;
  /** How the exec WebSocket upgrade is authorised: `create` (1.35+, default) or `get`. */
  execVerb?: 'create' | 'get';
  /**
   * The ValidatingAdmissionPolicies installed, each with its binding (boundAdmissionPolicies):
   * enforced on every CREATE and UPDATE as the API server enforces them. Default: none.
   */
  admission?: readonly BoundAdmissionPolicy[];
}

const hex = (text: string, length = 64) => createHash('sha256').update(text).digest('hex').slice(0, length);
const uid = (text: string) => {
  const h = hex(text, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

const CREATED = '2026-11-26T02:58:11Z';

function ownerReference(owner: LabOwnerRef, namespace: string) {
  const group = owner.kind === 'Job' ? 'batch/v1' : 'apps/v1';
  return { apiVersion: group, kind: owner.kind, name: owner.name, uid: uid(`${namespace}/${owner.kind}/${owner.name}`), controller: true, blockOwnerDeletion: true };
}

function containerSpec(c: LabContainerSpec) {
  return {
    name: c.name,
    image: c.image,
    ...(c.env ? { env: Object.entries(c.env).map(([name, value]) => ({ name, value })) } : {}),
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  };
}

function containerStatus(pod: LabPodSpec, c: LabContainerSpec) {
  const containerID = `containerd://${hex(`${pod.namespace}/${pod.name}/${c.name}`)}`;
  const repo = c.image.split(':')[0] ?? c.image;
  const base = {
    name: c.name,
    image: c.image,
    imageID: `${repo}@sha256:${hex(c.image)}`,
    containerID,
    restartCount: c.previousLog ? 1 : 0,
  };
  if (c.init) {
    return { ...base, ready: true, state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2026-11-26T02:58:14Z', finishedAt: '2026-11-26T02:58:19Z', containerID } } };
  }
  return {
    ...base,
    ready: true,
    started: true,
    state: { running: { startedAt: c.previousLog ? '2026-11-26T03:41:07Z' : '2026-11-26T02:58:21Z' } },
    lastState: c.previousLog
      ? { terminated: { exitCode: 137, reason: 'Error', startedAt: '2026-11-26T02:58:21Z', finishedAt: '2026-11-26T03:41:05Z', containerID: `containerd://${hex(`${pod.namespace}/${pod.name}/${c.name}/previous`)}` } }
      : {},
  };
}

/** The pod as `GET /api/v1/namespaces/{ns}/pods/{name}` returns it. */
export function buildPod(pod: LabPodSpec): Record<string, unknown> {
  const init = pod.containers.filter((c) => c.init);
  const regular = pod.containers.filter((c) => !c.init);
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name: pod.name,
      namespace: pod.namespace,
      uid: uid(`${pod.namespace}/Pod/${pod.name}`),
      resourceVersion: '48211',
      creationTimestamp: CREATED,
      labels: { ...(pod.labels ?? {}) },
      ...(pod.annotations ? { annotations: { ...pod.annotations } } : {}),
      ...(pod.owner ? { ownerReferences: [ownerReference(pod.owner, pod.namespace)] } : {}),
    },
    spec: {
      ...(init.length ? { initContainers: init.map(containerSpec) } : {}),
      containers: regular.map(containerSpec),
      restartPolicy: 'Always',
      serviceAccountName: pod.serviceAccountName ?? 'default',
      nodeName: pod.nodeName,
    },
    status: {
      phase: 'Running',
      hostIP: '10.0.1.23',
      podIP: `10.0.1.${(parseInt(hex(pod.name, 2), 16) % 200) + 20}`,
      startTime: CREATED,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-11-26T03:41:08Z' }],
      ...(init.length ? { initContainerStatuses: init.map((c) => containerStatus(pod, c)) } : {}),
      containerStatuses: regular.map((c) => containerStatus(pod, c)),
      qosClass: 'BestEffort',
    },
  };
}

/** The node as `GET /api/v1/nodes/{name}` returns it. */
export function buildNode(node: LabNodeSpec): Record<string, unknown> {
  const zone = node.zone ?? /^aws:\/\/\/([^/]+)\//.exec(node.providerID)?.[1] ?? 'us-east-1a';
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: {
      name: node.name,
      uid: uid(`Node/${node.name}`),
      resourceVersion: '48102',
      creationTimestamp: '2026-11-20T09:12:44Z',
      labels: {
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        'topology.kubernetes.io/zone': zone,
        'topology.kubernetes.io/region': zone.replace(/[a-z]$/, ''),
        'node.kubernetes.io/instance-type': 'm6i.large',
      },
    },
    spec: { providerID: node.providerID },
    status: {
      addresses: [
        { type: 'InternalIP', address: '10.0.1.23' },
        { type: 'Hostname', address: node.name },
      ],
      nodeInfo: {
        machineID: hex(node.name, 32),
        systemUUID: uid(`system/${node.name}`),
        bootID: uid(`boot/${node.name}`),
        kernelVersion: '6.1.112-124.190.amzn2023.x86_64',
        osImage: 'Amazon Linux 2023.6.20241121',
        containerRuntimeVersion: 'containerd://1.7.23',
        kubeletVersion: 'v1.31.2-eks-94953ac',
        kubeProxyVersion: 'v1.31.2-eks-94953ac',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
    },
  };
}

export function buildWorkload(w: LabWorkloadSpec): Record<string, unknown> {
  return {
    kind: w.kind,
    apiVersion: w.kind === 'Job' ? 'batch/v1' : 'apps/v1',
    metadata: {
      name: w.name,
      namespace: w.namespace,
      uid: uid(`${w.namespace}/${w.kind}/${w.name}`),
      resourceVersion: '47001',
      creationTimestamp: '2026-11-25T14:00:00Z',
      labels: { ...(w.labels ?? {}) },
      ...(w.owner ? { ownerReferences: [ownerReference(w.owner, w.namespace)] } : {}),
    },
    spec: { selector: { matchLabels: { ...(w.labels ?? {}) } } },
    status: {},
  };
}

export function buildServiceAccount(sa: { namespace: string; name: string; annotations?: Record<string, string> }): Record<string, unknown> {
  return {
    kind: 'ServiceAccount',
    apiVersion: 'v1',
    metadata: { name: sa.name, namespace: sa.namespace, uid: uid(`${sa.namespace}/ServiceAccount/${sa.name}`), resourceVersion: '301', creationTimestamp: '2026-11-20T09:00:00Z', ...(sa.annotations ? { annotations: sa.annotations } : {}) },
  };
}

export function buildEvent(e: LabEventSpec, index: number): Record<string, unknown> {
  const name = `${e.involvedName}.${hex(`${index}`, 16)}`;
  return {
    kind: 'Event',
    apiVersion: 'v1',
    metadata: { name, namespace: e.namespace, uid: uid(`event/${name}`), resourceVersion: String(48000 + index), creationTimestamp: e.time },
    involvedObject: { kind: e.involvedKind, namespace: e.namespace, name: e.involvedName, apiVersion: 'v1' },
    reason: e.reason,
    message: e.message,
    source: { component: 'kubelet' },
    firstTimestamp: e.time,
    lastTimestamp: e.time,
    count: e.count ?? 1,
    type: e.type ?? 'Normal',
    reportingComponent: 'kubelet',
  };
}
