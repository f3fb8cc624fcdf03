import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runKubernetesPreflight } from '../../../src/providers/kubernetes/index.js';
import { SHIPPED_ADMISSION_POLICIES } from '../../../src/providers/kubernetes/admission-policies.js';
import { kubernetesModule } from '../../../src/providers/kubernetes/module.js';
import { REGISTRY } from '../../../src/providers/registry.js';
import { preflightExitCode, renderPreflight } from '../../../src/cli/commands/preflight.js';
import { describeOperation, K8S_OPERATIONS } from '../../../src/providers/kubernetes/operations.js';
import type { K8sFixture } from './helpers.js';

/** policies/kubernetes/ of this checkout, by absolute path: where the product under test runs from. */
const SHIPPED = fileURLToPath(new URL('../../../policies/kubernetes', import.meta.url));
import { startFixture } from './helpers.js';

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('Kubernetes preflight', () => {
  it('finds every declared operation allowed for a collector bound with the shipped roles, changing nothing', async () => {
    fixture = await startFixture();
    const rows = await runKubernetesPreflight({ config: fixture.config, namespaces: ['shop'] });
    // The just-in-time roles name their node (resourceNames), and a review names none: a real API
    // server denies it even while the node's binding exists. That is the deployment as shipped,
    // not a denial: preflight says they are not bound, and to bind them then.
    expect(rows.filter((r) => r.result !== 'ok').map((r) => [r.check, r.result, r.need, r.detail])).toEqual([
      ['checkpointContainer', 'not bound', 'just in time', "not held on every node, as intended: bind cloud-custody-node-checkpoint (policies/kubernetes/node-checkpoint-role.yaml) for the pod's node during a collection"],
      ['cordonNode', 'not bound', 'just in time', "not held on every node, as intended: bind cloud-custody-node-cordon (policies/kubernetes/node-cordon-role.yaml) for the pod's node during a collection"],
    ]);
    expect(rows.some((r) => r.result === 'denied')).toBe(false);
    expect(rows.map((r) => r.check)).toEqual(expect.arrayContaining(['readPod', 'execInPod', 'readPodLog', 'readNode', 'checkpointContainer', 'cordonNode']));
    expect(rows.find((r) => r.check === 'readPod')).toMatchObject({ cluster: 'lab', namespace: 'shop', action: 'k8s:get pods', need: 'required' });
    // Helper pods for --retrieve-checkpoint are checked where they run: the forensics namespace.
    expect(rows.filter((r) => r.need === '--retrieve-checkpoint').map((r) => r.namespace)).toEqual(Array(5).fill('cloud-custody'));
    // The optional admission policies, installed in the lab: one row each, read by name.
    expect(rows.filter((r) => r.check === 'readAdmissionPolicy').map((r) => [r.namespace, r.result, r.need, r.detail])).toEqual(
      SHIPPED_ADMISSION_POLICIES.map((p) => ['(cluster)', 'ok', 'optional', `ValidatingAdmissionPolicy and binding ${p.name}: installed and bound with Deny (${p.file})`]),
    );
    // Reads only: access reviews, and the six admission objects by name.
    const reads = fixture.lab.audit.filter((a) => a.resource !== 'selfsubjectaccessreviews');
    expect(reads.map((a) => [a.method, a.resource, a.name, a.code])).toEqual(
      SHIPPED_ADMISSION_POLICIES.flatMap((p) => [['GET', 'validatingadmissionpolicies', p.name, 200], ['GET', 'validatingadmissionpolicybindings', p.name, 200]]),
    );
  });

  it('warns, without failing preflight, for each admission policy not installed or not denying, and says how to install it', async () => {
    fixture = await startFixture((cluster) => {
      // One policy bound to warn only, the other two not installed.
      const pod = cluster.admission!.find((b) => b.policy.metadata.name === 'cloud-custody-pod-isolate-label-only')!;
      cluster.admission = [{ policy: pod.policy, binding: { ...pod.binding, spec: { ...pod.binding.spec, validationActions: ['Warn'] } } }];
    });
    const rows = await kubernetesModule.preflight!({ config: fixture.config, targets: [], scopes: { namespace: ['shop'] } }, REGISTRY.createServices());
    const admission = rows.filter((r) => r.check === 'readAdmissionPolicy');
    expect(admission.map((r) => [r.scope, r.result, r.need])).toEqual(SHIPPED_ADMISSION_POLICIES.map(() => [['lab', '(cluster)'], 'warning', 'optional']));
    expect(admission.map((r) => r.detail)).toEqual([
      `ValidatingAdmissionPolicy and binding cloud-custody-networkpolicy-deny-all-only: not installed (optional, Kubernetes 1.30+; it narrows --isolate: create networkpolicies to the deny-all policy under its own name): kubectl apply -f ${SHIPPED}/networkpolicy-admission-policy.yaml`,
      `ValidatingAdmissionPolicy and binding cloud-custody-node-cordon-only: not installed (optional, Kubernetes 1.30+; it narrows --isolate: the just-in-time patch nodes to the cordon): kubectl apply -f ${SHIPPED}/node-cordon-admission-policy.yaml`,
      `ValidatingAdmissionPolicy and binding cloud-custody-pod-isolate-label-only: the binding cloud-custody-pod-isolate-label-only does not deny with this policy (policyName cloud-custody-pod-isolate-label-only, validationActions Warn): kubectl apply -f ${SHIPPED}/pod-patch-admission-policy.yaml`,
    ]);
    // The command names the file where this custody is installed: it works from any folder.
    for (const p of SHIPPED_ADMISSION_POLICIES) expect(existsSync(join(SHIPPED, p.file)), p.file).toBe(true);
    // Optional: the exit code is that of the required checks alone.
    expect(preflightExitCode(rows)).toBe(0);
  });

  it('warns, without failing preflight, when a just-in-time grant is held on every node: a standing nodes/proxy is a shell on every pod', async () => {
    fixture = await startFixture((cluster, s) => {
      // The checkpoint role bound cluster-wide, without its node: what docs/kubernetes.md warns against.
      cluster.subjects[s.collectorToken]!.rules.push({ apiGroups: [''], resources: ['nodes/proxy'], verbs: ['create'] });
    });
    const rows = await kubernetesModule.preflight!({ config: fixture.config, targets: [], scopes: { namespace: ['shop'] } }, REGISTRY.createServices());
    expect(rows.filter((r) => r.need === 'just in time').map((r) => [r.check, r.result, r.detail])).toEqual([
      ['checkpointContainer', 'warning', 'allowed on every node: a standing grant of create nodes/proxy; bind cloud-custody-node-checkpoint (policies/kubernetes/node-checkpoint-role.yaml) for the one node, only during a collection (docs/kubernetes.md)'],
      ['cordonNode', 'not bound', "not held on every node, as intended: bind cloud-custody-node-cordon (policies/kubernetes/node-cordon-role.yaml) for the pod's node during a collection"],
    ]);
    expect(preflightExitCode(rows)).toBe(0);
    const summary = renderPreflight(rows).split('\n').at(-1);
    expect(summary).toBe(`All ${rows.filter((r) => r.need === 'required').length} required checks passed. 1 optional safeguard is not in place (warning rows). 1 role bound only during an incident is not bound now (not bound rows). Nothing was changed.`);
  });

  it('the table names each row\'s API verb and resource in ACTION, the admission policy in DETAIL: no row widens the table beyond the declared operations', async () => {
    fixture = await startFixture();
    const rows = await kubernetesModule.preflight!({ config: fixture.config, targets: [], scopes: { namespace: ['shop'] } }, REGISTRY.createServices());
    const declared = Object.values(K8S_OPERATIONS).map((op) => `k8s:${describeOperation(op)}`);
    expect(rows.filter((r) => !declared.includes(r.action))).toEqual([]);
    const admission = rows.filter((r) => r.check === 'readAdmissionPolicy');
    expect(admission.map((r) => [r.action, r.detail.slice(0, r.detail.indexOf(':'))])).toEqual(
      SHIPPED_ADMISSION_POLICIES.map((p) => ['k8s:get admissionregistration.k8s.io/validatingadmissionpolicies', `ValidatingAdmissionPolicy and binding ${p.name}`]),
    );
    const [header, ...lines] = renderPreflight(rows).split('\n');
    const actionWidth = header!.indexOf('NEEDED') - header!.indexOf('ACTION') - 2;
    expect(actionWidth).toBe(Math.max(...rows.map((r) => r.action.length)));
    expect(actionWidth).toBeLessThanOrEqual(Math.max(...declared.map((a) => a.length)));
    // The policy's name is in the row (DETAIL), not lost with the shorter ACTION.
    for (const p of SHIPPED_ADMISSION_POLICIES) expect(lines.find((l) => l.includes(`binding ${p.name}:`))).toMatch(/readAdmissionPolicy\s+ok\s+k8s:get admissionregistration\.k8s\.io\/validatingadmissionpolicies\s+optional\s+ValidatingAdmissionPolicy/);
  });

  it('without --namespace checks the namespaces the cluster is configured with, else default; --namespace wins', async () => {
    fixture = await startFixture();
    const bound = { ...fixture.config, kubernetes: { clusters: { lab: { ...fixture.config.kubernetes!.clusters.lab!, namespaces: ['shop'] } } } };
    const namespacesOf = (rows: Awaited<ReturnType<typeof runKubernetesPreflight>>) => [...new Set(rows.filter((r) => r.check === 'readPod').map((r) => r.namespace))];
    expect(namespacesOf(await runKubernetesPreflight({ config: bound }))).toEqual(['shop']);
    expect(namespacesOf(await runKubernetesPreflight({ config: fixture.config }))).toEqual(['default']);
    expect(namespacesOf(await runKubernetesPreflight({ config: bound, namespaces: ['payments'] }))).toEqual(['payments']);
  });

  it('names the missing grants of a collector bound without exec or containment, and which role grants them', async () => {
    fixture = await startFixture(undefined, 'lab-k8s-reader-without-exec-token');
    const rows = await runKubernetesPreflight({ config: fixture.config, namespaces: ['shop', 'payments'] });
    const denied = rows.filter((r) => r.result === 'denied' && r.need === 'required' && r.namespace === 'shop');
    expect(denied.map((r) => r.action).sort()).toEqual(['k8s:create pods/exec', 'k8s:get pods/exec']);
    expect(denied[0]!.detail).toMatch(/bind cloud-custody-collector \(policies\/kubernetes\/collector-role\.yaml\)/);
    // The reader is bound in shop only, as the shipped RoleBinding is bound per namespace.
    expect(rows.find((r) => r.check === 'readPod' && r.namespace === 'shop')?.result).toBe('ok');
    expect(rows.find((r) => r.check === 'readPod' && r.namespace === 'payments')).toMatchObject({ result: 'denied', detail: expect.stringMatching(/bind cloud-custody-collector/) });
    expect(rows.find((r) => r.check === 'createNetworkPolicy' && r.namespace === 'shop')).toMatchObject({ result: 'denied', need: '--isolate' });
    expect(rows.find((r) => r.check === 'checkpointContainer')).toMatchObject({ result: 'not bound', need: 'just in time', detail: expect.stringContaining('policies/kubernetes/node-checkpoint-role.yaml') });
    // Without the preflight role, whether the admission policies are installed cannot be told.
    expect(rows.filter((r) => r.check === 'readAdmissionPolicy').map((r) => [r.result, r.need])).toEqual(SHIPPED_ADMISSION_POLICIES.map(() => ['denied', 'optional']));
    expect(rows.find((r) => r.check === 'readAdmissionPolicy')?.detail).toMatch(/^ValidatingAdmissionPolicy and binding cloud-custody-[a-z-]+: cannot tell whether it is installed \(Kubernetes refused get admissionregistration\.k8s\.io\/validatingadmissionpolicies .*\): kubectl apply -f (\S+)$/);
    expect(rows.find((r) => r.check === 'readAdmissionPolicy')?.detail).toMatch(new RegExp(`: kubectl apply -f ${SHIPPED}/preflight-role\\.yaml$`));
  });

  it('reports an unreadable kubeconfig as an error row instead of throwing', async () => {
    fixture = await startFixture();
    const config = { ...fixture.config, kubernetes: { clusters: { broken: { kubeconfig: '/nonexistent/kubeconfig' } } } };
    const rows = await runKubernetesPreflight({ config });
    expect(rows).toEqual([expect.objectContaining({ cluster: 'broken', result: 'error', detail: expect.stringMatching(/cannot load kubeconfig \/nonexistent\/kubeconfig/) })]);
  });

  it('a kubeconfig that is not valid YAML is named with the parser\'s reason, never the lines it quotes (they hold tokens)', async () => {
    fixture = await startFixture();
    const dir = await mkdtemp(join(tmpdir(), 'custody-kubeconfig-'));
    const kubeconfig = join(dir, 'kubeconfig');
    // A duplicated key two lines from the user's token: js-yaml quotes the lines around it.
    await writeFile(
      kubeconfig,
      ['apiVersion: v1', 'kind: Config', 'users:', '- name: responder', '  user:', '    token: kubeadm.SECRETabcdef0123', '    token: again', 'clusters: []', ''].join('\n'),
    );
    const config = { ...fixture.config, kubernetes: { clusters: { broken: { kubeconfig } } } };
    const rows = await runKubernetesPreflight({ config });
    expect(rows).toEqual([expect.objectContaining({ cluster: 'broken', result: 'error', detail: expect.stringMatching(/cannot load kubeconfig .*duplicated mapping key/) })]);
    expect(JSON.stringify(rows)).not.toContain('SECRET');
  });
});
