/**
 * The shape of a lab scenario (accounts, roles, keys, instances) and how it becomes `LabState`.
 * Scenario files stay declarative; ids are generated from the lab's seed.
 */
import { LabClock } from './clock.js';
import { setVolumeDisk, type LabDiskSpec } from './disk-content.js';
import { LabState, type LabInstance, type LabLimits, type LabPrincipal, type Tags } from './state.js';

export interface LabScenarioVolume {
  sizeGiB: number;
  /** `none`, `aws/ebs` (the AWS-managed key) or an alias of a key of the same account (`alias/x`). */
  encryption?: 'none' | 'aws/ebs' | `alias/${string}`;
  tags?: Tags;
  deleteOnTermination?: boolean;
  deviceName?: string;
  volumeType?: string;
  /** What the EBS direct API serves for its snapshots (size, written share, content seed). */
  disk?: LabDiskSpec;
}

export interface LabScenarioInstance {
  region?: string;
  tags?: Tags;
  instanceType?: string;
  consoleOutput?: string;
  disableApiTermination?: boolean;
  /** The first volume is the boot volume (`/dev/xvda`). */
  volumes: LabScenarioVolume[];
}

export interface LabScenarioRole {
  name: string;
  /** Role ARNs allowed by the trust policy. */
  trustedPrincipals: string[];
  requireSourceIdentity?: boolean;
  externalId?: string;
  maxSessionDurationSeconds?: number;
  tags?: Tags;
}

export interface LabScenarioKey {
  alias: `alias/${string}`;
  region?: string;
  description?: string;
  /** Other accounts the key policy allows (cross-account DescribeKey and snapshot copies). */
  allowedAccounts?: string[];
}

export interface LabScenarioAccount {
  id: string;
  roles?: LabScenarioRole[];
  keys?: LabScenarioKey[];
  instances?: LabScenarioInstance[];
}

export interface LabScenario {
  /** The account the orchestrator runs in. */
  forensicsAccount: string;
  /** Default region for everything that names none. */
  region: string;
  /** The orchestrator's own role in the forensics account; the lab hands out keys for it. */
  orchestrator: { roleName: string; sessionName?: string; accessKeyId?: string; secretAccessKey?: string };
  accounts: LabScenarioAccount[];
  /** Lab ms a snapshot takes to complete (default 1500). */
  snapshotDurationMs?: number;
  /** Seed for generated ids (default: `cloud-custody-lab`). */
  seed?: string;
  /** S3 buckets (default owner: the forensics account; default region: `region`). */
  buckets?: Array<{ name: string; account?: string; region?: string; objectLock?: boolean }>;
}

export interface BuiltLab {
  state: LabState;
  orchestratorCredentials: { accessKeyId: string; secretAccessKey: string };
  orchestratorRoleArn: string;
}

/** Builds the lab's state from a scenario. */
export function buildState(
  scenario: LabScenario,
  options: { clock: LabClock; terminatedVisibleMs?: number; snapshotDurationMs?: number; limits?: Partial<LabLimits> },
): BuiltLab {
  const state = new LabState({
    clock: options.clock,
    seed: scenario.seed ?? 'cloud-custody-lab',
    snapshotDurationMs: options.snapshotDurationMs ?? scenario.snapshotDurationMs ?? 1500,
    terminatedVisibleMs: options.terminatedVisibleMs ?? 60 * 60 * 1000,
    limits: options.limits,
  });
  const orchestratorRoleArn = `arn:aws:iam::${scenario.forensicsAccount}:role/${scenario.orchestrator.roleName}`;
  state.accounts.add(scenario.forensicsAccount);
  for (const bucket of scenario.buckets ?? []) {
    state.s3.createBucket(bucket.name, {
      account: bucket.account ?? scenario.forensicsAccount,
      region: bucket.region ?? scenario.region,
      objectLock: bucket.objectLock ?? false,
    });
  }
  state.roles.set(orchestratorRoleArn, {
    account: scenario.forensicsAccount,
    name: scenario.orchestrator.roleName,
    arn: orchestratorRoleArn,
    roleId: state.ids.roleId(),
    trustedPrincipals: [],
    requireSourceIdentity: false,
    maxSessionDurationSeconds: 3600,
    tags: {},
  });

  for (const account of scenario.accounts) {
    state.accounts.add(account.id);
    for (const role of account.roles ?? []) {
      const arn = `arn:aws:iam::${account.id}:role/${role.name}`;
      state.roles.set(arn, {
        account: account.id,
        name: role.name,
        arn,
        roleId: state.ids.roleId(),
        trustedPrincipals: role.trustedPrincipals,
        requireSourceIdentity: role.requireSourceIdentity ?? false,
        externalId: role.externalId,
        maxSessionDurationSeconds: role.maxSessionDurationSeconds ?? 3600,
        tags: role.tags ?? {},
      });
    }
    for (const key of account.keys ?? []) {
      state.addKey({
        account: account.id,
        region: key.region ?? scenario.region,
        alias: key.alias,
        description: key.description,
        allowedAccounts: key.allowedAccounts,
      });
    }
    for (const spec of account.instances ?? []) addInstance(state, account.id, spec.region ?? scenario.region, spec);
  }

  // The orchestrator runs as a role session itself (ECS task, Lambda), so the sessions it opens
  // in target accounts are chained and capped at one hour, as in AWS.
  const orchestratorRole = state.roles.get(orchestratorRoleArn);
  const sessionName = scenario.orchestrator.sessionName ?? 'cloud-custody-orchestrator';
  const principal: LabPrincipal = {
    arn: `arn:aws:sts::${scenario.forensicsAccount}:assumed-role/${scenario.orchestrator.roleName}/${sessionName}`,
    account: scenario.forensicsAccount,
    kind: 'assumed-role',
    userId: `${orchestratorRole?.roleId ?? ''}:${sessionName}`,
    roleArn: orchestratorRoleArn,
    roleName: scenario.orchestrator.roleName,
    sessionName,
    tags: {},
    isRoleSession: true,
  };
  const orchestratorCredentials = {
    accessKeyId: scenario.orchestrator.accessKeyId ?? state.ids.accessKeyId('AKIA'),
    secretAccessKey: scenario.orchestrator.secretAccessKey ?? state.ids.secret(),
  };
  state.credentials.set(orchestratorCredentials.accessKeyId, { ...orchestratorCredentials, principal });
  return { state, orchestratorCredentials, orchestratorRoleArn };
}

