import { REGISTRY } from '../../../src/providers/registry.js';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/providers/targets.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';
import { loadRbacManifests, roleRules } from '../../../src/lab/kubernetes/index.js';

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function collect(f: K8sFixture, pod = f.scenario.compromisedPod) {
  const provider = createKubernetesProvider(f.config, {}, REGISTRY.createServices());
  const kase = await openTestCase(f);
  const outcome = await provider.collect(parseTarget(`k8s:lab/${f.scenario.namespace}/${pod}`), contextFor(kase));
  const names = entriesOf(kase, 'evidence.stored').map((e) => e.data.name);
  return { kase, outcome, names };
}

describe('when the pod or the cluster gets in the way', () => {
  it('a pod deleted mid-collection ends as partial, keeping what was taken and still naming its node', async () => {
    // Served: the pod GET and two exec sessions; the third exec finds the pod gone.
    fixture = await startFixture((cluster, s) => {
      cluster.pods.find((p) => p.name === s.compromisedPod)!.vanishAfterRequests = 3;
    });
    const { kase, outcome, names } = await collect(fixture);
    expect(outcome.status).toBe('partial');
    expect(outcome.error?.code).toBe('E_NOT_FOUND');
    expect(outcome.reason).toMatch(/vanished/);
    expect(names).toEqual(expect.arrayContaining(['pod.json', 'events.json', 'exec-app-processes.out', 'exec-app-net-tcp.out']));
    expect(names.some((n) => String(n).startsWith('log-'))).toBe(false);
    expect(entriesOf(kase, 'pod.vanished')).toHaveLength(1);
    // No log or checkpoint request was made after the pod was known gone.
    const afterGone = fixture.lab.audit.slice(fixture.lab.audit.findIndex((a) => a.code === 404) + 1);
    expect(afterGone.filter((a) => a.resource === 'pods' || a.subresource === 'proxy')).toEqual([]);
    // The node was read before the pod vanished: it is still preserved.
    expect(outcome.followUps?.[0]).toMatchObject({ kind: 'aws-instance', instanceId: fixture.scenario.compromisedInstanceId });
    await kase.release();
  });

  it('a pod that does not exist fails with E_NOT_FOUND and collects nothing', async () => {
    fixture = await startFixture();
    const { kase, outcome, names } = await collect(fixture, 'web-gone-12345');
    expect(outcome).toMatchObject({ status: 'failed', evidenceIds: [], error: { code: 'E_NOT_FOUND', resource: 'k8s:lab/shop/web-gone-12345' } });
    // It never existed: "not found", never "vanished during collection".
    expect(outcome.reason).toMatch(/^pod k8s:lab\/shop\/web-gone-12345 was not found/);
    expect(outcome.reason).not.toMatch(/vanished/);
    expect(names).toEqual([]);
    expect(entriesOf(kase, 'pod.vanished')).toEqual([]);
    await kase.release();
  });

  it('exec refused by RBAC is recorded naming create pods/exec, and logs are still taken', async () => {
    fixture = await startFixture(undefined, 'lab-k8s-reader-without-exec-token');
    const { kase, outcome, names } = await collect(fixture);
    expect(outcome.status).toBe('partial');
    expect(outcome.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'k8s:create pods/exec', resource: 'k8s:lab/shop/web-7d9f8b6c5d-x2x7k' });
    expect(outcome.reason).toMatch(/Kubernetes refused create pods\/exec on k8s:lab\/shop\/web-7d9f8b6c5d-x2x7k(: .*)?\. The cloud-custody-collector role grants it \(policies\/kubernetes\/collector-role\.yaml; how to bind it: docs\/kubernetes\.md\)\.$/);
    // One refused attempt, not one per command.
    const refused = fixture.lab.audit.filter((a) => a.subresource === 'exec');
    expect(refused).toEqual([expect.objectContaining({ code: 403, verb: 'create', user: 'cloud-custody-reader' })]);
    expect(entriesOf(kase, 'exec.requested')).toHaveLength(1);
    expect(names).toEqual(expect.arrayContaining(['pod.json', 'events.json', 'log-app.log', 'log-app-previous.log', 'log-migrate.log']));
    // Without nodes/proxy the checkpoint probe is refused by RBAC: recorded, not a failure.
    const checkpoint = entriesOf(kase, 'checkpoint.unavailable')[0]!;
    expect(checkpoint.data).toMatchObject({ httpStatus: 403 });
    expect(String(checkpoint.data.meaning)).toMatch(/RBAC refused nodes\/proxy create/);
    await kase.release();
  });

  it.each([
    [404, /feature gate off/],
    [403, /kube-apiserver-kubelet-client|kubelet refused/],
    [500, /runtime could not checkpoint/],
  ] as const)('a checkpoint answered %i by the kubelet is recorded with its meaning and the pod is still collected', async (code, meaning) => {
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) node.checkpoint = code;
    });
    const { kase, outcome } = await collect(fixture);
    expect(outcome.status).toBe('collected');
    const unavailable = entriesOf(kase, 'checkpoint.unavailable');
    expect(unavailable.map((e) => e.data.httpStatus)).toEqual([code, code]);
    expect(String(unavailable[0]!.data.meaning)).toMatch(meaning);
    expect(entriesOf(kase, 'checkpoint.created')).toEqual([]);
    await kase.release();
  });

  it('a checkpoint the kubelet takes is recorded as an artefact on the node, and says it was not retrieved', async () => {
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) node.checkpoint = 200;
    });
    const { kase, outcome } = await collect(fixture);
    expect(outcome.status).toBe('collected');
    const created = entriesOf(kase, 'checkpoint.created');
    expect(created.map((e) => e.data.container)).toEqual(['app', 'log-shipper']);
    expect((created[0]!.data.archives as string[])[0]).toMatch(/^\/var\/lib\/kubelet\/checkpoints\/checkpoint-web-7d9f8b6c5d-x2x7k_shop-app-\d{8}T\d{6}\.tar$/);
    const artifacts = entriesOf(kase, 'artifact.recorded');
    expect(artifacts[0]!.data).toMatchObject({ kind: 'container-checkpoint', cloudIds: { node: fixture.scenario.compromisedNode } });
    expect(entriesOf(kase, 'checkpoint.not-retrieved')[0]!.data.reason).toMatch(/opt-in/);
    // The request went to the node proxy as a POST, authorised as create nodes/proxy.
    expect(fixture.lab.audit.filter((a) => a.subresource === 'proxy').map((a) => [a.method, a.verb, a.code])).toEqual([
      ['POST', 'create', 200],
      ['POST', 'create', 200],
    ]);
    await kase.release();
  });

  it('a collector without nodes get still collects the pod and records why the node cannot be mapped', async () => {
    fixture = await startFixture((cluster, s) => {
      // Only the shipped collector role, bound in shop: no node reader binding.
      cluster.subjects[s.collectorToken] = { user: 'namespace-only', rules: roleRules(loadRbacManifests(), 'cloud-custody-collector', ['shop']) };
    });
    const { kase, outcome, names } = await collect(fixture);
    expect(outcome.status).toBe('partial');
    expect(outcome.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'k8s:get nodes' });
    expect(outcome.followUps).toBeUndefined();
    expect(names).toEqual(expect.arrayContaining(['pod.json', 'log-app.log']));
    await kase.release();
  });
});
