/**
 * The lab's world: accounts, roles, credentials and sessions, and per region the instances,
 * volumes, snapshots and KMS keys. Handlers read and change it; tests and the demo inspect it.
 * Snapshot progress is computed from the lab clock when read, so no timers run.
 */
import { LabS3Store } from './s3-state.js';
import { LabClock } from './clock.js';
import { IdGenerator } from './ids.js';

export type Tags = Record<string, string>;

export type InstanceStateName = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** EC2's numeric state codes, as DescribeInstances reports them. */
export const INSTANCE_STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface LabBlockDevice {
  deviceName: string;
  volumeId: string;
  deleteOnTermination: boolean;
  attachTime: Date;
}

export interface LabInstance {
  id: string;
  ownerId: string;
  region: string;
  availabilityZone: string;
  state: InstanceStateName;
  instanceType: string;
  imageId: string;
  launchTime: Date;
  privateIpAddress: string;
  subnetId: string;
  vpcId: string;
  reservationId: string;
  rootDeviceName: string;
  tags: Tags;
  blockDevices: LabBlockDevice[];
  disableApiTermination: boolean;
  consoleOutput: string;
  /** Lab time of termination; terminated instances stay visible for `terminatedVisibleMs`. */
  terminatedAt?: number;
}

export interface LabVolume {
  id: string;
  ownerId: string;
  region: string;
  availabilityZone: string;
  size: number;
  volumeType: string;
  encrypted: boolean;
  /** Key ARN, as EC2 reports it. */
  kmsKeyId?: string;
  tags: Tags;
  createTime: Date;
}

export interface LabSnapshotLock {
  mode: 'compliance' | 'governance';
  createdOn: number;
  durationDays?: number;
  coolOffHours?: number;
  expiresOn: number;
}

export interface LabSnapshot {
  id: string;
  ownerId: string;
  region: string;
  volumeId: string;
  volumeSize: number;
  description: string;
  encrypted: boolean;
  kmsKeyId?: string;
  tags: Tags;
  /** Lab time the snapshot was started. */
  startTime: number;
  /** How long (lab ms) it takes to complete. */
  durationMs: number;
  /** `error` is decided at creation (e.g. an unusable key); otherwise progress decides. */
  failed?: string;
  /** Account ids (and `all`) allowed to create volumes from it. */
  createVolumePermissions: Set<string>;
  lock?: LabSnapshotLock;
  sourceSnapshotId?: string;
}

export interface LabKey {
  id: string;
  arn: string;
  account: string;
  region: string;
  description: string;
  keyManager: 'AWS' | 'CUSTOMER';
  /** Alias names (`alias/aws/ebs`). */
  aliases: string[];
  /** Other accounts the key policy lets use the key (cross-account copies, DescribeKey). */
  allowedAccounts: Set<string>;
  creationDate: Date;
}

export interface LabRole {
  account: string;
  name: string;
  arn: string;
  roleId: string;
  /** Role ARNs the trust policy accepts as callers. */
  trustedPrincipals: string[];
  requireSourceIdentity: boolean;
  externalId?: string;
  maxSessionDurationSeconds: number;
  tags: Tags;
}

/** Who is calling: a long-term key's owner, or an STS session. Handed to the Authorizer. */
export interface LabPrincipal {
  /** `arn:aws:sts::<acct>:assumed-role/<role>/<session>` or `arn:aws:iam::<acct>:user/<name>`. */
  arn: string;
  account: string;
  kind: 'assumed-role' | 'user';
  /** `AROA…:<session>` or `AIDA…`, as GetCallerIdentity's UserId. */
  userId: string;
  roleArn?: string;
  roleName?: string;
  sessionName?: string;
  sourceIdentity?: string;
  /** Principal tags: the role's tags overlaid with the session tags. */
  tags: Tags;
  /** The inline session policy passed to AssumeRole, verbatim. */
  sessionPolicy?: string;
  /** Whether this is a role session (chained AssumeRole calls are capped at one hour). */
  isRoleSession: boolean;
}

export interface LabCredential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Lab time after which the credential is refused; absent for long-term keys. */
  expiresAt?: number;
  principal: LabPrincipal;
}

