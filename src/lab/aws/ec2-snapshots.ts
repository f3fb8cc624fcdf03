/**
 * EC2 snapshot operations: DescribeSnapshots, CreateSnapshots, CopySnapshot,
 * ModifySnapshotAttribute, DescribeSnapshotAttribute, LockSnapshot, DescribeLockedSnapshots.
 * The rules that make forensics transfers hard are enforced as AWS does: `aws/ebs` snapshots
 * cannot be shared, another account sees a snapshot only once shared, and copying an encrypted
 * one needs the copier's account to be allowed on the key.
 */
import { authorize, isAllowed, requestTagContext, resourceTagContext, type CallContext, type HandlerResult } from './context.js';
import {
  applyFilters,
  canSeeSnapshot,
  checkMalformedVolumeIds,
  endIfDryRun,
  findInstances,
  findOwnSnapshot,
  findSnapshots,
  findVolumes,
  instanceArn,
  paginate,
  parseFilters,
  parseTagSpecifications,
  requireString,
  respond,
  snapshotArn,
  tagFilterValues,
  validatePaging,
  volumeArn,
} from './ec2-common.js';
import { invalidParameterValue, LabAwsError, missingParameter } from './errors.js';
import { getBoolean, getList, getString, getStrings, type QueryTree } from './query.js';
import type { LabInstance, LabKey, LabSnapshot, LabState, LabVolume } from './state.js';
import { items, tagSet, type XmlChild } from './xml.js';

const KEY_NOT_ACCESSIBLE = 'Given key ID is not accessible';

function renderSnapshot(state: LabState, snapshot: LabSnapshot): XmlChild[] {
  const status = state.snapshotStatus(snapshot);
  const children: XmlChild[] = [
    ['snapshotId', snapshot.id],
    ['volumeId', snapshot.volumeId],
    ['status', status.state],
    ['statusMessage', status.message],
    ['startTime', new Date(snapshot.startTime)],
    ['progress', status.progress],
    ['ownerId', snapshot.ownerId],
    ['volumeSize', snapshot.volumeSize],
    ['description', snapshot.description],
    ['encrypted', snapshot.encrypted],
    ['kmsKeyId', snapshot.kmsKeyId],
    ['storageTier', 'standard'],
  ];
  if (status.state === 'completed') children.push(['completionTime', new Date(snapshot.startTime + snapshot.durationMs)]);
  if (Object.keys(snapshot.tags).length > 0) children.push(['tagSet', tagSet(snapshot.tags)]);
  return children;
}

const SNAPSHOT_FILTERS = [
  'snapshot-id',
  'volume-id',
  'owner-id',
  'status',
  'progress',
  'encrypted',
  'description',
  'volume-size',
  'storage-tier',
] as const;

function snapshotFilterValues(state: LabState, snapshot: LabSnapshot, name: string): string[] | undefined {
  const tagValues = tagFilterValues(name, snapshot.tags);
  if (tagValues) return tagValues;
  switch (name) {
    case 'snapshot-id':
      return [snapshot.id];
    case 'volume-id':
      return [snapshot.volumeId];
    case 'owner-id':
      return [snapshot.ownerId];
    case 'status':
      return [state.snapshotStatus(snapshot).state];
    case 'progress':
      return [state.snapshotStatus(snapshot).progress];
    case 'encrypted':
      return [String(snapshot.encrypted)];
    case 'description':
      return [snapshot.description];
    case 'volume-size':
      return [String(snapshot.volumeSize)];
    case 'storage-tier':
      return ['standard'];
    default:
      return undefined;
  }
}

async function describeSnapshots(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const { state } = call.lab;
  const ids = getStrings(params, 'SnapshotId');
  const owners = getStrings(params, 'Owner').map((o) => (o === 'self' ? call.account : o));
  const restorableBy = getStrings(params, 'RestorableBy').map((r) => (r === 'self' ? call.account : r));
  const paging = { action: 'DescribeSnapshots', min: 5, max: 1000, idsGiven: ids.length > 0, idsParameter: 'snapshotSet' };
  validatePaging(params, paging);
  await authorize(call, 'ec2:DescribeSnapshots', [{ resource: '*' }]);
  endIfDryRun(params);
  let candidates =
    ids.length > 0
      ? findSnapshots(call, ids)
      : [...state.region(call.region).snapshots.values()].filter((s) => canSeeSnapshot(s, call.account));
  if (owners.length > 0) candidates = candidates.filter((s) => owners.includes(s.ownerId));
  if (restorableBy.length > 0) {
    candidates = candidates.filter((s) =>
      restorableBy.some((who) => s.ownerId === who || s.createVolumePermissions.has(who) || (who === 'all' && s.createVolumePermissions.has('all'))),
    );
  }
  const matched = applyFilters(candidates, parseFilters(params), SNAPSHOT_FILTERS, (s, name) => snapshotFilterValues(state, s, name));
  const { page, nextToken } = paginate(matched, params, paging);
  return respond(call, 'DescribeSnapshots', [
    ['snapshotSet', items(page, (s) => renderSnapshot(state, s))],
    ['nextToken', nextToken],
  ]);
}

