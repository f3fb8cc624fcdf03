// The optional ValidatingAdmissionPolicy that narrows `create networkpolicies` to the deny-all
// shape --isolate creates. Its CEL is evaluated here (./admission.ts, which says where that engine
// differs from the API server's) on the NetworkPolicy the provider's own --isolate stored in the
// lab, and on the allowing policies a stolen collector credential would create instead. The
// server-side dry run its comment shows is the check against a real API server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REGISTRY } from '../../../src/providers/registry.js';
import { COLLECTORS_GROUP, loadRbacManifests } from '../../../src/lab/kubernetes/index.js';
import { ISOLATION_LABEL, labelValueFor, networkPolicyNameFor } from '../../../src/providers/kubernetes/isolate.js';
import { K8S_OPERATIONS } from '../../../src/providers/kubernetes/operations.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import { parseTarget } from '../../../src/providers/targets.js';
import type { AdmissionRequest } from './admission.js';
import { admit, itIsAGaPolicyThatDeniesAndFailsClosed, loadAdmissionPolicy } from './admission.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';

const FILE = 'networkpolicy-admission-policy.yaml';
const shipped = loadAdmissionPolicy(FILE);
const { policy } = shipped;
const [POLICY_TYPES, INGRESS, EGRESS, SELECTOR, NAME] = policy.spec.validations.map((v) => v.message);

interface NetworkPolicy {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
    policyTypes?: string[];
    ingress?: unknown[];
    egress?: unknown[];
  };
}

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

function createBy(np: NetworkPolicy, groups: string[] = [COLLECTORS_GROUP], username = 'cloud-custody-collector'): AdmissionRequest {
  return {
    operation: 'CREATE',
    resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
    name: np.metadata.name,
    ...(np.metadata.namespace ? { namespace: np.metadata.namespace } : {}),
    userInfo: { username, groups: [...groups, 'system:authenticated'] },
  };
}

/** What the policy answers to creating `np` (a CREATE has no old object). */
function admitCreate(np: NetworkPolicy, request = createBy(np)) {
  return admit(policy, { request, object: np, oldObject: null });
}

/** `np` with `change` applied to a copy. */
function changed(np: NetworkPolicy, change: (copy: NetworkPolicy) => void): NetworkPolicy {
  const copy = structuredClone(np);
  change(copy);
  return copy;
}