export interface RegionState {
  instances: Map<string, LabInstance>;
  volumes: Map<string, LabVolume>;
  snapshots: Map<string, LabSnapshot>;
  keys: Map<string, LabKey>;
}

export interface LabStateOptions {
  clock: LabClock;
  seed: string;
  /** Lab ms a new snapshot (or copy) takes to complete. */
  snapshotDurationMs: number;
  /** Lab ms a terminated instance stays visible to DescribeInstances. */
  terminatedVisibleMs: number;
  limits?: Partial<LabLimits>;
}

/** EC2's per-account, per-region quotas the lab enforces (AWS defaults). */
export interface LabLimits {
  /** Snapshots in `pending` state per account and region (PendingSnapshotLimitExceeded). */
  pendingSnapshots: number;
  /** Snapshot copies in progress per destination account and region (ResourceLimitExceeded). */
  concurrentCopies: number;
}

export class LabState {
  readonly clock: LabClock;
  readonly ids: IdGenerator;
  snapshotDurationMs: number;
  terminatedVisibleMs: number;
  /** Change freely (e.g. `Infinity`) to take a quota out of play. */
  readonly limits: LabLimits;
  readonly accounts = new Set<string>();
  readonly roles = new Map<string, LabRole>();
  readonly credentials = new Map<string, LabCredential>();
  private readonly regions = new Map<string, RegionState>();
  /** S3 buckets (the forensics account's evidence bucket). */
  readonly s3 = new LabS3Store();

  constructor(options: LabStateOptions) {
    this.clock = options.clock;
    this.ids = new IdGenerator(options.seed);
    this.snapshotDurationMs = options.snapshotDurationMs;
    this.terminatedVisibleMs = options.terminatedVisibleMs;
    this.limits = { pendingSnapshots: 100, concurrentCopies: 20, ...options.limits };
  }

  /** The account's snapshots in a region that are still pending (copies counted apart too). */
  pendingSnapshots(account: string, region: string): { all: number; copies: number } {
    let all = 0;
    let copies = 0;
    for (const snapshot of this.region(region).snapshots.values()) {
      if (snapshot.ownerId !== account || this.snapshotStatus(snapshot).state !== 'pending') continue;
      all += 1;
      if (snapshot.sourceSnapshotId) copies += 1;
    }
    return { all, copies };
  }

  region(name: string): RegionState {
    let region = this.regions.get(name);
    if (!region) {
      region = { instances: new Map(), volumes: new Map(), snapshots: new Map(), keys: new Map() };
      this.regions.set(name, region);
    }
    return region;
  }

  regionNames(): string[] {
    return [...this.regions.keys()];
  }

  /** The AWS-managed `aws/ebs` key; AWS creates it on first use, so does the lab. */
  awsEbsKey(account: string, region: string): LabKey {
    const existing = [...this.region(region).keys.values()].find(
      (k) => k.account === account && k.aliases.includes('alias/aws/ebs'),
    );
    if (existing) return existing;
    return this.addKey({
      account,
      region,
      alias: 'alias/aws/ebs',
      description: 'Default key that protects my EBS volumes when no other key is defined',
      keyManager: 'AWS',
    });
  }

  addKey(input: {
    account: string;
    region: string;
    alias?: string;
    description?: string;
    keyManager?: 'AWS' | 'CUSTOMER';
    allowedAccounts?: string[];
  }): LabKey {
    const id = this.ids.keyId();
    const key: LabKey = {
      id,
      arn: `arn:aws:kms:${input.region}:${input.account}:key/${id}`,
      account: input.account,
      region: input.region,
      description: input.description ?? '',
      keyManager: input.keyManager ?? 'CUSTOMER',
      aliases: input.alias ? [input.alias] : [],
      allowedAccounts: new Set(input.allowedAccounts ?? []),
      creationDate: new Date(this.clock.now()),
    };
    this.region(input.region).keys.set(id, key);
    return key;
  }