function newSnapshot(state: LabState, input: Omit<LabSnapshot, 'id' | 'startTime' | 'durationMs' | 'createVolumePermissions'>): LabSnapshot {
  const snapshot: LabSnapshot = {
    ...input,
    id: state.ids.snapshot(),
    startTime: state.clock.now(),
    durationMs: state.snapshotDurationMs,
    createVolumePermissions: new Set(),
  };
  state.region(input.region).snapshots.set(snapshot.id, snapshot);
  return snapshot;
}

async function createSnapshots(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const { state } = call.lab;
  const instanceId = getString(params, 'InstanceSpecification.InstanceId');
  if (!instanceId) throw missingParameter('InstanceSpecification.InstanceId');
  const [instance] = findInstances(call, [instanceId]);
  if (!instance) throw missingParameter('InstanceSpecification.InstanceId');
  const excludeBoot = getBoolean(params, 'InstanceSpecification.ExcludeBootVolume') ?? false;
  const excluded = getStrings(params, 'InstanceSpecification.ExcludeDataVolumeId');
  const tags = parseTagSpecifications(params, 'snapshot');
  const copyTagsFrom = getString(params, 'CopyTagsFromSource');
  if (copyTagsFrom !== undefined && copyTagsFrom !== 'volume') throw invalidParameterValue(`Value (${copyTagsFrom}) for parameter CopyTagsFromSource is invalid.`);
  const description = getString(params, 'Description') ?? '';
  checkExcludedDataVolumes(instance, excluded);

  const devices = instance.blockDevices.filter(
    (d) => !(excludeBoot && d.deviceName === instance.rootDeviceName) && !excluded.includes(d.volumeId),
  );
  const volumes = devices
    .map((d) => state.region(call.region).volumes.get(d.volumeId))
    .filter((v): v is LabVolume => v !== undefined);

  // CreateSnapshots is authorised on the instance, each volume and the new snapshots; tags at
  // creation additionally as ec2:CreateTags with ec2:CreateAction.
  await authorize(call, 'ec2:CreateSnapshots', [
    { resource: instanceArn(instance), context: resourceTagContext(instance.tags) },
    ...volumes.map((v) => ({
      resource: volumeArn(v),
      context: { ...resourceTagContext(v.tags), 'ec2:Encrypted': String(v.encrypted), 'ec2:VolumeSize': String(v.size) },
    })),
    { resource: snapshotArn(call.region, '*'), context: requestTagContext(tags) },
  ]);
  if (Object.keys(tags).length > 0) {
    await authorize(call, 'ec2:CreateTags', [
      { resource: snapshotArn(call.region, '*'), context: { ...requestTagContext(tags), 'ec2:CreateAction': 'CreateSnapshots' } },
    ]);
  }
  endIfDryRun(params);
  if (instance.state === 'terminated' || instance.state === 'shutting-down') {
    throw new LabAwsError('IncorrectInstanceState', `The instance '${instance.id}' is not in a state from which snapshots can be created.`, 400);
  }

  assertPendingQuota(state, call.account, call.region, volumes.length);
  const created = volumes.map((volume) =>
    newSnapshot(state, {
      ownerId: call.account,
      region: call.region,
      volumeId: volume.id,
      volumeSize: volume.size,
      description,
      encrypted: volume.encrypted,
      kmsKeyId: volume.kmsKeyId,
      tags: { ...(copyTagsFrom === 'volume' ? volume.tags : {}), ...tags },
    }),
  );
  return respond(call, 'CreateSnapshots', [
    [
      'snapshotSet',
      items(created, (s) => [
        ['snapshotId', s.id],
        ['volumeId', s.volumeId],
        ['state', 'pending'],
        ['volumeSize', s.volumeSize],
        ['startTime', new Date(s.startTime)],
        ['progress', ''],
        ['ownerId', s.ownerId],
        ['description', s.description],
        ['encrypted', s.encrypted],
        ...(Object.keys(s.tags).length > 0 ? [['tagSet', tagSet(s.tags)] as const] : []),
      ]),
    ],
  ]);
}

