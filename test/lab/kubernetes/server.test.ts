import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationV1Api, CoreV1Api, Exec, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { V1Status } from '@kubernetes/client-node';
import { k8sDemoScenario, startKubernetesLab } from '../../../src/lab/kubernetes/index.js';
import type { K8sDemoScenario, KubernetesLab } from '../../../src/lab/kubernetes/index.js';

let lab: KubernetesLab;
let scenario: K8sDemoScenario;

function client(token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: 'lab', server: lab.url, skipTLSVerify: true }, { name: 'u', token });
  return kc;
}

async function get(path: string, token?: string): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(lab.url + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

async function run(token: string, container: string, command: string[]): Promise<{ stdout: string; status: V1Status; protocol: string }> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  let resolveStatus: (s: V1Status) => void = () => undefined;
  const status = new Promise<V1Status>((r) => (resolveStatus = r));
  const ws = await new Exec(client(token)).exec(scenario.namespace, scenario.compromisedPod, container, command, stdout, new PassThrough(), null, false, resolveStatus);
  return { status: await status, stdout: Buffer.concat(chunks).toString('utf8'), protocol: ws.protocol };
}

beforeAll(async () => {
  scenario = k8sDemoScenario({ instances: [{ id: 'i-0a1b2c3d4e5f60718', availabilityZone: 'us-east-1a' }] });
  scenario.cluster.pods.push({ namespace: 'shop', name: 'short-lived', nodeName: scenario.compromisedNode, vanishAfterRequests: 2, containers: [{ name: 'c', image: 'busybox:1.36' }] });
  lab = await startKubernetesLab({ cluster: scenario.cluster });
});
afterAll(async () => {
  await lab.close();
});

