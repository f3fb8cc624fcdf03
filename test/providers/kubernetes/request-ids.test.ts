// An examiner matches each Kubernetes answer in the ledger to the cluster's audit log by the
// Audit-Id the API server sent with it (the audit log's `auditID`). The lab files every request
// under the id it answers with, so each recorded id must name exactly the request that was made.
import { REGISTRY } from '../../../src/providers/registry.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { FORENSICS_NAMESPACE } from '../../../src/lab/kubernetes/index.js';
import type { LabAuditRecord } from '../../../src/lab/kubernetes/index.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** The lab's audit record filed under `id`, which must be exactly one. */
function request(id: unknown): LabAuditRecord {
  const found = fixture!.lab.audit.filter((a) => a.auditId === id);
  expect(found, `audit id ${String(id)}`).toHaveLength(1);
  return found[0]!;
}

const call = (a: LabAuditRecord) => `${a.method} ${a.path} ${a.code}`;

describe('request ids of Kubernetes answers', () => {
  it('every read stored as evidence, every exec, containment change and checkpoint carries the Audit-Id the API server answered with', async () => {
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) node.checkpoint = 200;
    });
    const { scenario } = fixture;
    const kase = await openTestCase(fixture, 'IR-AUDIT-1');
    const pod = `/api/v1/namespaces/shop/pods/${scenario.compromisedPod}`;
    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${scenario.compromisedPod}`), contextFor(kase, { isolate: true }));
    expect(outcome.status, outcome.reason).toBe('collected');

    // Reads: each file names the one request that returned its content.
    const stored = entriesOf(kase, 'evidence.stored');
    expect(stored.length).toBeGreaterThan(8);
    for (const e of stored) {
      const ids = e.data.requestIds as unknown[];
      expect(ids, String(e.data.name)).toHaveLength(1);
      const exec = String(e.data.kind).startsWith('exec-');
      expect(call(request(ids[0])), String(e.data.name)).toBe(`GET ${String(e.data.source).split('?')[0]!} ${exec ? 101 : 200}`);
    }
    const reads = stored.filter((e) => !String(e.data.kind).startsWith('exec-')).map((e) => (e.data.requestIds as string[])[0]);
    expect(new Set(reads).size).toBe(reads.length);

    // Exec: the upgrade's Audit-Id, in exec.completed and on the output file.
    const completed = entriesOf(kase, 'exec.completed');
    expect(completed.length).toBeGreaterThan(0);
    expect(completed.map((e) => call(request(e.data.requestId)))).toEqual(completed.map(() => `GET ${pod}/exec 101`));
    expect(new Set(completed.map((e) => e.data.requestId)).size).toBe(completed.length);
    expect(completed.map((e) => fixture!.lab.audit.find((a) => a.auditId === e.data.requestId)!.auditId)).toEqual(
      fixture.lab.audit.filter((a) => a.subresource === 'exec').map((a) => a.auditId),
    );

    // Containment: the patch, the policy and the cordon, each with its own answer's id.
    const applied = entriesOf(kase, 'change.applied').map((e) => [e.data.change, call(request(e.data.requestId))]);
    expect(applied).toEqual([
      ['label-pod', `PATCH ${pod} 200`],
      ['deny-all-network-policy', `POST /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies 201`],
      ['cordon-node', `PATCH /api/v1/nodes/${scenario.compromisedNode} 200`],
    ]);

    // Checkpoint: the node proxy's answer.
    const created = entriesOf(kase, 'checkpoint.created');
    expect(created.map((e) => call(request(e.data.requestId)))).toEqual(
      ['app', 'log-shipper'].map((c) => `POST /api/v1/nodes/${scenario.compromisedNode}/proxy/checkpoint/shop/${scenario.compromisedPod}/${c} 200`),
    );

    // Who the API server took the collector for.
    const connected = entriesOf(kase, 'cluster.connected')[0]!;
    expect(call(request((connected.data.identity as Record<string, unknown>).requestId))).toBe('POST /apis/authentication.k8s.io/v1/selfsubjectreviews 201');
    await kase.release();
  });

  it('a refusal carries the id too: the kubelet\'s 403 to a checkpoint and RBAC\'s 403 to exec', async () => {
    fixture = await startFixture((cluster, s) => {
      for (const node of cluster.nodes) node.checkpoint = 403;
      const subject = cluster.subjects[s.collectorToken]!;
      subject.rules = subject.rules.filter((r) => !r.resources.includes('pods/exec'));
    });
    const { scenario } = fixture;
    const kase = await openTestCase(fixture, 'IR-AUDIT-2');
    await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${scenario.compromisedPod}`), contextFor(kase));
    const unavailable = entriesOf(kase, 'checkpoint.unavailable');
    expect(unavailable.map((e) => [e.data.httpStatus, call(request(e.data.requestId))])).toEqual(
      ['app', 'log-shipper'].map((c) => [403, `POST /api/v1/nodes/${scenario.compromisedNode}/proxy/checkpoint/shop/${scenario.compromisedPod}/${c} 403`]),
    );
    const refused = entriesOf(kase, 'step.failed').filter((e) => e.data.step === 'volatile');
    expect(refused.map((e) => (e.data.error as Record<string, unknown>).code)).toEqual(['E_ACCESS_DENIED']);
    expect(call(request((refused[0]!.data.error as Record<string, unknown>).requestId))).toBe(`GET /api/v1/namespaces/shop/pods/${scenario.compromisedPod}/exec 403`);
    await kase.release();
  });
  it('a checkpoint copied off the node: the helper pod\'s creation and deletion and the copy\'s exec each carry their own id', async () => {
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) node.checkpoint = 200;
    });
    const kase = await openTestCase(fixture, 'IR-AUDIT-3');
    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}/app`), contextFor(kase, { retrieveCheckpoint: true }));
    expect(outcome.status, outcome.reason).toBe('collected');
    const helperPod = `/api/v1/namespaces/${FORENSICS_NAMESPACE}/pods`;
    const applied = entriesOf(kase, 'change.applied').map((e) => [e.data.change, call(request(e.data.requestId))]);
    expect(applied).toEqual([
      ['create-helper-pod', `POST ${helperPod} 201`],
      ['delete-helper-pod', expect.stringMatching(new RegExp(`^DELETE ${helperPod}/cloud-custody-retrieve-[0-9a-f]{12} 200$`))],
    ]);
    const retrieved = entriesOf(kase, 'checkpoint.retrieved')[0]!;
    expect(call(request(retrieved.data.requestId))).toMatch(new RegExp(`^GET ${helperPod}/cloud-custody-retrieve-[0-9a-f]{12}/exec 101$`));
    const archive = entriesOf(kase, 'evidence.stored').find((e) => e.data.kind === 'container-checkpoint-archive')!;
    expect(archive.data.requestIds).toEqual([retrieved.data.requestId]);
    await kase.release();
  });
});