/** Creates one volume in `account`/`region` under the key its spec names; returns its id. */
function createVolume(state: LabState, account: string, region: string, availabilityZone: string, spec: LabScenarioVolume, createTime: Date): string {
  const encryption = spec.encryption ?? 'aws/ebs';
  let kmsKeyId: string | undefined;
  if (encryption === 'aws/ebs') kmsKeyId = state.awsEbsKey(account, region).arn;
  else if (encryption !== 'none') {
    const key = state.resolveKey(account, region, encryption);
    if (!key) throw new Error(`scenario: no key ${encryption} in ${account} ${region}`);
    kmsKeyId = key.arn;
  }
  const volumeId = state.ids.volume();
  state.region(region).volumes.set(volumeId, {
    id: volumeId,
    ownerId: account,
    region,
    availabilityZone,
    size: spec.sizeGiB,
    volumeType: spec.volumeType ?? 'gp3',
    encrypted: encryption !== 'none',
    kmsKeyId,
    tags: spec.tags ?? {},
    createTime,
  });
  if (spec.disk) setVolumeDisk(state, volumeId, spec.sizeGiB, spec.disk);
  return volumeId;
}

/** `/dev/xvda` for the boot volume, then `/dev/sdf`, `/dev/sdg`, … */
const deviceNameAt = (index: number): string => (index === 0 ? '/dev/xvda' : `/dev/sd${String.fromCharCode(102 + index - 1)}`);

/** Adds one instance with its volumes to the state; returns it. */
export function addInstance(state: LabState, account: string, region: string, spec: LabScenarioInstance): LabInstance {
  const launchTime = new Date(state.clock.now() - 3 * 24 * 3600 * 1000);
  const availabilityZone = `${region}a`;
  const instanceId = state.ids.instance();
  const regionState = state.region(region);
  const blockDevices = spec.volumes.map((volumeSpec, index) => ({
    deviceName: volumeSpec.deviceName ?? deviceNameAt(index),
    volumeId: createVolume(state, account, region, availabilityZone, volumeSpec, launchTime),
    deleteOnTermination: volumeSpec.deleteOnTermination ?? index === 0,
    attachTime: launchTime,
  }));
  const octet = (regionState.instances.size % 250) + 4;
  const instance: LabInstance = {
    id: instanceId,
    ownerId: account,
    region,
    availabilityZone,
    state: 'running',
    instanceType: spec.instanceType ?? 't3.medium',
    imageId: 'ami-0c02fb55956c7d316',
    launchTime,
    privateIpAddress: `10.0.${Math.floor(regionState.instances.size / 250)}.${octet}`,
    subnetId: 'subnet-0a1b2c3d4e5f60718',
    vpcId: 'vpc-0123456789abcdef0',
    reservationId: state.ids.reservation(),
    rootDeviceName: '/dev/xvda',
    tags: spec.tags ?? {},
    blockDevices,
    disableApiTermination: spec.disableApiTermination ?? false,
    consoleOutput: spec.consoleOutput ?? '',
  };
  regionState.instances.set(instanceId, instance);
  return instance;
}

/**
 * Creates a data volume and attaches it to a running instance now (the next free device name),
 * as when a volume is attached between an interrupted collection and its resume. Returns the
 * volume id.
 */
export function attachVolume(state: LabState, instanceId: string, spec: LabScenarioVolume): string {
  const instance = state.findInstance(instanceId);
  if (!instance) throw new Error(`no instance ${instanceId} in the lab`);
  const now = new Date(state.clock.now());
  const volumeId = createVolume(state, instance.ownerId, instance.region, instance.availabilityZone, spec, now);
  const used = new Set(instance.blockDevices.map((d) => d.deviceName));
  let index = instance.blockDevices.length;
  while (used.has(deviceNameAt(index))) index += 1;
  instance.blockDevices.push({
    deviceName: spec.deviceName ?? deviceNameAt(index),
    volumeId,
    deleteOnTermination: spec.deleteOnTermination ?? false,
    attachTime: now,
  });
  return volumeId;
}
