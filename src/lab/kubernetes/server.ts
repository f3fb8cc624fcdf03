/**
 * The lab's Kubernetes API server: plain HTTP on loopback, speaking the real REST API for the
 * subset cloud-custody uses (pods, owners, service accounts, nodes, events, pod logs, exec over
 * the `v4.channel.k8s.io` WebSocket subprotocol, the node proxy checkpoint, network policies,
 * merge patches, SelfSubjectAccessReview), behind bearer-token RBAC.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { decodeEksToken, EKS_TOKEN_LIFETIME_MS, verifyEksSignature } from './eks-token.js';
import { DEFAULT_BINARIES, runLabCommand } from './exec.js';
import { generateArchiveChunks, generateLogChunks, renderLogLines } from './logs.js';
import type { LabLog } from './logs.js';
import { buildEvent, buildNode, buildPod, buildServiceAccount, buildWorkload } from './objects.js';
import type { LabCheckpointBehaviour, LabClusterSpec, LabContainerSpec, LabNodeSpec, LabPodSpec } from './objects.js';
import { reviewAdmission } from './admission.js';
import type { AdmissionDecision, AdmissionRequest } from './admission.js';
import { forbiddenStatus, isAllowed } from './rbac.js';
import type { LabSubject, RequestAttributes } from './rbac.js';

export interface LabAuditRecord extends RequestAttributes {
  /** The request's audit id, also sent as its `Audit-Id` response header (a UUID, as kube-apiserver generates). */
  auditId: string;
  method: string;
  path: string;
  user: string;
  code: number;
  /** The admission policies the request met (only when the lab enforces some and one matched), and what each decided. */
  admission?: AdmissionDecision[];
}

export interface LabExecRecord {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  user: string;
}

export interface KubernetesLab {
  /** `http://127.0.0.1:PORT`: use with `skipTLSVerify: true`. */
  readonly url: string;
  /** Every request, with how it was authorised and answered (the API server's audit log). */
  readonly audit: LabAuditRecord[];
  /** Every command run through exec, exactly as received. */
  readonly execs: LabExecRecord[];
  /** EKS tokens the server accepted: who signed them and when (never the token itself). */
  readonly eksLogins: Array<{ accessKeyId: string; signedAt: Date }>;
  /** The stored object, or undefined (`pods`, `nodes`, `networkpolicies`, …). */
  getObject(resource: string, namespace: string | undefined, name: string): Record<string, unknown> | undefined;
  setCheckpoint(node: string, behaviour: LabCheckpointBehaviour): void;
  deletePod(namespace: string, name: string): void;
  close(): Promise<void>;
}

export interface StartKubernetesLabOptions {
  cluster: LabClusterSpec;
  /** Defaults to 0 (a random free port). */
  port?: number;
}

const GROUP_OF: Record<string, string> = { replicasets: 'apps', deployments: 'apps', statefulsets: 'apps', daemonsets: 'apps', jobs: 'batch', networkpolicies: 'networking.k8s.io', validatingadmissionpolicies: 'admissionregistration.k8s.io', validatingadmissionpolicybindings: 'admissionregistration.k8s.io' };
const RESOURCE_OF_KIND: Record<string, string> = { ReplicaSet: 'replicasets', Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets', Job: 'jobs' };

/** Who sent a request the lab is handling, and what admission decided on it so far. */
interface RequestContext {
  subject: LabSubject;
  admission: AdmissionDecision[];
}

/** The user as authentication hands it on (SelfSubjectReview, admission's request.userInfo): every authenticated user is in system:authenticated. */
function userInfoOf(subject: LabSubject): { username: string; groups: string[] } {
  return { username: subject.user, groups: [...(subject.groups ?? []), 'system:authenticated'] };
}

interface ParsedPath extends Omit<RequestAttributes, 'verb'> {
  /** Path after the subresource (the node proxy's kubelet path). */
  rest: string[];
}

function parsePath(pathname: string): ParsedPath | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let apiGroup: string;
  let i: number;
  if (parts[0] === 'api' && parts[1] === 'v1') {
    apiGroup = '';
    i = 2;
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    apiGroup = parts[1] ?? '';
    i = 3;
  } else return undefined;
  let namespace: string | undefined;
  if (parts[i] === 'namespaces' && parts.length > i + 2) {
    namespace = parts[i + 1];
    i += 2;
  }
  const resource = parts[i];
  if (!resource) return undefined;
  const name = parts[i + 1];
  const subresource = parts[i + 2];
  return {
    apiGroup,
    resource,
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
    ...(subresource ? { subresource } : {}),
    rest: parts.slice(i + 3),
  };
}