const MAX_EXCLUDED_DATA_VOLUMES = 40;

/**
 * `InstanceSpecification.ExcludeDataVolumeId.N` as AWS documents it: data (non-root) volumes only,
 * at most 40. Naming the root volume fails the request (ExcludeBootVolume is the way to leave it
 * out). AWS documents no code for an id that is not attached to the instance; the lab refuses it
 * as an invalid parameter rather than silently ignoring it, so a caller whose idea of the
 * instance's volumes is stale finds out instead of getting an unexpected snapshot set.
 */
function checkExcludedDataVolumes(instance: LabInstance, excluded: string[]): void {
  if (excluded.length === 0) return;
  if (excluded.length > MAX_EXCLUDED_DATA_VOLUMES) {
    throw invalidParameterValue(
      `The request includes ${excluded.length} ExcludeDataVolumeIds; you can specify up to ${MAX_EXCLUDED_DATA_VOLUMES} volume IDs per request.`,
    );
  }
  checkMalformedVolumeIds(excluded);
  const root = instance.blockDevices.find((d) => d.deviceName === instance.rootDeviceName)?.volumeId;
  for (const id of excluded) {
    if (id === root) {
      throw invalidParameterValue(
        `The volume '${id}' is the root volume of instance '${instance.id}' and cannot be excluded with ExcludeDataVolumeIds. Use ExcludeBootVolume instead.`,
      );
    }
    if (!instance.blockDevices.some((d) => d.volumeId === id)) {
      throw invalidParameterValue(`The volume '${id}' in ExcludeDataVolumeIds is not attached to instance '${instance.id}'.`);
    }
  }
}

function assertPendingQuota(state: LabState, account: string, region: string, adding: number): void {
  const pending = state.pendingSnapshots(account, region);
  if (pending.all + adding > state.limits.pendingSnapshots) {
    throw new LabAwsError(
      'PendingSnapshotLimitExceeded',
      `You've reached the limit on the number of Amazon EBS snapshots that you can have in the pending state (${state.limits.pendingSnapshots}).`,
      400,
    );
  }
}

/** One volume's snapshot (the older, single-volume API; used for volume targets). */
async function createSnapshot(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const { state } = call.lab;
  const [volume] = findVolumes(call, [requireString(params, 'VolumeId')]);
  if (!volume) throw missingParameter('VolumeId');
  const tags = parseTagSpecifications(params, 'snapshot');
  await authorize(call, 'ec2:CreateSnapshot', [
    {
      resource: volumeArn(volume),
      context: { ...resourceTagContext(volume.tags), 'ec2:Encrypted': String(volume.encrypted), 'ec2:VolumeSize': String(volume.size) },
    },
    { resource: snapshotArn(call.region, '*'), context: requestTagContext(tags) },
  ]);
  if (Object.keys(tags).length > 0) {
    await authorize(call, 'ec2:CreateTags', [
      { resource: snapshotArn(call.region, '*'), context: { ...requestTagContext(tags), 'ec2:CreateAction': 'CreateSnapshot' } },
    ]);
  }
  endIfDryRun(params);
  assertPendingQuota(state, call.account, call.region, 1);
  const created = newSnapshot(state, {
    ownerId: call.account,
    region: call.region,
    volumeId: volume.id,
    volumeSize: volume.size,
    description: getString(params, 'Description') ?? '',
    encrypted: volume.encrypted,
    kmsKeyId: volume.kmsKeyId,
    tags,
  });
  return respond(call, 'CreateSnapshot', renderSnapshot(state, created));
}

/** Whether the caller can use a customer key through EC2 for `actions` (key policy + identity). */
async function canUseKey(call: CallContext, key: LabKey | undefined, actions: string[]): Promise<boolean> {
  if (!key) return false;
  if (!call.lab.state.mayUseKey(key, call.account)) return false;
  // The AWS-managed key's policy lets its own account use it through EC2 without IAM grants.
  if (key.keyManager === 'AWS') return true;
  const context = { 'kms:ViaService': `ec2.${call.region}.amazonaws.com`, 'kms:CallerAccount': call.account };
  for (const action of actions) {
    // EC2 creates its grants for the snapshot it is working on: an AWS resource.
    const extra: Record<string, string> = action === 'kms:CreateGrant' ? { 'kms:GrantIsForAWSResource': 'true' } : {};
    if (!(await isAllowed(call, action, key.arn, { ...context, ...extra }))) return false;
  }
  return true;
}