  /**
   * Finds a key the way KMS and EC2 accept it: key id, key ARN, alias name (in `account`), or
   * alias ARN. Another account's key is only reachable by ARN.
   */
  resolveKey(account: string, region: string, ref: string): LabKey | undefined {
    if (ref === 'alias/aws/ebs') return this.awsEbsKey(account, region);
    const arnMatch = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/.exec(ref);
    if (arnMatch) {
      const [, keyRegion = '', keyAccount = '', kind, rest = ''] = arnMatch;
      if (kind === 'alias' && rest === 'aws/ebs') return this.awsEbsKey(keyAccount, keyRegion);
      const keys = [...this.region(keyRegion).keys.values()].filter((k) => k.account === keyAccount);
      return kind === 'key' ? keys.find((k) => k.id === rest) : keys.find((k) => k.aliases.includes(`alias/${rest}`));
    }
    const keys = [...this.region(region).keys.values()].filter((k) => k.account === account);
    if (ref.startsWith('alias/')) return keys.find((k) => k.aliases.includes(ref));
    return keys.find((k) => k.id === ref);
  }

  /** Finds a key by ARN in any region (EC2 stores key ARNs on volumes and snapshots). */
  keyByArn(arn: string | undefined): LabKey | undefined {
    if (!arn) return undefined;
    const match = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):key\/(.+)$/.exec(arn);
    if (!match) return undefined;
    return this.region(match[1] ?? '').keys.get(match[3] ?? '');
  }

  /** Whether `account` may use the key (its own account, or allowed by the key policy). */
  mayUseKey(key: LabKey, account: string): boolean {
    return key.account === account || (key.keyManager === 'CUSTOMER' && key.allowedAccounts.has(account));
  }

  /** The snapshot's state and progress at the current lab time. */
  snapshotStatus(snapshot: LabSnapshot): { state: 'pending' | 'completed' | 'error'; progress: string; message?: string } {
    if (snapshot.failed) return { state: 'error', progress: '0%', message: snapshot.failed };
    const elapsed = this.clock.now() - snapshot.startTime;
    if (snapshot.durationMs <= 0 || elapsed >= snapshot.durationMs) return { state: 'completed', progress: '100%' };
    const percent = Math.max(0, Math.min(99, Math.floor((elapsed / snapshot.durationMs) * 100)));
    return { state: 'pending', progress: `${percent}%` };
  }

  /** Whether a terminated instance has dropped out of DescribeInstances. */
  isGone(instance: LabInstance): boolean {
    return (
      instance.state === 'terminated' &&
      instance.terminatedAt !== undefined &&
      this.clock.now() - instance.terminatedAt >= this.terminatedVisibleMs
    );
  }

  /** Finds an instance by id in any region (fault injection names instances, not regions). */
  findInstance(id: string): LabInstance | undefined {
    for (const region of this.regions.values()) {
      const instance = region.instances.get(id);
      if (instance) return instance;
    }
    return undefined;
  }

  /**
   * Terminates an instance as EC2 does: state `terminated`, volumes with DeleteOnTermination are
   * deleted, the others detached; the instance stays visible for a while, then is gone.
   */
  terminateInstance(id: string): LabInstance {
    const instance = this.findInstance(id);
    if (!instance) throw new Error(`no instance ${id} in the lab`);
    if (instance.state === 'terminated') return instance;
    const volumes = this.region(instance.region).volumes;
    for (const device of instance.blockDevices) {
      if (device.deleteOnTermination) volumes.delete(device.volumeId);
    }
    instance.blockDevices = [];
    instance.state = 'terminated';
    instance.terminatedAt = this.clock.now();
    return instance;
  }

  /** Ends every session now (credentials refresh must cope). */
  expireAllSessions(): number {
    const now = this.clock.now();
    let count = 0;
    for (const credential of this.credentials.values()) {
      if (credential.expiresAt !== undefined && credential.expiresAt > now) {
        credential.expiresAt = now;
        count += 1;
      }
    }
    return count;
  }

  /** The instance a volume is attached to, with its block device entry. */
  attachmentOf(volume: LabVolume): { instance: LabInstance; device: LabBlockDevice } | undefined {
    for (const instance of this.region(volume.region).instances.values()) {
      const device = instance.blockDevices.find((d) => d.volumeId === volume.id);
      if (device) return { instance, device };
    }
    return undefined;
  }
}