describe('the lab Kubernetes API server', () => {
  it('answers an unauthenticated request with the Unauthorized Status', async () => {
    const res = await get(`/api/v1/namespaces/shop/pods/${scenario.compromisedPod}`);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
  });

  it('refuses with the API server\'s Forbidden wording', async () => {
    const res = await get(`/api/v1/nodes/${scenario.compromisedNode}/proxy/checkpoint/shop/x/y`, scenario.noExecToken);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({
      reason: 'Forbidden',
      code: 403,
      message: `nodes "${scenario.compromisedNode}" is forbidden: User "cloud-custody-reader" cannot get resource "nodes/proxy" in API group "" at the cluster scope`,
    });
  });

  it('lists pods by label selector and reads owners through the real client', async () => {
    const core = client(scenario.collectorToken).makeApiClient(CoreV1Api);
    const list = await core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=web,pod-template-hash=7d9f8b6c5d' });
    expect(list.items.map((p) => p.metadata?.name).sort()).toEqual(['web-7d9f8b6c5d-q8m4z', 'web-7d9f8b6c5d-x2x7k']);
    const pod = await core.readNamespacedPod({ namespace: 'shop', name: scenario.compromisedPod });
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['migrate']);
    expect(pod.status?.containerStatuses?.find((c) => c.name === 'app')).toMatchObject({ restartCount: 1, lastState: { terminated: { exitCode: 137 } } });
    const events = await core.listNamespacedEvent({ namespace: 'shop', fieldSelector: `involvedObject.name=${scenario.compromisedPod}` });
    expect(events.items.map((e) => e.reason)).toEqual(['Scheduled', 'BackOff', 'Started']);
  });

  it('serves logs as the kubelet does: a container must be named, previous only after a restart', async () => {
    const base = `/api/v1/namespaces/shop/pods/${scenario.compromisedPod}/log`;
    const noContainer = await get(base, scenario.collectorToken);
    expect(noContainer.status).toBe(400);
    expect(JSON.parse(noContainer.body).message).toBe(`a container name must be specified for pod ${scenario.compromisedPod}, choose one of: [app log-shipper] or one of the init containers: [migrate]`);
    const noPrevious = await get(`${base}?container=log-shipper&previous=true`, scenario.collectorToken);
    expect(JSON.parse(noPrevious.body).message).toBe(`previous terminated container "log-shipper" in pod "${scenario.compromisedPod}" not found`);
    const previous = await get(`${base}?container=app&previous=true&timestamps=true`, scenario.collectorToken);
    expect(previous.type).toBe('text/plain');
    expect(previous.body.split('\n')[0]).toBe('2026-11-26T02:58:21.311873000Z server listening on :8080');
    const plain = await get(`${base}?container=migrate`, scenario.collectorToken);
    expect(plain.body).toBe('applied 3 migrations\n');
  });

  it('runs exec over v4.channel.k8s.io with the status on channel 3', async () => {
    const ok = await run(scenario.collectorToken, 'app', ['cat', '/proc/net/tcp']);
    expect(ok.protocol).toBe('v4.channel.k8s.io');
    expect(ok.status).toEqual({ metadata: {}, status: 'Success' });
    expect(ok.stdout).toContain('7D94092D:0D05');
    const failed = await run(scenario.collectorToken, 'app', ['cat', '/nonexistent']);
    expect(failed.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '1' }] } });
    const missing = await run(scenario.collectorToken, 'log-shipper', ['ps']);
    expect(missing.status).toMatchObject({ status: 'Failure', reason: 'InternalError', code: 500 });
    expect(missing.status.message).toMatch(/exec: "ps": executable file not found in \$PATH/);
    expect(lab.execs.slice(-3).map((e) => e.command)).toEqual([['cat', '/proc/net/tcp'], ['cat', '/nonexistent'], ['ps']]);
  });

  it('refuses the exec upgrade with 403 when RBAC lacks create pods/exec', async () => {
    await expect(run(scenario.noExecToken, 'app', ['id'])).rejects.toThrow(/Unexpected server response: 403/);
    const review = await client(scenario.noExecToken).makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'shop' } } },
    });
    expect(review.status?.allowed).toBe(false);
  });

  it('accepts merge patches only, and deletes a pod set to vanish after its requests', async () => {
    const core = client(scenario.collectorToken).makeApiClient(CoreV1Api);
    await expect(core.patchNode({ name: scenario.compromisedNode, body: [{ op: 'add', path: '/spec/unschedulable', value: true }] })).rejects.toMatchObject({ code: 415 });
    const node = await core.patchNode({ name: scenario.compromisedNode, body: { spec: { unschedulable: true } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    expect(node.spec).toMatchObject({ unschedulable: true, providerID: 'aws:///us-east-1a/i-0a1b2c3d4e5f60718' });
    await core.readNamespacedPod({ namespace: 'shop', name: 'short-lived' });
    await core.readNamespacedPod({ namespace: 'shop', name: 'short-lived' });
    await expect(core.readNamespacedPod({ namespace: 'shop', name: 'short-lived' })).rejects.toMatchObject({ code: 404 });
  });
  it('answers every request, the exec upgrade and its refusal too, with its own Audit-Id: the id its audit record carries', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const path = `/api/v1/namespaces/shop/pods/${scenario.compromisedPod}`;
    const answers = [await fetch(lab.url + path, { headers: { Authorization: `Bearer ${scenario.collectorToken}` } }), await fetch(lab.url + path)];
    const ids = answers.map((r) => r.headers.get('audit-id') ?? '');
    expect(answers.map((r) => r.status)).toEqual([200, 401]);
    expect(ids.every((id) => uuid.test(id))).toBe(true);
    expect(ids[0]).not.toBe(ids[1]);
    expect(lab.audit.slice(-2).map((a) => [a.auditId, a.code])).toEqual([[ids[0], 200], [ids[1], 401]]);

    const upgrade = (token: string) =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const ws = new WebSocket(`${lab.url.replace('http', 'ws')}${path}/exec?container=app&command=id&stdout=true`, ['v4.channel.k8s.io'], { headers: { Authorization: `Bearer ${token}` } });
        ws.once('upgrade', (res) => {
          resolve(res);
          ws.close();
        });
        ws.once('unexpected-response', (_req, res) => {
          resolve(res);
          res.resume();
        });
        ws.once('error', reject);
      });
    const [opened, refused] = [await upgrade(scenario.collectorToken), await upgrade(scenario.noExecToken)];
    expect([opened.statusCode, refused.statusCode]).toEqual([101, 403]);
    const execAudit = lab.audit.filter((a) => a.subresource === 'exec').slice(-2);
    expect([opened.headers['audit-id'], refused.headers['audit-id']]).toEqual(execAudit.map((a) => a.auditId));
    expect(execAudit.every((a) => uuid.test(a.auditId))).toBe(true);
  });
});