function verbFor(method: string, parsed: ParsedPath): string {
  switch (method) {
    case 'GET':
      return parsed.name ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PATCH':
      return 'patch';
    case 'PUT':
      return 'update';
    case 'DELETE':
      return 'delete';
    default:
      return method.toLowerCase();
  }
}

function status(code: number, reason: string, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

function notFound(resource: string, name: string, apiGroup = ''): Record<string, unknown> {
  return status(404, 'NotFound', `${resource}${apiGroup ? `.${apiGroup}` : ''} "${name}" not found`, { name, ...(apiGroup ? { group: apiGroup } : {}), kind: resource });
}

/** Applies a JSON merge patch (RFC 7386) as the API server does: objects merge, `null` removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}

function matchesLabels(labels: Record<string, string>, selector: string): boolean {
  return selector
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .every((term) => {
      const neq = /^([^!=]+)!=(.*)$/.exec(term);
      if (neq) return labels[neq[1]!.trim()] !== neq[2]!.trim();
      const eq = /^([^=]+)==?(.*)$/.exec(term);
      if (eq) return labels[eq[1]!.trim()] === eq[2]!.trim();
      if (term.startsWith('!')) return !(term.slice(1) in labels);
      return term in labels;
    });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the lab API server on 127.0.0.1.
 *
 * @example
 * const lab = await startKubernetesLab({ cluster: k8sDemoScenario({ instances }) .cluster });
 * // kubeconfig: server lab.url, skipTLSVerify true, token 'collector-token'
 */
export async function startKubernetesLab(options: StartKubernetesLabOptions): Promise<KubernetesLab> {
  const spec = options.cluster;
  const store = new Map<string, Record<string, unknown>>();
  const podSpecs = new Map<string, LabPodSpec>();
  const podRequests = new Map<string, number>();
  const checkpoints = new Map<string, LabCheckpointBehaviour>();
  const nodeSpecs = new Map<string, LabNodeSpec>(spec.nodes.map((n) => [n.name, n]));
  /** Archives written by successful checkpoints: path → node and size. */
  const archives = new Map<string, { node: string; bytes: number }>();
  /** Pods created through the API that have not been seen running yet. */
  const pendingPods = new Set<string>();
  const audit: LabAuditRecord[] = [];
  const execs: LabExecRecord[] = [];
  const eksLogins: Array<{ accessKeyId: string; signedAt: Date }> = [];
  let resourceVersion = 50000;

  const key = (resource: string, namespace: string | undefined, name: string) => `${resource}/${namespace ?? ''}/${name}`;
  for (const node of spec.nodes) {
    store.set(key('nodes', undefined, node.name), buildNode(node));
    checkpoints.set(node.name, node.checkpoint ?? 404);
  }
  for (const pod of spec.pods) {
    store.set(key('pods', pod.namespace, pod.name), buildPod(pod));
    podSpecs.set(`${pod.namespace}/${pod.name}`, pod);
  }
  for (const w of spec.workloads ?? []) store.set(key(RESOURCE_OF_KIND[w.kind] ?? w.kind, w.namespace, w.name), buildWorkload(w));
  for (const sa of spec.serviceAccounts ?? []) store.set(key('serviceaccounts', sa.namespace, sa.name), buildServiceAccount(sa));
  // The installed admission policies can be read back (GET), as preflight does.
  for (const { policy, binding } of spec.admission ?? []) {
    store.set(key('validatingadmissionpolicies', undefined, policy.metadata.name), structuredClone(policy) as unknown as Record<string, unknown>);
    store.set(key('validatingadmissionpolicybindings', undefined, binding.metadata.name), structuredClone(binding) as unknown as Record<string, unknown>);
  }
  const events = (spec.events ?? []).map((e, i) => buildEvent(e, i));

  const deletePod = (namespace: string, name: string) => {
    store.delete(key('pods', namespace, name));
    podSpecs.delete(`${namespace}/${name}`);
  };

  function authenticate(req: IncomingMessage): LabSubject | undefined {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match) return undefined;
    const token = match[1]!;
    if (spec.eks && token.startsWith('k8s-aws-v1.')) {
      const decoded = decodeEksToken(token);
      if (typeof decoded === 'string') return undefined;
      const age = (spec.eks.awsTime?.() ?? Date.now()) - decoded.signedAt.getTime();
      if (age > EKS_TOKEN_LIFETIME_MS || age < -5 * 60 * 1000) return undefined;
      const secret = spec.eks.secretFor?.(decoded.accessKeyId);
      if (spec.eks.secretFor && (secret === undefined || !verifyEksSignature(decoded, spec.eks.clusterName, secret))) return undefined;
      eksLogins.push({ accessKeyId: decoded.accessKeyId, signedAt: decoded.signedAt });
      return spec.eks.subject;
    }
    return spec.subjects[token];
  }

  /** Counts a request against a pod that is set to vanish; true when the pod is gone. */
  function touchPod(namespace: string | undefined, name: string | undefined): void {
    if (!namespace || !name) return;
    const pod = podSpecs.get(`${namespace}/${name}`);
    if (!pod || pod.vanishAfterRequests === undefined) return;
    const count = (podRequests.get(`${namespace}/${name}`) ?? 0) + 1;
    podRequests.set(`${namespace}/${name}`, count);
    if (count > pod.vanishAfterRequests) deletePod(namespace, name);
  }

  function findContainer(pod: LabPodSpec, name: string): LabContainerSpec | undefined {
    return pod.containers.find((c) => c.name === name);
  }

  function sendJson(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  async function streamLog(res: ServerResponse, log: LabLog | undefined, timestamps: boolean): Promise<void> {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    if (!log) return void res.end();
    const chunks = 'lines' in log ? [renderLogLines(log.lines, timestamps)] : generateLogChunks(log.generatedBytes, timestamps, log.startTime);
    for (const chunk of chunks) {
      if (res.destroyed) return;
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    res.end();
  }

  /**
   * Runs the installed admission policies (spec.admission) on a CREATE or UPDATE, as the API server
   * does once RBAC allowed it and before anything is stored: the Status of the denial, if one denies.
   */
  function admissionDenial(ctx: RequestContext, operation: AdmissionRequest['operation'], at: { resource: string; namespace: string | undefined; name: string }, object: unknown, oldObject: unknown): Record<string, unknown> | undefined {
    if (!spec.admission?.length) return undefined;
    const request: AdmissionRequest = {
      operation,
      resource: { group: GROUP_OF[at.resource] ?? '', version: 'v1', resource: at.resource },
      name: at.name,
      ...(at.namespace ? { namespace: at.namespace } : {}),
      userInfo: userInfoOf(ctx.subject),
    };
    const { decisions, denial } = reviewAdmission(spec.admission, { request, object, oldObject });
    ctx.admission.push(...decisions);
    return denial ? status(denial.code, denial.reason, denial.message, denial.details) : undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, parsed: ParsedPath, url: URL): Promise<number> {
    const { resource, namespace, name, subresource } = parsed;
    const method = req.method ?? 'GET';

    if (resource === 'selfsubjectaccessreviews' && method === 'POST') {
      const review = JSON.parse(await readBody(req)) as { spec?: { resourceAttributes?: Partial<RequestAttributes> & { group?: string } } };
      const ra = review.spec?.resourceAttributes ?? {};
      const subject = authenticate(req)!;
      const allowed = isAllowed(subject, { verb: ra.verb ?? '', apiGroup: ra.group ?? '', resource: ra.resource ?? '', ...(ra.subresource ? { subresource: ra.subresource } : {}), ...(ra.namespace ? { namespace: ra.namespace } : {}), ...(ra.name ? { name: ra.name } : {}) });
      sendJson(res, 201, { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: {}, spec: review.spec, status: { allowed } });
      return 201;
    }

    if (resource === 'selfsubjectreviews' && method === 'POST') {
      const subject = authenticate(req)!;
      sendJson(res, 201, { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: {}, status: { userInfo: userInfoOf(subject) } });
      return 201;
    }

    // Node proxy → the kubelet's checkpoint API.
    if (resource === 'nodes' && subresource === 'proxy' && name) {
      if (!store.has(key('nodes', undefined, name))) return reply(res, notFound('nodes', name));
      const [api, ns, podName, container] = parsed.rest;
      const pod = ns && podName ? podSpecs.get(`${ns}/${podName}`) : undefined;
      if (api !== 'checkpoint' || method !== 'POST') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
        return 404;
      }
      const behaviour = checkpoints.get(name) ?? 404;
      if (behaviour === 404 || !pod || !container || !findContainer(pod, container)) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
        return 404;
      }
      if (behaviour === 403) {
        res.writeHead(403, { 'Content-Type': 'text/plain' }).end('Forbidden (user=kube-apiserver-kubelet-client, verb=create, resource=nodes, subresource(s)=[checkpoint])\n');
        return 403;
      }
      if (behaviour === 500) {
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`checkpointing of ${ns}/${podName}/${container} failed (rpc error: code = Unimplemented desc = method CheckpointContainer not implemented)\n`);
        return 500;
      }
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
      const archive = `/var/lib/kubelet/checkpoints/checkpoint-${podName}_${ns}-${container}-${stamp}.tar`;
      archives.set(archive, { node: name, bytes: nodeSpecs.get(name)?.checkpointBytes ?? 1024 * 1024 });
      sendJson(res, 200, { items: [archive] });
      return 200;
    }

    if (resource === 'pods' && namespace) {
      if (!name && method === 'POST') return createPod(req, res, ctx, namespace);
      if (!name) {
        if (method !== 'GET') return reply(res, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
        const selector = url.searchParams.get('labelSelector') ?? '';
        const items = [...store.entries()]
          .filter(([k]) => k.startsWith(`pods/${namespace}/`))
          .map(([, v]) => v)
          .filter((p) => matchesLabels(((p.metadata as Record<string, unknown>).labels ?? {}) as Record<string, string>, selector));
        sendJson(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(resourceVersion) }, items });
        return 200;
      }
      const pod = podSpecs.get(`${namespace}/${name}`);
      const object = store.get(key('pods', namespace, name));
      if (!pod || !object) return reply(res, notFound('pods', name));
      if (subresource === 'log') {
        const containerName = url.searchParams.get('container') ?? (pod.containers.length === 1 ? pod.containers[0]!.name : undefined);
        if (!containerName) {
          return reply(res, status(400, 'BadRequest', `a container name must be specified for pod ${name}, choose one of: [${pod.containers.filter((c) => !c.init).map((c) => c.name).join(' ')}] or one of the init containers: [${pod.containers.filter((c) => c.init).map((c) => c.name).join(' ')}]`));
        }
        const container = findContainer(pod, containerName);
        if (!container) return reply(res, status(400, 'BadRequest', `container ${containerName} is not valid for pod ${name}`));
        const previous = url.searchParams.get('previous') === 'true';
        if (previous && !container.previousLog) {
          return reply(res, status(400, 'BadRequest', `previous terminated container "${containerName}" in pod "${name}" not found`));
        }
        await streamLog(res, previous ? container.previousLog : container.log, url.searchParams.get('timestamps') === 'true');
        return 200;
      }
      if (subresource) return reply(res, notFound(`pods/${subresource}`, name));
      if (method === 'GET') {
        // A created pod is Pending at first, then Running (its node "started" it).
        if (pendingPods.delete(`${namespace}/${name}`)) {
          const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
          const containers = ((object.spec as { containers?: Array<{ name: string; image: string }> }).containers ?? []).map((c) => ({ name: c.name, image: c.image, imageID: '', containerID: `containerd://${namespace}-${name}-${c.name}`, ready: true, started: true, restartCount: 0, state: { running: { startedAt: started } } }));
          object.status = { phase: 'Running', startTime: started, containerStatuses: containers };
        }
        return reply(res, object, 200);
      }
      if (method === 'DELETE') {
        deletePod(namespace, name);
        return reply(res, { ...object, metadata: { ...(object.metadata as object), deletionTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } }, 200);
      }
      if (method === 'PATCH') return patchObject(req, res, ctx, 'pods', namespace, name);
      return reply(res, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    }

    if (resource === 'nodes' && name && !subresource) {
      if (!store.has(key('nodes', undefined, name))) return reply(res, notFound('nodes', name));
      if (method === 'PATCH') return patchObject(req, res, ctx, 'nodes', undefined, name);
      return reply(res, store.get(key('nodes', undefined, name)), 200);
    }

    if (resource === 'events' && namespace && method === 'GET') {
      const filters = (url.searchParams.get('fieldSelector') ?? '')
        .split(',')
        .filter(Boolean)
        .map((term) => term.split('=') as [string, string]);
      const items = events.filter((e) => {
        const involved = e.involvedObject as Record<string, string>;
        if ((e.metadata as Record<string, string>).namespace !== namespace) return false;
        return filters.every(([field, value]) => {
          const path = field.split('.');
          if (path[0] === 'involvedObject' && path[1]) return involved[path[1]] === value;
          if (field === 'type' || field === 'reason') return e[field] === value;
          return true;
        });
      });
      sendJson(res, 200, { kind: 'EventList', apiVersion: 'v1', metadata: { resourceVersion: String(resourceVersion) }, items });
      return 200;
    }

    if (resource === 'networkpolicies' && namespace) {
      if (method === 'POST' && !name) {
        const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
        const meta = (body.metadata ?? {}) as Record<string, unknown>;
        const policyName = String(meta.name ?? '');
        // Admission runs before the object reaches storage, so a denied create is refused even when the name is taken.
        const denied = admissionDenial(ctx, 'CREATE', { resource: 'networkpolicies', namespace, name: policyName }, { ...body, kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', metadata: { ...meta, namespace } }, null);
        if (denied) return reply(res, denied);
        if (store.has(key('networkpolicies', namespace, policyName))) {
          return reply(res, status(409, 'AlreadyExists', `networkpolicies.networking.k8s.io "${policyName}" already exists`, { name: policyName, group: 'networking.k8s.io', kind: 'networkpolicies' }));
        }
        resourceVersion += 1;
        const created = { ...body, kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', metadata: { ...meta, namespace, uid: `np-${resourceVersion}`, resourceVersion: String(resourceVersion), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } };
        store.set(key('networkpolicies', namespace, policyName), created);
        return reply(res, created, 201);
      }
      if (method === 'GET' && name) {
        const found = store.get(key('networkpolicies', namespace, name));
        return found ? reply(res, found, 200) : reply(res, notFound('networkpolicies', name, 'networking.k8s.io'));
      }
    }

    if (method === 'GET' && name && !subresource) {
      const found = store.get(key(resource, namespace, name));
      return found ? reply(res, found, 200) : reply(res, notFound(resource, name, GROUP_OF[resource] ?? ''));
    }
    return reply(res, status(404, 'NotFound', 'the server could not find the requested resource'));
  }

  function reply(res: ServerResponse, body: unknown, code?: number): number {
    const c = code ?? ((body as { code?: number }).code ?? 200);
    sendJson(res, c, body);
    return c;
  }

  async function createPod(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, namespace: string): Promise<number> {
    const body = JSON.parse(await readBody(req)) as { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };
    const podName = String(body.metadata?.name ?? '');
    const denied = admissionDenial(ctx, 'CREATE', { resource: 'pods', namespace, name: podName }, { ...body, kind: 'Pod', apiVersion: 'v1', metadata: { ...body.metadata, namespace } }, null);
    if (denied) return reply(res, denied);
    if (store.has(key('pods', namespace, podName))) {
      return reply(res, status(409, 'AlreadyExists', `pods "${podName}" already exists`, { name: podName, kind: 'pods' }));
    }
    const podSpec = (body.spec ?? {}) as {
      nodeName?: string;
      containers?: Array<{ name: string; image: string; volumeMounts?: Array<{ name: string; mountPath: string }> }>;
      volumes?: Array<{ name: string; hostPath?: { path: string } }>;
    };
    const hostVolume = podSpec.volumes?.find((v) => v.hostPath?.path === '/var/lib/kubelet/checkpoints')?.name;
    const mount = podSpec.containers?.flatMap((c) => c.volumeMounts ?? []).find((m) => m.name === hostVolume)?.mountPath;
    resourceVersion += 1;
    const created = {
      ...body,
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { ...body.metadata, namespace, uid: `pod-${resourceVersion}`, resourceVersion: String(resourceVersion), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
      status: { phase: 'Pending' },
    };
    store.set(key('pods', namespace, podName), created);
    podSpecs.set(`${namespace}/${podName}`, {
      namespace,
      name: podName,
      nodeName: podSpec.nodeName ?? '',
      containers: (podSpec.containers ?? []).map((c) => ({ name: c.name, image: c.image, binaries: DEFAULT_BINARIES })),
      ...(mount ? { checkpointMount: mount } : {}),
    });
    pendingPods.add(`${namespace}/${podName}`);
    return reply(res, created, 201);
  }

  async function patchObject(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, resource: string, namespace: string | undefined, name: string): Promise<number> {
    const type = (req.headers['content-type'] ?? '').split(';')[0];
    if (type !== 'application/merge-patch+json' && type !== 'application/strategic-merge-patch+json') {
      return reply(res, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json`));
    }
    const patch = JSON.parse(await readBody(req)) as unknown;
    const current = store.get(key(resource, namespace, name))!;
    const next = mergePatch(current, patch) as Record<string, unknown>;
    // A patch is admitted as an UPDATE of the stored object into the patched one.
    const denied = admissionDenial(ctx, 'UPDATE', { resource, namespace, name }, next, current);
    if (denied) return reply(res, denied);
    resourceVersion += 1;
    (next.metadata as Record<string, unknown>).resourceVersion = String(resourceVersion);
    store.set(key(resource, namespace, name), next);
    return reply(res, next, 200);
  }

  function authorizeRequest(req: IncomingMessage, parsed: ParsedPath, verb: string): { subject: LabSubject; attrs: RequestAttributes } | { code: number; body: Record<string, unknown>; user: string; attrs: RequestAttributes } {
    const attrs: RequestAttributes = {
      verb,
      apiGroup: parsed.apiGroup,
      resource: parsed.resource,
      ...(parsed.subresource ? { subresource: parsed.subresource } : {}),
      ...(parsed.namespace ? { namespace: parsed.namespace } : {}),
      ...(parsed.name ? { name: parsed.name } : {}),
    };
    const subject = authenticate(req);
    if (!subject) return { code: 401, body: status(401, 'Unauthorized', 'Unauthorized'), user: 'system:anonymous', attrs };
    // Every authenticated user may ask what it may do, as with the built-in system:basic-user.
    if (parsed.resource === 'selfsubjectaccessreviews' || parsed.resource === 'selfsubjectreviews') return { subject, attrs };
    if (!isAllowed(subject, attrs)) return { code: 403, body: forbiddenStatus(subject.user, attrs), user: subject.user, attrs };
    return { subject, attrs };
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://lab');
    const parsed = parsePath(url.pathname);
    const method = req.method ?? 'GET';
    // kube-apiserver answers every request with the id its audit log files it under.
    const auditId = randomUUID();
    res.setHeader('Audit-Id', auditId);
    if (!parsed) {
      sendJson(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const auth = authorizeRequest(req, parsed, verbFor(method, parsed));
    const admission: AdmissionDecision[] = [];
    const record = (user: string, code: number) => audit.push({ ...auth.attrs, auditId, method, path: url.pathname, user, code, ...(admission.length > 0 ? { admission } : {}) });
    if ('code' in auth) {
      record(auth.user, auth.code);
      sendJson(res, auth.code, auth.body);
      return;
    }
    if (parsed.resource === 'pods') touchPod(parsed.namespace, parsed.name);
    if (parsed.resource === 'nodes' && parsed.subresource === 'proxy') touchPod(parsed.rest[1], parsed.rest[2]);
    handle(req, res, { subject: auth.subject, admission }, parsed, url).then(
      (code) => record(auth.subject.user, code),
      (error: unknown) => {
        record(auth.subject.user, 500);
        if (!res.headersSent) sendJson(res, 500, status(500, 'InternalError', `Internal error occurred: ${(error as Error).message}`));
        else res.destroy();
      },
    );
  });

  // Exec: the WebSocket upgrade of GET …/pods/{name}/exec, channels 1 stdout, 2 stderr, 3 status.
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false),
  });
  // The upgrade's answer carries the request's Audit-Id too: the 101 (added as ws writes it) or the refusal.
  const upgradeAuditIds = new WeakMap<IncomingMessage, string>();
  wss.on('headers', (headers, req) => {
    const auditId = upgradeAuditIds.get(req);
    if (auditId) headers.push(`Audit-Id: ${auditId}`);
  });
  const refuseUpgrade = (socket: Duplex, auditId: string, code: number, body: Record<string, unknown>) => {
    const text = JSON.stringify(body);
    const reason = code === 403 ? 'Forbidden' : code === 404 ? 'Not Found' : code === 401 ? 'Unauthorized' : 'Bad Request';
    socket.end(`HTTP/1.1 ${code} ${reason}\r\nAudit-Id: ${auditId}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://lab');
    const parsed = parsePath(url.pathname);
    const auditId = randomUUID();
    upgradeAuditIds.set(req, auditId);
    if (!parsed || parsed.resource !== 'pods' || parsed.subresource !== 'exec' || !parsed.namespace || !parsed.name) {
      refuseUpgrade(socket, auditId, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const auth = authorizeRequest(req, parsed, spec.execVerb ?? 'create');
    const record = (user: string, code: number) => audit.push({ ...auth.attrs, auditId, method: 'GET', path: url.pathname, user, code });
    if ('code' in auth) {
      record(auth.user, auth.code);
      refuseUpgrade(socket, auditId, auth.code, auth.body);
      return;
    }
    touchPod(parsed.namespace, parsed.name);
    const pod = podSpecs.get(`${parsed.namespace}/${parsed.name}`);
    if (!pod) {
      record(auth.subject.user, 404);
      refuseUpgrade(socket, auditId, 404, notFound('pods', parsed.name));
      return;
    }
    const containerName = url.searchParams.get('container') ?? pod.containers.find((c) => !c.init)?.name ?? '';
    const container = findContainer(pod, containerName);
    if (!container || container.init) {
      record(auth.subject.user, 400);
      refuseUpgrade(socket, auditId, 400, status(400, 'BadRequest', `container ${containerName} is not valid for pod ${parsed.name}`));
      return;
    }
    const command = url.searchParams.getAll('command');
    const { namespace, name: podName } = parsed;
    wss.handleUpgrade(req, socket, head, (ws) => {
      record(auth.subject.user, 101);
      execs.push({ namespace, pod: podName, container: containerName, command, user: auth.subject.user });
      const podObject = store.get(key('pods', namespace, podName));
      const statuses = ((podObject?.status as Record<string, unknown> | undefined)?.containerStatuses ?? []) as Array<{ name: string; containerID?: string }>;
      const containerId = (statuses.find((s) => s.name === containerName)?.containerID ?? '').replace(/^containerd:\/\//, '');
      const frame = (channel: number, data: string | Buffer) => Buffer.concat([Buffer.from([channel]), typeof data === 'string' ? Buffer.from(data, 'utf8') : data]);
      // A helper pod reading a checkpoint archive from the node's folder: stream it, with backpressure.
      const file = pod.checkpointMount && command[0] === 'cat' && command.length === 2 && command[1]!.startsWith(`${pod.checkpointMount}/`) ? command[1]!.slice(pod.checkpointMount.length + 1) : undefined;
      const archivePath = file && !file.includes('/') ? `/var/lib/kubelet/checkpoints/${file}` : undefined;
      const archive = archivePath ? archives.get(archivePath) : undefined;
      if (archivePath && archive && archive.node === pod.nodeName) {
        void (async () => {
          for (const chunk of generateArchiveChunks(archivePath, archive.bytes)) {
            if (ws.readyState !== ws.OPEN) return;
            await new Promise<void>((resolve, reject) => ws.send(frame(1, chunk), (error) => (error ? reject(error) : resolve())));
          }
          ws.send(frame(3, JSON.stringify({ metadata: {}, status: 'Success' })), () => ws.close(1000));
        })().catch(() => ws.terminate());
        return;
      }
      const outcome = runLabCommand(container, containerId, command);
      if (outcome.stdout) ws.send(frame(1, outcome.stdout));
      if (outcome.stderr) ws.send(frame(2, outcome.stderr));
      ws.send(frame(3, JSON.stringify(outcome.status)), () => ws.close(1000));
    });
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    audit,
    execs,
    eksLogins,
    getObject: (resource, namespace, name) => store.get(key(resource, namespace, name)),
    setCheckpoint: (node, behaviour) => void checkpoints.set(node, behaviour),
    deletePod,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
