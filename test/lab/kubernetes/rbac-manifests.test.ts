import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { COLLECTORS_GROUP, k8sDemoScenario, loadRbacManifests, SHIPPED_RBAC_DIR, startKubernetesLab, subjectFromManifests } from '../../../src/lab/kubernetes/index.js';
import type { K8sDemoScenario, KubernetesLab } from '../../../src/lab/kubernetes/index.js';

// Two nodes: the compromised pod's, whose just-in-time roles are bound, and another.
const INSTANCES = [
  { id: 'i-0a1b2c3d4e5f60718', availabilityZone: 'us-east-1a' },
  { id: 'i-0f1e2d3c4b5a69788', availabilityZone: 'us-east-1b' },
];

/** A copy of the shipped manifests, edited: the shipped files are never written. */
const copies: string[] = [];
function mutatedCopy(edits: Record<string, (text: string) => string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'custody-k8s-rbac-'));
  copies.push(dir);
  cpSync(SHIPPED_RBAC_DIR, dir, { recursive: true });
  for (const [file, edit] of Object.entries(edits)) {
    const before = readFileSync(join(dir, file), 'utf8');
    const after = edit(before);
    // An edit that matched nothing would prove nothing.
    expect(after, `${file} was not changed`).not.toBe(before);
    writeFileSync(join(dir, file), after);
  }
  return dir;
}

let lab: KubernetesLab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

async function start(dir?: string): Promise<{ lab: KubernetesLab; scenario: K8sDemoScenario }> {
  const scenario = k8sDemoScenario({ instances: INSTANCES, ...(dir ? { manifests: loadRbacManifests(dir) } : {}) });
  lab = await startKubernetesLab({ cluster: scenario.cluster });
  return { lab, scenario };
}

async function call(method: string, path: string, token: string, body?: unknown): Promise<number> {
  const res = await fetch(lab!.url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/merge-patch+json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The requests of a collection the edits below touch, as the collector makes them. */
async function decisions(s: K8sDemoScenario): Promise<Record<string, number>> {
  const other = s.cluster.nodes[1]!.name;
  const pod = `/api/v1/namespaces/shop/pods/${s.compromisedPod}`;
  return {
    log: await call('GET', `${pod}/log?container=app`, s.collectorToken),
    checkpointOwnNode: await call('POST', `/api/v1/nodes/${s.compromisedNode}/proxy/checkpoint/shop/${s.compromisedPod}/app`, s.collectorToken),
    checkpointOtherNode: await call('POST', `/api/v1/nodes/${other}/proxy/checkpoint/shop/${s.compromisedPod}/app`, s.collectorToken),
    cordonOtherNode: await call('PATCH', `/api/v1/nodes/${other}`, s.collectorToken, { spec: { unschedulable: true } }),
    helperPodInForensics: await call('GET', '/api/v1/namespaces/cloud-custody/pods/cloud-custody-helper', s.collectorToken),
  };
}

describe('the lab authorises from the RBAC manifests it is given', () => {
  it('with the shipped files: the node roles hold for the bound node only, the retriever in its namespace', async () => {
    const { scenario } = await start();
    expect(await decisions(scenario)).toEqual({
      log: 200,
      // Allowed: the 500 is the demo kubelet's (its runtime cannot checkpoint).
      checkpointOwnNode: 500,
      checkpointOtherNode: 403,
      cordonOtherNode: 403,
      // Allowed, then not found: no helper pod is running.
      helperPodInForensics: 404,
    });
  });

  it('follows an edited copy: a removed verb, dropped resourceNames and a moved RoleBinding change the answers', async () => {
    const dir = mutatedCopy({
      'collector-role.yaml': (t) => t.replace('resources: ["pods/log"]\n    verbs: ["get"]', 'resources: ["pods/log"]\n    verbs: ["list"]'),
      'node-checkpoint-role.yaml': (t) => t.replace('    resourceNames: ["NODE"]\n', ''),
      'node-cordon-role.yaml': (t) => t.replace('    resourceNames: ["NODE"]\n', ''),
      'checkpoint-retriever-role.yaml': (t) => t.replace('namespace: cloud-custody', 'namespace: elsewhere'),
    });
    const { scenario } = await start(dir);
    expect(await decisions(scenario)).toEqual({
      log: 403,
      checkpointOwnNode: 500,
      // Any node now: allowed, and the other node's kubelet answers as the demo's do.
      checkpointOtherNode: 500,
      cordonOtherNode: 200,
      helperPodInForensics: 403,
    });
    expect(lab!.audit.filter((a) => a.code === 403).map((a) => `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''} ${a.namespace ?? ''}`)).toEqual([
      'get pods/log shop',
      'get pods cloud-custody',
    ]);
  });

  it('grants nothing without a binding: with the collector RoleBinding cut from its file, even reading the pod is refused', async () => {
    const dir = mutatedCopy({ 'collector-role.yaml': (t) => t.slice(0, t.indexOf('\n---\n') + 1) });
    const { scenario } = await start(dir);
    expect(await call('GET', `/api/v1/namespaces/shop/pods/${scenario.compromisedPod}`, scenario.collectorToken)).toBe(403);
    expect(await call('GET', `/api/v1/nodes/${scenario.compromisedNode}`, scenario.collectorToken)).toBe(200);
  });
});

describe('subjectFromManifests', () => {
  it('binds the just-in-time roles for the nodes named, and for none when none is named', () => {
    const manifests = loadRbacManifests();
    const nodeRules = (nodes: string[]) =>
      subjectFromManifests(manifests, { user: 'u', groups: [COLLECTORS_GROUP], namespaces: ['shop'], jitNodes: nodes }).rules.filter((r) => r.resources.includes('nodes/proxy') || (r.verbs.includes('patch') && r.resources.includes('nodes')));
    expect(nodeRules(['n1', 'n2']).map((r) => [r.resources, r.verbs, r.resourceNames])).toEqual([
      [['nodes/proxy'], ['create'], ['n1', 'n2']],
      [['nodes'], ['patch'], ['n1', 'n2']],
    ]);
    // An empty resourceNames would grant every node: no node bound means no rule at all.
    expect(nodeRules([])).toEqual([]);
  });
});