async function copySnapshot(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const { state } = call.lab;
  const sourceId = requireString(params, 'SourceSnapshotId');
  const sourceRegion = requireString(params, 'SourceRegion');
  const encryptedFlag = getBoolean(params, 'Encrypted') ?? false;
  const keyRef = getString(params, 'KmsKeyId');
  if (keyRef && !encryptedFlag) {
    throw new LabAwsError('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.', 400);
  }
  const [source] = findSnapshots(call, [sourceId], sourceRegion);
  if (!source) throw missingParameter('SourceSnapshotId');
  const tags = parseTagSpecifications(params, 'snapshot');

  await authorize(call, 'ec2:CopySnapshot', [
    { resource: snapshotArn(sourceRegion, source.id), context: { ...resourceTagContext(source.tags), 'ec2:Encrypted': String(source.encrypted) } },
    { resource: snapshotArn(call.region, '*'), context: requestTagContext(tags) },
  ]);
  if (Object.keys(tags).length > 0) {
    await authorize(call, 'ec2:CreateTags', [
      { resource: snapshotArn(call.region, '*'), context: { ...requestTagContext(tags), 'ec2:CreateAction': 'CopySnapshot' } },
    ]);
  }
  endIfDryRun(params);
  if (state.snapshotStatus(source).state !== 'completed') {
    throw new LabAwsError('IncorrectState', `Snapshot '${source.id}' is not 'completed'.`, 400);
  }

  const pending = state.pendingSnapshots(call.account, call.region);
  if (pending.copies >= state.limits.concurrentCopies) {
    throw new LabAwsError(
      'ResourceLimitExceeded',
      `Too many snapshot copies in progress. The limit is ${state.limits.concurrentCopies} for this destination region.`,
      400,
    );
  }
  assertPendingQuota(state, call.account, call.region, 1);

  const encrypted = source.encrypted || encryptedFlag;
  let destinationKey: LabKey | undefined;
  if (keyRef) destinationKey = state.resolveKey(call.account, call.region, keyRef);
  else if (encrypted) {
    destinationKey =
      source.ownerId === call.account && source.kmsKeyId && source.region === call.region
        ? state.keyByArn(source.kmsKeyId)
        : state.awsEbsKey(call.account, call.region);
  }
  // EC2 accepts the copy and fails it asynchronously when a key cannot be used: the copy shows
  // `error` with this message, which is what a poller must cope with.
  let failed: string | undefined;
  if (source.encrypted && !(await canUseKey(call, state.keyByArn(source.kmsKeyId), ['kms:Decrypt', 'kms:CreateGrant']))) {
    failed = KEY_NOT_ACCESSIBLE;
  }
  if (
    encrypted &&
    (!destinationKey ||
      destinationKey.region !== call.region ||
      !(await canUseKey(call, destinationKey, ['kms:GenerateDataKeyWithoutPlaintext', 'kms:CreateGrant'])))
  ) {
    failed = KEY_NOT_ACCESSIBLE;
  }

  const copy = newSnapshot(state, {
    ownerId: call.account,
    region: call.region,
    // Copies carry an arbitrary volume id, as AWS documents.
    volumeId: 'vol-ffffffff',
    volumeSize: source.volumeSize,
    description: getString(params, 'Description') ?? `[Copied ${source.id} from ${sourceRegion}]`,
    encrypted,
    kmsKeyId: encrypted ? (destinationKey?.arn ?? keyRef) : undefined,
    tags,
    sourceSnapshotId: source.id,
    failed,
  });
  return respond(call, 'CopySnapshot', [
    ['snapshotId', copy.id],
    ['tagSet', Object.keys(copy.tags).length > 0 ? tagSet(copy.tags) : undefined],
  ]);
}

interface PermissionChanges {
  addUsers: string[];
  addGroups: string[];
  removeUsers: string[];
  removeGroups: string[];
}