/** Runs --isolate on the demo's compromised pod and returns the NetworkPolicy the lab stored, with the case's ledger. */
async function isolatedInLab(caseId: string) {
  fixture ??= await startFixture();
  const { lab, scenario } = fixture;
  const kase = await openTestCase(fixture, caseId);
  const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${scenario.compromisedPod}`), contextFor(kase, { isolate: true }));
  expect(outcome.status, outcome.reason).toBe('collected');
  const stored = structuredClone(lab.getObject('networkpolicies', 'shop', networkPolicyNameFor(caseId))) as unknown as NetworkPolicy;
  expect(stored).toBeDefined();
  const collector = scenario.cluster.subjects[scenario.collectorToken]!;
  return { kase, stored, collector };
}

/** The objects of the `kubectl create --dry-run=server` check in the file's comment, with the answer it promises. */
function dryRunsInComment(): Array<{ object: NetworkPolicy; answer: string }> {
  const text = readFileSync(join(import.meta.dirname, '../../../policies/kubernetes', FILE), 'utf8');
  return [...text.matchAll(/echo '(\{.*\})' \| kubectl create .*--dry-run=server -f -\s+# (allowed|denied)$/gm)].map((m) => ({ object: JSON.parse(m[1]!) as NetworkPolicy, answer: m[2]! }));
}

describe('the optional NetworkPolicy admission policy (policies/kubernetes/networkpolicy-admission-policy.yaml)', () => {
  itIsAGaPolicyThatDeniesAndFailsClosed(shipped);

  it('matches creates of NetworkPolicies only, since the shipped RBAC grants the collectors no update, patch or delete of them', () => {
    expect(policy.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: ['networking.k8s.io'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['networkpolicies'] }]);
    const verbs = loadRbacManifests()
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .flatMap((o) => ((o as { rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }).rules ?? []))
      .filter((r) => r.apiGroups.includes('networking.k8s.io') && r.resources.includes('networkpolicies'))
      .flatMap((r) => r.verbs);
    expect(verbs.sort()).toEqual(['create', 'get']);
    const mutations = Object.entries(K8S_OPERATIONS).filter(([, op]) => op.resource === 'networkpolicies' && op.mutates);
    expect(mutations.map(([name, op]) => [name, op.verb])).toEqual([['createNetworkPolicy', 'create']]);
    expect(policy.spec.matchConditions).toEqual([{ name: 'custody-collectors', expression: `'${COLLECTORS_GROUP}' in request.userInfo.groups` }]);
  });

  it('allows the deny-all NetworkPolicy the provider\'s own --isolate created, as the lab stored it', async () => {
    const { kase, stored, collector } = await isolatedInLab('IR-VAP-NP1');
    expect(admitCreate(stored, createBy(stored, collector.groups, collector.user))).toEqual({ matched: true, denied: [] });
    // The spec the ledger says was asked for is the one stored and evaluated.
    const asked = entriesOf(kase, 'change.requested').find((e) => e.data.change === 'deny-all-network-policy');
    expect(asked?.data.spec).toEqual({ podSelector: { matchLabels: { [ISOLATION_LABEL]: 'IR-VAP-NP1' } }, policyTypes: ['Ingress', 'Egress'] });
    expect(stored.spec).toEqual(asked?.data.spec);
    await kase.release();
  });

  it('answers the dry-run check in its comment as the comment says', () => {
    const runs = dryRunsInComment();
    const answers = runs.map(({ object }) => {
      const verdict = admitCreate({ ...object, metadata: { ...object.metadata, namespace: 'shop' } });
      return verdict.matched && verdict.denied.length > 0 ? 'denied' : 'allowed';
    });
    expect(answers).toEqual(['allowed', 'denied', 'denied']);
    expect(runs.map((r) => r.answer)).toEqual(answers);
  });

  it('denies a collector credential every NetworkPolicy that is not the deny-all shape, naming what it may not do', async () => {
    const { kase, stored } = await isolatedInLab('IR-VAP-NP2');
    await kase.release();
    const denied = (change: (np: NetworkPolicy) => void) => admitCreate(changed(stored, change));
    // Allow rules: an empty rule allows everything, a narrower one still lets something through.
    expect(denied((np) => { np.spec.ingress = [{}]; })).toEqual({ matched: true, denied: [INGRESS] });
    expect(denied((np) => { np.spec.ingress = [{ from: [{ ipBlock: { cidr: '45.9.148.0/24' } }], ports: [{ protocol: 'TCP', port: 22 }] }]; })).toEqual({ matched: true, denied: [INGRESS] });
    expect(denied((np) => { np.spec.egress = [{}]; })).toEqual({ matched: true, denied: [EGRESS] });
    expect(denied((np) => { np.spec.egress = [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }]; })).toEqual({ matched: true, denied: [EGRESS] });
    // A broader selector: every pod of the namespace, another label beside the isolate one, or an expression.
    expect(denied((np) => { np.spec.podSelector = {}; })).toEqual({ matched: true, denied: [SELECTOR] });
    expect(denied((np) => { np.spec.podSelector = { matchLabels: { app: 'web' } }; })).toEqual({ matched: true, denied: [SELECTOR] });
    expect(denied((np) => { np.spec.podSelector!.matchLabels!.app = 'web'; })).toEqual({ matched: true, denied: [SELECTOR] });
    expect(denied((np) => { np.spec.podSelector!.matchExpressions = [{ key: 'app', operator: 'Exists' }]; })).toEqual({ matched: true, denied: [SELECTOR] });
    expect(denied((np) => { np.spec.podSelector = { matchExpressions: [{ key: ISOLATION_LABEL, operator: 'Exists' }] }; })).toEqual({ matched: true, denied: [SELECTOR] });
    // A missing policy type: the API server defaults a policy sent without policyTypes to [Ingress].
    expect(denied((np) => { np.spec.policyTypes = ['Ingress']; })).toEqual({ matched: true, denied: [POLICY_TYPES] });
    expect(denied((np) => { np.spec.policyTypes = ['Egress']; })).toEqual({ matched: true, denied: [POLICY_TYPES] });
    expect(denied((np) => { delete np.spec.policyTypes; })).toEqual({ matched: true, denied: [POLICY_TYPES] });
    expect(denied((np) => { np.spec.policyTypes = ['Ingress', 'Ingress']; })).toEqual({ matched: true, denied: [POLICY_TYPES] });
    // Several at once: every refusal is named, in the policy's order.
    expect(denied((np) => { np.spec = { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{}], egress: [{}] }; })).toEqual({ matched: true, denied: [INGRESS, EGRESS, SELECTOR] });
  });

  it('denies a policy whose name is not the one its isolate label value gives, so no later case\'s name can be taken ahead of it', async () => {
    const { kase, stored } = await isolatedInLab('IR-VAP-NP5');
    await kase.release();
    const admitted = (change: (np: NetworkPolicy) => void) => admitCreate(changed(stored, change));
    // A later case's name, selecting this case's value or a decoy: its --isolate would find the name taken.
    expect(admitted((np) => { np.metadata.name = networkPolicyNameFor('IR-2026-099'); })).toEqual({ matched: true, denied: [NAME] });
    expect(admitted((np) => { np.metadata.name = networkPolicyNameFor('IR-2026-099'); np.spec.podSelector!.matchLabels![ISOLATION_LABEL] = 'decoy'; })).toEqual({ matched: true, denied: [NAME] });
    expect(admitted((np) => { np.metadata.name = 'cloud-custody-isolate'; })).toEqual({ matched: true, denied: [NAME] });
    expect(admitted((np) => { np.metadata.name = `${networkPolicyNameFor('IR-VAP-NP5')}-2`; })).toEqual({ matched: true, denied: [NAME] });
    // A selector without the isolate label is refused for that alone.
    expect(admitted((np) => { np.metadata.name = 'anything'; np.spec.podSelector = {}; })).toEqual({ matched: true, denied: [SELECTOR] });
  });

  it('allows the name the provider derives for every form of case id (case, ".", "_", ".-", 64 characters), and it is a DNS-1123 subdomain', async () => {
    const { kase, stored } = await isolatedInLab('IR-VAP-NP6');
    await kase.release();
    const longest = `IR-${'9'.repeat(59)}-x`; // 64 characters: the label value is cut to 63
    // The API server's validation of metadata.name (IsDNS1123Subdomain): dot-separated labels,
    // each starting and ending alphanumeric, so `.-`, `-.`, `_.` and `._` in a case id must not reach it.
    const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    for (const caseId of ['IR-2026-042', 'ir-2026-042', 'Case_7.B', 'a', longest, `${'A'.repeat(62)}-b`, 'IR.-7', 'IR-.7', 'IR_.7', 'IR._7', 'a.-.b', 'a-.-b', 'x._-.y']) {
      const own = changed(stored, (np) => { np.metadata.name = networkPolicyNameFor(caseId); np.spec.podSelector!.matchLabels![ISOLATION_LABEL] = labelValueFor(caseId); });
      expect(admitCreate(own), caseId).toEqual({ matched: true, denied: [] });
      expect(own.metadata.name, caseId).toMatch(dns1123Subdomain);
      expect(own.metadata.name.length, caseId).toBeLessThanOrEqual(253);
    }
    // Names of case ids isolated before (letters, digits, ".", "-", "_") are unchanged, so a resumed case finds its policy.
    expect(networkPolicyNameFor('IR-2026.12_03')).toBe('cloud-custody-isolate-ir-2026.12-03');
  });

  it('allows the deny-all shape under its own name whatever its labels and case, and empty rule lists as the API server omits them', async () => {
    const { kase, stored } = await isolatedInLab('IR-VAP-NP3');
    await kase.release();
    const allowed = (change: (np: NetworkPolicy) => void) => admitCreate(changed(stored, change));
    expect(allowed((np) => { np.spec.podSelector!.matchLabels![ISOLATION_LABEL] = 'IR-OTHER'; np.metadata.name = networkPolicyNameFor('IR-OTHER'); })).toEqual({ matched: true, denied: [] });
    expect(allowed((np) => { np.spec.policyTypes = ['Egress', 'Ingress']; })).toEqual({ matched: true, denied: [] });
    expect(allowed((np) => { np.spec.ingress = []; np.spec.egress = []; np.spec.podSelector!.matchExpressions = []; })).toEqual({ matched: true, denied: [] });
  });

  it('does not match anyone else, nor what is not a create of a NetworkPolicy', async () => {
    const { kase, stored } = await isolatedInLab('IR-VAP-NP4');
    await kase.release();
    const allowAll = changed(stored, (np) => { np.spec = { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{}], egress: [{}] }; });
    expect(admitCreate(allowAll, createBy(allowAll, ['system:masters'], 'admin'))).toEqual({ matched: false });
    expect(admitCreate(allowAll, createBy(allowAll, ['system:serviceaccounts', 'system:serviceaccounts:argocd'], 'system:serviceaccount:argocd:argocd-application-controller'))).toEqual({ matched: false });
    // A collector group spelt differently is another group.
    expect(admitCreate(allowAll, createBy(allowAll, ['cloud-custody:collector']))).toEqual({ matched: false });
    expect(admitCreate(allowAll, { ...createBy(allowAll), operation: 'UPDATE' })).toEqual({ matched: false });
    expect(admitCreate(allowAll, { ...createBy(allowAll), operation: 'DELETE' })).toEqual({ matched: false });
    expect(admitCreate(allowAll, { ...createBy(allowAll), resource: { group: '', version: 'v1', resource: 'pods' } })).toEqual({ matched: false });
  });
});
