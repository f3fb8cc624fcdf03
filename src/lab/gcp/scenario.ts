/**
 * The GCP lab's world as data, and the demo world: a forensics project and two target projects
 * in one organization; a tagged web server (boot + data disk), a regional disk, a GKE node, and
 * an instance without the collection tag that the collector role must refuse.
 */
import { LabGcpState, type LabGcpTag } from './state.js';

export interface LabGcpScenarioInstance {
  project: string;
  zone: string;
  name: string;
  status?: 'RUNNING' | 'TERMINATED';
  labels?: Record<string, string>;
  /** Tag short names → values, namespaced with the org id. */
  tags?: Record<string, string>;
  displayEnabled?: boolean;
  /** Disk names in the instance's zone, or `regions/R/disks/D`; created if not listed in `disks`. */
  disks: string[];
  serial?: Record<number, string>;
}

export interface LabGcpScenarioDisk {
  project: string;
  zone?: string;
  region?: string;
  name: string;
  sizeGb?: number;
  tags?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface LabGcpScenario {
  orgId: string;
  forensicsProject: string;
  orchestrator: string;
  /** `{project}` is filled in. */
  collectorServiceAccount: string;
  projects: Array<{ id: string; tags?: Record<string, string> }>;
  instances: LabGcpScenarioInstance[];
  disks?: LabGcpScenarioDisk[];
}

const tagsOf = (orgId: string, tags: Record<string, string> = {}): LabGcpTag[] =>
  Object.entries(tags).map(([key, value]) => ({ key: `${orgId}/${key}`, value }));

/** Builds the lab state a scenario describes. */
export function buildGcpState(scenario: LabGcpScenario, now: () => number = Date.now): LabGcpState {
  const state = new LabGcpState(
    scenario.orgId,
    scenario.forensicsProject,
    scenario.orchestrator,
    (project) => scenario.collectorServiceAccount.replaceAll('{project}', project),
    now,
  );
  let number = 100_000_000_000;
  for (const project of [{ id: scenario.forensicsProject }, ...scenario.projects]) {
    number += 1;
    state.projects.set(project.id, { id: project.id, number: String(number), tags: tagsOf(scenario.orgId, 'tags' in project ? project.tags : undefined) });
  }
  const created = state.timestamp();
  for (const d of scenario.disks ?? []) {
    const key = LabGcpState.diskKey(d.project, d, d.name);
    state.disks.set(key, {
      project: d.project,
      ...(d.zone ? { zone: d.zone } : { region: d.region! }),
      name: d.name,
      id: state.nextId(),
      sizeGb: d.sizeGb ?? 10,
      labels: d.labels ?? {},
      tags: tagsOf(scenario.orgId, d.tags),
      users: [],
      creationTimestamp: created,
      usedBytes: (d.sizeGb ?? 10) * 1024 * 1024 * 37,
    });
  }
  for (const i of scenario.instances) {
    const instanceKey = LabGcpState.instanceKey(i.project, i.zone, i.name);
    for (const diskName of i.disks) {
      const regional = /^regions\/([^/]+)\/disks\/([^/]+)$/.exec(diskName);
      const location = regional ? { region: regional[1]! } : { zone: i.zone };
      const name = regional ? regional[2]! : diskName;
      const key = LabGcpState.diskKey(i.project, location, name);
      let disk = state.disks.get(key);
      if (!disk) {
        disk = {
          project: i.project,
          ...location,
          name,
          id: state.nextId(),
          sizeGb: 10,
          labels: {},
          // A disk created with its instance carries the instance's tags (how the demo tags them).
          tags: tagsOf(scenario.orgId, i.tags),
          users: [],
          creationTimestamp: created,
          usedBytes: 10 * 1024 * 1024 * 41,
        };
        state.disks.set(key, disk);
      }
      disk.users.push(instanceKey);
      disk.lastAttachTimestamp = created;
    }
    state.instances.set(instanceKey, {
      project: i.project,
      zone: i.zone,
      name: i.name,
      id: state.nextId(),
      status: i.status ?? 'RUNNING',
      labels: i.labels ?? {},
      tags: tagsOf(scenario.orgId, i.tags),
      disks: i.disks,
      displayEnabled: i.displayEnabled ?? false,
      serial: i.serial ?? { 1: `[    0.000000] Linux version 6.1.0-lab (${i.name})\n[    1.204113] systemd[1]: Started sshd.service\n` },
      creationTimestamp: created,
    });
  }
  return state;
}

export const GCP_LAB_ORG = '123456789012';

/** The demo's GCP world. */
export function gcpDemoScenario(): LabGcpScenario {
  return {
    orgId: GCP_LAB_ORG,
    forensicsProject: 'custody-forensics',
    orchestrator: 'custody-orchestrator@custody-forensics.iam.gserviceaccount.com',
    collectorServiceAccount: 'cloud-custody-collector@{project}.iam.gserviceaccount.com',
    projects: [{ id: 'web-prod' }, { id: 'gke-prod' }],
    disks: [{ project: 'web-prod', region: 'us-central1', name: 'shared-data', sizeGb: 20, tags: { ForensicsEnabled: 'true' } }],
    instances: [
      {
        project: 'web-prod',
        zone: 'us-central1-a',
        name: 'web-1',
        labels: { app: 'web', incident: 'inc-42' },
        tags: { ForensicsEnabled: 'true' },
        displayEnabled: true,
        disks: ['web-1', 'web-1-data'],
        serial: { 1: '[    0.000000] Linux version 6.1.0 (web-1)\nsshd[812]: Accepted publickey for root from 203.0.113.9\n', 2: 'agent: heartbeat\n' },
      },
      { project: 'web-prod', zone: 'us-central1-a', name: 'legacy-1', labels: { app: 'web', incident: 'inc-42' }, disks: ['legacy-1'] },
      {
        project: 'gke-prod',
        zone: 'us-central1-b',
        name: 'gke-prod-pool-1-abcd',
        labels: { 'goog-gke-node': '' },
        tags: { ForensicsEnabled: 'true' },
        disks: ['gke-prod-pool-1-abcd'],
      },
    ],
  };
}
