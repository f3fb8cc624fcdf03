/**
 * A GKE pod: its node's `spec.providerID` (`gce://PROJECT/ZONE/INSTANCE`) is mapped by the GCP
 * module through the registry, and the node's instance and disks are collected into the same
 * case by the GCP provider — through the real CLI, the Kubernetes lab and the GCP lab.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { gcpDemoScenario, startGcpLab, type GcpLab } from '../../src/lab/gcp/index.js';
import { k8sDemoScenario, startKubernetesLab } from '../../src/lab/kubernetes/index.js';
import { writeKubeconfig } from '../providers/kubernetes/helpers.js';
import { pointAdcAt } from '../providers/gcp/fixture.js';
import { custody } from './cli-run.js';

// Each test runs whole collections against the loopback lab with the real Google clients: on a
// loaded machine that can take longer than the default; correctness never depends on the time.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

let gcp: GcpLab;
let k8s: Awaited<ReturnType<typeof startKubernetesLab>>;
let dir: string;
let configPath: string;
const scenario = k8sDemoScenario({ instances: [{ id: 'i-0123456789abcdef0', availabilityZone: 'us-central1-b' }] });
const NODE = '//compute.googleapis.com/projects/gke-prod/zones/us-central1-b/instances/gke-prod-pool-1-abcd';

let restoreAdc: (() => void) | undefined;
beforeAll(async () => {
  for (const node of scenario.cluster.nodes) node.providerID = 'gce://gke-prod/us-central1-b/gke-prod-pool-1-abcd';
  gcp = await startGcpLab(gcpDemoScenario());
  restoreAdc = pointAdcAt(gcp);
  k8s = await startKubernetesLab({ cluster: scenario.cluster });
  dir = mkdtempSync(join(tmpdir(), 'custody-gke-'));
  const kubeconfig = await writeKubeconfig(dir, k8s.url, scenario.collectorToken);
  configPath = join(dir, 'custody.config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      casesDir: 'cases',
      keysDir: 'keys',
      // operationPollMs: the lab's operations finish at the first wait; 50 ms, not the shipped 2 s.
      gcp: { forensicsProject: 'custody-forensics', allowedProjects: ['web-prod', 'gke-prod'], endpoints: gcp.endpoints, operationPollMs: 50 },
      kubernetes: { clusters: { gke: { kubeconfig, context: 'lab' } } },
    }),
  );
});
afterAll(async () => {
  await k8s?.close();
  await gcp?.stop();
  restoreAdc?.();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a GKE pod and its node', () => {
  it('collects the pod, maps its gce:// node to the instance and snapshots its disk into the forensics project', async () => {
    const run = await custody(['collect', '--case', 'INC-GKE', '--analyst', 'alice', '--config', configPath, '--json', `k8s:gke/${scenario.namespace}/${scenario.compromisedPod}`], { cwd: dir });
    const doc = JSON.parse(run.stdout) as { outcomes: Array<{ target: string; status: string }> };
    expect(doc.outcomes.map((o) => o.target)).toContain(NODE);
    expect(doc.outcomes.find((o) => o.target === NODE)?.status).toBe('collected');
    const entries = readFileSync(join(dir, 'cases', 'INC-GKE', 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    expect(entries.find((e) => e.type === 'node.mapped')?.data).toMatchObject({ cloud: 'gce', project: 'gke-prod', followUp: NODE });
    expect([...gcp.state.snapshots.values()].map((s) => [s.project, s.sourceDisk])).toEqual([['custody-forensics', 'projects/gke-prod/zones/us-central1-b/disks/gke-prod-pool-1-abcd']]);
    expect(run.code === EXIT.OK || run.code === EXIT.PARTIAL).toBe(true);
    const verify = await custody(['verify', join(dir, 'cases', 'INC-GKE')], { cwd: dir });
    expect(verify.code).toBe(EXIT.OK);
  }, 240_000);
});
