/**
 * The GCP part of `custody demo`: the GCP lab (gcpDemoScenario, decided by the shipped
 * policies/gcp/ with the evidence hold bound) and a GKE cluster whose node is its
 * gke-prod-pool-1-abcd instance. Its targets: the tagged web-1 (boot and data disk), the
 * compromised pod (followed to its node's instance), and the untagged legacy-1 the collector
 * role's tag condition refuses.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gcpDemoScenario, GCP_LAB_ORG, startGcpLab } from '../gcp/index.js';
import { startGkeDemoLab } from '../kubernetes/demo.js';
import type { DemoCaseCheck, DemoPart } from './part.js';

const COMPUTE = '//compute.googleapis.com/projects';

export async function startGcpDemoPart(): Promise<DemoPart> {
  const scenario = gcpDemoScenario();
  // Holds the cluster's kubeconfig and an empty gcloud config folder (so ADC cannot find a real
  // gcloud login on this machine); removed when the part closes.
  const dir = mkdtempSync(join(tmpdir(), 'custody-demo-gcp-'));
  let lab;
  let gke;
  try {
    lab = await startGcpLab(scenario, { evidenceHold: true });
    gke = await startGkeDemoLab({ node: { project: 'gke-prod', zone: 'us-central1-b', name: 'gke-prod-pool-1-abcd' }, dir, namespace: 'payments' });
  } catch (error) {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const gcpLab = lab;
  const cluster = gke;
  const projects = scenario.projects.map((p) => p.id);
  return {
    label: 'GCP',
    endpoint: gcpLab.endpoints.compute,
    config: {
      gcp: {
        forensicsProject: scenario.forensicsProject,
        allowedProjects: projects,
        collectorServiceAccount: scenario.collectorServiceAccount,
        collectionTag: { key: `${GCP_LAB_ORG}/ForensicsEnabled`, value: 'true' },
        // The opt-in hold: every snapshot bound to this tag at creation, which the evidence-hold
        // deny policy protects from deletion (there is no snapshot lock in Compute Engine).
        snapshots: { evidenceHoldTag: { key: `${GCP_LAB_ORG}/EvidenceHold`, value: 'true' } },
        // Every GCP endpoint points at the lab, so nothing can reach Google by accident.
        endpoints: gcpLab.endpoints,
        // The lab's operations finish at the first wait after the insert: waited again after
        // 50 ms, not the shipped 2 s (as azure.pollIntervalMs: 50 does for the Azure lab).
        operationPollMs: 50,
      },
    },
    clusters: [{ configName: cluster.configName, clusterConfig: { ...cluster.clusterConfig } }],
    // Application Default Credentials find the orchestrator's token on the lab's metadata server,
    // as on a forensics VM; no key file and no gcloud login are consulted.
    env: {
      GOOGLE_APPLICATION_CREDENTIALS: undefined,
      GCE_METADATA_HOST: gcpLab.metadataHost,
      METADATA_SERVER_DETECTION: 'assume-present',
      CLOUDSDK_CONFIG: join(dir, 'gcloud'),
    },
    targets: {
      collectable: [`${COMPUTE}/web-prod/zones/us-central1-a/instances/web-1`, cluster.podTarget],
      refusedByPolicy: [`${COMPUTE}/web-prod/zones/us-central1-a/instances/legacy-1`],
      followed: [cluster.nodeTarget],
    },
    description: [
      `GCP lab listening on ${gcpLab.endpoints.compute} (metadata server, IAM Credentials, Resource Manager, Compute Engine; forensics project ${scenario.forensicsProject}, projects ${projects.join(', ')})`,
      `Demo GKE cluster "${cluster.configName}" at ${cluster.lab.url}; its node is the instance ${cluster.nodeTarget}`,
    ],
    checkCase: checkSnapshotsHeld,
    close: async () => {
      try {
        await cluster.close();
        await gcpLab.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * GCP snapshots are held, not hashed: Compute Engine has no block-read API for snapshots, so the
 * case records what identifies each one instead, and this line must never claim a hash.
 */
function checkSnapshotsHeld(caseDir: string): DemoCaseCheck {
  const held = new Set<string>();
  const withHold = new Set<string>();
  for (const line of readFileSync(join(caseDir, 'ledger.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as { type: string; data: { kind?: unknown; evidenceId?: unknown; evidenceHoldTag?: unknown; artifact?: { kind?: unknown; evidenceId?: unknown } } };
    const kind = entry.data.kind ?? entry.data.artifact?.kind;
    const evidenceId = entry.data.evidenceId ?? entry.data.artifact?.evidenceId;
    if (typeof evidenceId !== 'string') continue;
    if (entry.type === 'artifact.recorded' && kind === 'gce-snapshot') held.add(evidenceId);
    // The hold tag is bound by the insert itself (params.resourceManagerTags): no insert, no snapshot.
    if (entry.type === 'snapshot.requested' && entry.data.evidenceHoldTag) withHold.add(evidenceId);
  }
  const bound = [...held].filter((id) => withHold.has(id)).length;
  return {
    ok: held.size > 0 && bound === held.size,
    lines: [
      `GCP snapshots have no content hash: ${held.size} held in the forensics project by id, storageBytes, source disk id and lastAttachTimestamp; ${bound} of ${held.size} created with the evidence-hold tag`,
    ],
  };
}
