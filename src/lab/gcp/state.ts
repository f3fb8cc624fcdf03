/**
 * The GCP side of the lab: an organization with projects, instances, disks (zonal and
 * regional), Resource Manager tags, service accounts, the forensics project's snapshots and
 * operations, and the access tokens the lab has issued. Plain data the server reads and changes.
 */
import { createHash } from 'node:crypto';

export interface LabGcpTag {
  /** Namespaced: `ORG_ID/ForensicsEnabled`. */
  key: string;
  value: string;
}

export interface LabGcpProject {
  id: string;
  number: string;
  tags: LabGcpTag[];
}

export interface LabGcpDisk {
  project: string;
  zone?: string;
  region?: string;
  name: string;
  id: string;
  sizeGb: number;
  labels: Record<string, string>;
  tags: LabGcpTag[];
  users: string[];
  lastAttachTimestamp?: string;
  creationTimestamp: string;
  /** Bytes the disk holds (a snapshot's storageBytes). */
  usedBytes: number;
}

export interface LabGcpInstance {
  project: string;
  zone: string;
  name: string;
  id: string;
  status: 'RUNNING' | 'TERMINATED';
  labels: Record<string, string>;
  tags: LabGcpTag[];
  /** Disk names in the same zone (or `regions/R/disks/D` for a regional disk); the first boots. */
  disks: string[];
  displayEnabled: boolean;
  /**
   * Instance metadata items (`metadata.items`): a `startup-script-url` is often a signed URL, a
   * startup script may hold a key; the customer's own values, in the instance's description.
   */
  metadata?: Array<{ key: string; value: string }>;
  /** Per port 1-4: everything written so far. */
  serial: Record<number, string>;
  creationTimestamp: string;
}

export interface LabGcpSnapshot {
  project: string;
  name: string;
  id: string;
  status: 'CREATING' | 'UPLOADING' | 'READY' | 'FAILED';
  sourceDisk: string;
  sourceDiskId: string;
  diskSizeGb: number;
  storageBytes: number;
  labels: Record<string, string>;
  storageLocations: string[];
  kmsKeyName?: string;
  tags: LabGcpTag[];
  creationTimestamp: string;
  guestFlushRequested: boolean;
  description?: string;
}

export interface LabGcpOperation {
  project: string;
  name: string;
  id: string;
  operationType: string;
  targetLink: string;
  targetId?: string;
  user: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  insertTime: string;
  endTime?: string;
  /** Waits left before the operation is DONE. */
  pollsLeft: number;
  error?: { code: string; message: string; httpStatus?: number; httpMessage?: string };
  snapshot?: string;
}

export interface LabGcpToken {
  principal: string;
  expiresAt: number;
  scopes: string[];
  /** Who minted it, in order (Cloud Audit Logs' serviceAccountDelegationInfo). */
  delegationChain: string[];
}

/** One Cloud Audit Logs-shaped record of a request the lab served. */
export interface LabAuditRecord {
  methodName: string;
  resourceName: string;
  principalEmail: string;
  serviceAccountDelegationInfo: Array<{ firstPartyPrincipal: { principalEmail: string } }>;
  callerSuppliedUserAgent: string;
  requestReason?: string;
  status: number;
  /** The permission decided, and how. */
  authorizationInfo: Array<{ permission: string; resource: string; granted: boolean }>;
}

export class LabGcpState {
  readonly projects = new Map<string, LabGcpProject>();
  readonly instances = new Map<string, LabGcpInstance>();
  readonly disks = new Map<string, LabGcpDisk>();
  readonly snapshots = new Map<string, LabGcpSnapshot>();
  readonly operations = new Map<string, LabGcpOperation>();
  readonly tokens = new Map<string, LabGcpToken>();
  readonly requestIds = new Map<string, string>();
  /** Tag values Resource Manager answered by namespaced name: `tagValues/ID` → `PARENT/KEY/VALUE`. */
  readonly tagValueNames = new Map<string, string>();
  /**
   * Snapshots (`projects/P/global/snapshots/N`) whose creation ends FAILED: the insert operation
   * ends DONE and the snapshot stays, status FAILED, until someone deletes it, as Compute leaves
   * one. (Whether Compute's operation then also carries an error is not documented; custody reads
   * the snapshot's status either way.)
   */
  readonly failingSnapshots = new Set<string>();
  /**
   * For a snapshot in `failingSnapshots`: the error its insert operation ends DONE with as well
   * (a test of the branch that reads it); without one the operation ends DONE without an error.
   */
  readonly failingSnapshotErrors = new Map<string, { code: string; message: string; httpStatus: number; httpMessage: string }>();
  readonly audit: LabAuditRecord[] = [];
  private counter = 0;

  constructor(
    readonly orgId: string,
    readonly forensicsProject: string,
    readonly orchestrator: string,
    /** `{project}` → the collector service account of that project. */
    readonly collectorFor: (project: string) => string,
    readonly now: () => number = Date.now,
  ) {}

  nextId(): string {
    this.counter += 1;
    // uint64 ids, decimal strings as Compute returns them.
    return String(BigInt('0x' + createHash('sha256').update(`${this.counter}`).digest('hex').slice(0, 15)));
  }

  timestamp(): string {
    return new Date(this.now()).toISOString();
  }

  static diskKey(project: string, location: { zone?: string; region?: string }, name: string): string {
    return location.zone ? `projects/${project}/zones/${location.zone}/disks/${name}` : `projects/${project}/regions/${location.region}/disks/${name}`;
  }

  static instanceKey(project: string, zone: string, name: string): string {
    return `projects/${project}/zones/${zone}/instances/${name}`;
  }

  /** Own tags over inherited project tags (the same key: the resource's own value wins). */
  effectiveTags(project: string, own: LabGcpTag[]): Array<LabGcpTag & { inherited: boolean }> {
    const projectTags = this.projects.get(project)?.tags ?? [];
    const out = own.map((t) => ({ ...t, inherited: false }));
    for (const t of projectTags) if (!own.some((o) => o.key === t.key)) out.push({ ...t, inherited: true });
    return out;
  }

  /** Every collector service account the lab knows (one per project but the forensics one). */
  collectors(): string[] {
    return [...this.projects.keys()].filter((p) => p !== this.forensicsProject).map((p) => this.collectorFor(p));
  }

  /** Advances time for disks that grow (serial output keeps being written by a running VM). */
  appendSerial(instanceKey: string, port: number, text: string): void {
    const instance = this.instances.get(instanceKey);
    if (instance) instance.serial[port] = (instance.serial[port] ?? '') + text;
  }
}