function parsePermissionChanges(params: QueryTree): PermissionChanges {
  const changes: PermissionChanges = { addUsers: [], addGroups: [], removeUsers: [], removeGroups: [] };
  for (const [list, users, groups] of [
    ['CreateVolumePermission.Add', changes.addUsers, changes.addGroups],
    ['CreateVolumePermission.Remove', changes.removeUsers, changes.removeGroups],
  ] as const) {
    for (const entry of getList(params, list)) {
      if (typeof entry !== 'object') continue;
      if (typeof entry.UserId === 'string') users.push(entry.UserId);
      if (typeof entry.Group === 'string') groups.push(entry.Group);
    }
  }
  const operation = getString(params, 'OperationType');
  if (operation) {
    if (operation !== 'add' && operation !== 'remove') throw invalidParameterValue(`Value (${operation}) for parameter operationType is invalid.`);
    const users = getStrings(params, 'UserId');
    const groups = getStrings(params, 'UserGroup');
    (operation === 'add' ? changes.addUsers : changes.removeUsers).push(...users);
    (operation === 'add' ? changes.addGroups : changes.removeGroups).push(...groups);
  }
  for (const id of [...changes.addUsers, ...changes.removeUsers]) {
    if (!/^\d{12}$/.test(id)) throw new LabAwsError('InvalidUserID.Malformed', `User ID '${id}' is invalid`, 400);
  }
  for (const group of [...changes.addGroups, ...changes.removeGroups]) {
    if (group !== 'all') throw invalidParameterValue(`Value (${group}) for parameter group is invalid.`);
  }
  return changes;
}

async function modifySnapshotAttribute(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const { state } = call.lab;
  const snapshot = findOwnSnapshot(call, requireString(params, 'SnapshotId'));
  const attribute = getString(params, 'Attribute') ?? 'createVolumePermission';
  if (attribute !== 'createVolumePermission') {
    throw invalidParameterValue(`Value (${attribute}) for parameter attribute is invalid. Only createVolumePermission can be modified.`);
  }
  const changes = parsePermissionChanges(params);
  const context: Record<string, string | string[]> = { ...resourceTagContext(snapshot.tags) };
  if (changes.addUsers.length > 0) context['ec2:Add/userId'] = changes.addUsers;
  if (changes.addGroups.length > 0) context['ec2:Add/group'] = changes.addGroups;
  if (changes.removeUsers.length > 0) context['ec2:Remove/userId'] = changes.removeUsers;
  if (changes.removeGroups.length > 0) context['ec2:Remove/group'] = changes.removeGroups;
  await authorize(call, 'ec2:ModifySnapshotAttribute', [{ resource: snapshotArn(snapshot.region, snapshot.id), context }]);
  endIfDryRun(params);

  if (changes.addUsers.length > 0 || changes.addGroups.length > 0) {
    const key = state.keyByArn(snapshot.kmsKeyId);
    if (snapshot.encrypted && key?.keyManager === 'AWS') {
      throw new LabAwsError('OperationNotPermitted', 'Encrypted snapshots with EBS default key cannot be shared', 400);
    }
    if (snapshot.encrypted && changes.addGroups.includes('all')) {
      throw new LabAwsError('OperationNotPermitted', 'Encrypted snapshots cannot be made public', 400);
    }
  }
  // An injected fault (LabControl.ignoreSnapshotShares): EC2 answers `return true`, nothing changes.
  if (!call.lab.control.ignoresSnapshotShares(snapshot.ownerId)) {
    for (const id of changes.addUsers) snapshot.createVolumePermissions.add(id);
    for (const group of changes.addGroups) snapshot.createVolumePermissions.add(group);
    for (const id of [...changes.removeUsers, ...changes.removeGroups]) snapshot.createVolumePermissions.delete(id);
  }
  return respond(call, 'ModifySnapshotAttribute', [['return', true]]);
}

async function describeSnapshotAttribute(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const snapshot = findOwnSnapshot(call, requireString(params, 'SnapshotId'));
  const attribute = requireString(params, 'Attribute');
  if (attribute !== 'createVolumePermission' && attribute !== 'productCodes') {
    throw invalidParameterValue(`Value (${attribute}) for parameter attribute is invalid.`);
  }
  await authorize(call, 'ec2:DescribeSnapshotAttribute', [
    { resource: snapshotArn(snapshot.region, snapshot.id), context: resourceTagContext(snapshot.tags) },
  ]);
  endIfDryRun(params);
  const children: XmlChild[] = [['snapshotId', snapshot.id]];
  if (attribute === 'createVolumePermission') {
    children.push([
      'createVolumePermission',
      items([...snapshot.createVolumePermissions], (who) => (who === 'all' ? [['group', 'all']] : [['userId', who]])),
    ]);
  } else {
    children.push(['productCodes', []]);
  }
  return respond(call, 'DescribeSnapshotAttribute', children);
}

export const snapshotHandlers: Record<string, (call: CallContext, params: QueryTree) => Promise<HandlerResult>> = {
  DescribeSnapshots: describeSnapshots,
  CreateSnapshot: createSnapshot,
  CreateSnapshots: createSnapshots,
  CopySnapshot: copySnapshot,
  ModifySnapshotAttribute: modifySnapshotAttribute,
  DescribeSnapshotAttribute: describeSnapshotAttribute,
};

