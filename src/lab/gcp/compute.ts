/**
 * The Compute Engine REST subset the provider uses, rendered as the v1 API renders it (field
 * names and types from the protos that ship in @google-cloud/compute; a contract test checks
 * every response against them). Each handler authorizes through the lab's IAM first.
 */
import { randomBytes } from 'node:crypto';
import { alreadyExists, badRequest, notFound, notReady, quotaExceeded } from './errors.js';
import type { IamResource } from './iam.js';
import { LabGcpState, type LabGcpDisk, type LabGcpInstance, type LabGcpOperation, type LabGcpSnapshot } from './state.js';

export const COMPUTE_BASE = 'https://www.googleapis.com/compute/v1/';

/** What a handler needs from the server: authorization, the caller, lab settings. */
export interface ComputeCall {
  state: LabGcpState;
  principal: string;
  authorize(permission: string, resource: IamResource): void;
  /** Asks without refusing: testIamPermissions answers the granted subset. */
  allowed(permission: string, resource: IamResource): boolean;
  query: URLSearchParams;
  body: unknown;
  settings: ComputeSettings;
}

export interface ComputeSettings {
  /** Waits an insert operation needs before it is DONE (0: done at the first wait). */
  operationPolls: number;
  /** Bytes of serial output returned per page. */
  serialPageBytes: number;
  /** Snapshots the forensics project may hold before inserts fail with QUOTA_EXCEEDED. */
  snapshotQuota: number;
}

const link = (path: string) => `${COMPUTE_BASE}${path}`;

export function instanceResource(state: LabGcpState, i: LabGcpInstance): IamResource {
  return {
    name: LabGcpState.instanceKey(i.project, i.zone, i.name),
    type: 'compute.googleapis.com/Instance',
    project: i.project,
    tags: state.effectiveTags(i.project, i.tags),
  };
}

export function diskResource(state: LabGcpState, d: LabGcpDisk): IamResource {
  return { name: LabGcpState.diskKey(d.project, d, d.name), type: 'compute.googleapis.com/Disk', project: d.project, tags: state.effectiveTags(d.project, d.tags) };
}

export function snapshotResource(state: LabGcpState, project: string, name: string, tags: LabGcpSnapshot['tags'] = []): IamResource {
  return { name: `projects/${project}/global/snapshots/${name}`, type: 'compute.googleapis.com/Snapshot', project, tags: state.effectiveTags(project, tags) };
}

function projectResource(state: LabGcpState, project: string): IamResource {
  return { name: `projects/${project}`, type: 'cloudresourcemanager.googleapis.com/Project', project, tags: state.effectiveTags(project, []) };
}

function fingerprint(): string {
  return randomBytes(8).toString('base64');
}

export function renderInstance(state: LabGcpState, i: LabGcpInstance): Record<string, unknown> {
  return {
    kind: 'compute#instance',
    id: i.id,
    name: i.name,
    creationTimestamp: i.creationTimestamp,
    zone: link(`projects/${i.project}/zones/${i.zone}`),
    machineType: link(`projects/${i.project}/zones/${i.zone}/machineTypes/e2-medium`),
    status: i.status,
    labels: i.labels,
    labelFingerprint: fingerprint(),
    displayDevice: { enableDisplay: i.displayEnabled },
    ...(i.metadata ? { metadata: { kind: 'compute#metadata', fingerprint: 'bGFibWV0YQ==', items: i.metadata } } : {}),
    disks: i.disks.map((d, index) => ({
      kind: 'compute#attachedDisk',
      type: 'PERSISTENT',
      mode: 'READ_WRITE',
      source: link(d.includes('/') ? `projects/${i.project}/${d}` : `projects/${i.project}/zones/${i.zone}/disks/${d}`),
      deviceName: d.split('/').pop(),
      index,
      boot: index === 0,
      autoDelete: index === 0,
      interface: 'SCSI',
    })),
    selfLink: link(LabGcpState.instanceKey(i.project, i.zone, i.name)),
  };
}

export function renderDisk(state: LabGcpState, d: LabGcpDisk): Record<string, unknown> {
  const where = d.zone ? { zone: link(`projects/${d.project}/zones/${d.zone}`) } : { region: link(`projects/${d.project}/regions/${d.region}`) };
  return {
    kind: 'compute#disk',
    id: d.id,
    name: d.name,
    creationTimestamp: d.creationTimestamp,
    ...where,
    sizeGb: String(d.sizeGb),
    status: 'READY',
    type: link(d.zone ? `projects/${d.project}/zones/${d.zone}/diskTypes/pd-balanced` : `projects/${d.project}/regions/${d.region}/diskTypes/pd-balanced`),
    users: d.users.map(link),
    ...(d.lastAttachTimestamp ? { lastAttachTimestamp: d.lastAttachTimestamp } : {}),
    labels: d.labels,
    labelFingerprint: fingerprint(),
    ...(d.region ? { replicaZones: [link(`projects/${d.project}/zones/${d.region}-a`), link(`projects/${d.project}/zones/${d.region}-b`)] } : {}),
    selfLink: link(LabGcpState.diskKey(d.project, d, d.name)),
  };
}

export function renderSnapshot(s: LabGcpSnapshot): Record<string, unknown> {
  return {
    kind: 'compute#snapshot',
    id: s.id,
    name: s.name,
    creationTimestamp: s.creationTimestamp,
    status: s.status,
    sourceDisk: link(s.sourceDisk),
    sourceDiskId: s.sourceDiskId,
    diskSizeGb: String(s.diskSizeGb),
    storageBytes: String(s.status === 'READY' ? s.storageBytes : 0),
    storageBytesStatus: s.status === 'READY' ? 'UP_TO_DATE' : 'UPDATING',
    storageLocations: s.storageLocations,
    labels: s.labels,
    labelFingerprint: fingerprint(),
    snapshotType: 'STANDARD',
    ...(s.description ? { description: s.description } : {}),
    ...(s.kmsKeyName ? { snapshotEncryptionKey: { kmsKeyName: `${s.kmsKeyName}/cryptoKeyVersions/1` } } : {}),
    selfLink: link(`projects/${s.project}/global/snapshots/${s.name}`),
  };
}

export function renderOperation(o: LabGcpOperation): Record<string, unknown> {
  return {
    kind: 'compute#operation',
    id: o.id,
    name: o.name,
    operationType: o.operationType,
    targetLink: o.targetLink,
    ...(o.targetId ? { targetId: o.targetId } : {}),
    status: o.status,
    progress: o.status === 'DONE' ? 100 : o.status === 'RUNNING' ? 50 : 0,
    user: o.user,
    insertTime: o.insertTime,
    ...(o.status !== 'PENDING' ? { startTime: o.insertTime } : {}),
    ...(o.endTime ? { endTime: o.endTime } : {}),
    ...(o.error
      ? { error: { errors: [{ code: o.error.code, message: o.error.message }] }, httpErrorStatusCode: o.error.httpStatus ?? 404, httpErrorMessage: o.error.httpMessage ?? 'NOT FOUND' }
      : {}),
    selfLink: link(`projects/${o.project}/global/operations/${o.name}`),
  };
}

function instanceOf(call: ComputeCall, project: string, zone: string, name: string): LabGcpInstance {
  const key = LabGcpState.instanceKey(project, zone, name);
  const instance = call.state.instances.get(key);
  if (!instance) throw notFound(key);
  return instance;
}

export function getInstance(call: ComputeCall, project: string, zone: string, name: string): unknown {
  const instance = instanceOf(call, project, zone, name);
  call.authorize('compute.instances.get', instanceResource(call.state, instance));
  return renderInstance(call.state, instance);
}

export function getDisk(call: ComputeCall, project: string, location: { zone?: string; region?: string }, name: string): unknown {
  const key = LabGcpState.diskKey(project, location, name);
  const disk = call.state.disks.get(key);
  if (!disk) throw notFound(key);
  call.authorize('compute.disks.get', diskResource(call.state, disk));
  return renderDisk(call.state, disk);
}

const MAX_SERIAL_BYTES = 1024 * 1024;

export function getSerialPortOutput(call: ComputeCall, project: string, zone: string, name: string): unknown {
  const instance = instanceOf(call, project, zone, name);
  call.authorize('compute.instances.getSerialPortOutput', instanceResource(call.state, instance));
  const port = Number(call.query.get('port') ?? '1');
  if (!Number.isInteger(port) || port < 1 || port > 4) throw badRequest(`Invalid value for field 'port': '${call.query.get('port')}'. Must be between 1 and 4.`);
  if (instance.status !== 'RUNNING') throw notReady(LabGcpState.instanceKey(project, zone, name));
  const all = Buffer.from(instance.serial[port] ?? '', 'utf8');
  const oldest = Math.max(0, all.length - MAX_SERIAL_BYTES);
  let start = Number(call.query.get('start') ?? '0');
  if (start < 0) start = Math.max(oldest, all.length + start);
  // Output older than the kept megabyte is gone: the answer's start moves forward to show the gap.
  if (start < oldest) start = oldest;
  start = Math.min(start, all.length);
  const end = Math.min(all.length, start + call.settings.serialPageBytes);
  return {
    kind: 'compute#serialPortOutput',
    contents: all.subarray(start, end).toString('utf8'),
    start: String(start),
    next: String(end),
    selfLink: link(`${LabGcpState.instanceKey(project, zone, name)}/serialPort?port=${port}`),
  };
}

// A 1×1 PNG: what matters to the provider is that it stores the bytes it was sent.
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

export function getScreenshot(call: ComputeCall, project: string, zone: string, name: string): unknown {
  const instance = instanceOf(call, project, zone, name);
  call.authorize('compute.instances.getScreenshot', instanceResource(call.state, instance));
  // Lab assumption (docs/research/gcp.md open question 5): without a display device there is nothing to capture.
  if (!instance.displayEnabled) throw badRequest('Display device needs to be enabled for the instance', 'badRequest');
  if (instance.status !== 'RUNNING') throw notReady(LabGcpState.instanceKey(project, zone, name));
  return { kind: 'compute#screenshot', contents: PNG_1X1 };
}

export function aggregatedListInstances(call: ComputeCall, project: string): unknown {
  if (!call.state.projects.has(project)) throw notFound(`projects/${project}`);
  call.authorize('compute.instances.list', projectResource(call.state, project));
  const filter = call.query.get('filter');
  const match = filter ? /^labels\.([a-z][a-z0-9_-]*)\s*=\s*"?([^"]*)"?$/.exec(filter.trim()) : null;
  if (filter && !match) throw badRequest(`Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`);
  const items: Record<string, { instances?: unknown[]; warning?: unknown }> = {};
  for (const i of call.state.instances.values()) {
    if (i.project !== project) continue;
    if (match && i.labels[match[1] ?? ''] !== match[2]) continue;
    const key = `zones/${i.zone}`;
    (items[key] ??= { instances: [] }).instances!.push(renderInstance(call.state, i));
  }
  return { kind: 'compute#instanceAggregatedList', id: `projects/${project}/aggregated/instances`, items, selfLink: link(`projects/${project}/aggregated/instances`) };
}

interface SnapshotBody {
  name?: string;
  sourceDisk?: string;
  description?: string;
  labels?: Record<string, string>;
  storageLocations?: string[];
  snapshotEncryptionKey?: { kmsKeyName?: string };
  guestFlush?: boolean;
  params?: { resourceManagerTags?: Record<string, string> };
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function insertSnapshot(call: ComputeCall, project: string): unknown {
  const { state } = call;
  const body = (call.body ?? {}) as SnapshotBody;
  const requestId = call.query.get('requestId') ?? undefined;
  if (requestId !== undefined && (!UUID.test(requestId) || requestId === ZERO_UUID)) throw badRequest(`Invalid value for field 'requestId': '${requestId}'.`);
  // A retry with the same request id answers the first request's operation, creating nothing.
  const earlier = requestId ? state.requestIds.get(`${project}/${requestId}`) : undefined;
  if (earlier) return renderOperation(state.operations.get(earlier)!);
  if (!body.name || !NAME.test(body.name)) throw badRequest(`Invalid value for field 'resource.name': '${body.name ?? ''}'.`);
  const source = /(?:^|\/)(projects\/[^/]+\/(?:zones|regions)\/[^/]+\/disks\/[^/]+)$/.exec(body.sourceDisk ?? '')?.[1];
  if (!source) throw badRequest(`Invalid value for field 'resource.sourceDisk': '${body.sourceDisk ?? ''}'.`);
  const disk = state.disks.get(source);
  if (!disk) throw notFound(source);
  const snapshotName = `projects/${project}/global/snapshots/${body.name}`;
  const tags = Object.entries(body.params?.resourceManagerTags ?? {}).map(([key, value]) => ({ key, value: value.split('/').pop() ?? value }));
  call.authorize('compute.disks.createSnapshot', diskResource(state, disk));
  call.authorize('compute.snapshots.create', projectResource(state, project));
  if (body.labels && Object.keys(body.labels).length > 0) call.authorize('compute.snapshots.setLabels', snapshotResource(state, project, body.name));
  for (const [key, value] of Object.entries(body.params?.resourceManagerTags ?? {})) {
    call.authorize('compute.snapshots.createTagBinding', snapshotResource(state, project, body.name));
    call.authorize('resourcemanager.tagValueBindings.create', {
      name: value.startsWith('tagValues/') ? value : `tagValues/${key}/${value}`,
      type: 'cloudresourcemanager.googleapis.com/TagValue',
      tags: [],
    });
  }
  if (state.snapshots.has(snapshotName)) throw alreadyExists(snapshotName);
  const inProject = [...state.snapshots.values()].filter((s) => s.project === project).length;
  if (inProject >= call.settings.snapshotQuota) throw quotaExceeded('SNAPSHOTS');
  const snapshot: LabGcpSnapshot = {
    project,
    name: body.name,
    id: state.nextId(),
    status: 'CREATING',
    sourceDisk: source,
    sourceDiskId: disk.id,
    diskSizeGb: disk.sizeGb,
    storageBytes: disk.usedBytes,
    labels: body.labels ?? {},
    storageLocations: body.storageLocations ?? ['us'],
    ...(body.snapshotEncryptionKey?.kmsKeyName ? { kmsKeyName: body.snapshotEncryptionKey.kmsKeyName } : {}),
    tags,
    creationTimestamp: state.timestamp(),
    guestFlushRequested: body.guestFlush === true,
    ...(body.description ? { description: body.description } : {}),
  };
  state.snapshots.set(snapshotName, snapshot);
  const operation: LabGcpOperation = {
    project,
    name: `operation-${Date.now()}-${state.nextId()}`,
    id: state.nextId(),
    operationType: 'insert',
    targetLink: link(snapshotName),
    targetId: snapshot.id,
    user: call.principal,
    status: 'PENDING',
    insertTime: state.timestamp(),
    pollsLeft: call.settings.operationPolls,
    snapshot: snapshotName,
  };
  state.operations.set(`projects/${project}/global/operations/${operation.name}`, operation);
  if (requestId) state.requestIds.set(`${project}/${requestId}`, `projects/${project}/global/operations/${operation.name}`);
  return renderOperation(operation);
}

/** Moves an operation on by one step; a source disk deleted meanwhile fails it (DONE with error). */
function advance(state: LabGcpState, operation: LabGcpOperation): void {
  if (operation.status === 'DONE') return;
  if (operation.pollsLeft > 0) {
    operation.pollsLeft -= 1;
    operation.status = 'RUNNING';
    return;
  }
  operation.status = 'DONE';
  operation.endTime = state.timestamp();
  const snapshot = operation.snapshot ? state.snapshots.get(operation.snapshot) : undefined;
  if (!snapshot) return;
  if (!state.disks.has(snapshot.sourceDisk)) {
    operation.error = { code: 'RESOURCE_NOT_FOUND', message: `The resource '${snapshot.sourceDisk}' was not found` };
    state.snapshots.delete(operation.snapshot!);
    return;
  }
  snapshot.status = state.failingSnapshots.has(operation.snapshot!) ? 'FAILED' : 'READY';
  const error = snapshot.status === 'FAILED' ? state.failingSnapshotErrors.get(operation.snapshot!) : undefined;
  if (error) operation.error = error;
}

export function waitOperation(call: ComputeCall, project: string, name: string): unknown {
  const key = `projects/${project}/global/operations/${name}`;
  const operation = call.state.operations.get(key);
  if (!operation) throw notFound(key);
  call.authorize('compute.globalOperations.get', { name: key, type: 'compute.googleapis.com/Operation', project, tags: call.state.effectiveTags(project, []) });
  // Best effort, like the real wait: it may answer before the operation is DONE.
  advance(call.state, operation);
  return renderOperation(operation);
}

export function getSnapshot(call: ComputeCall, project: string, name: string): unknown {
  const key = `projects/${project}/global/snapshots/${name}`;
  const snapshot = call.state.snapshots.get(key);
  if (!snapshot) throw notFound(key);
  call.authorize('compute.snapshots.get', snapshotResource(call.state, project, name, snapshot.tags));
  // A snapshot gets made whether or not anyone waits on its operation (a run killed after the
  // insert leaves nobody waiting): reading it moves its operation on, as time would.
  if (snapshot.status === 'CREATING') {
    for (const operation of call.state.operations.values()) if (operation.snapshot === key) advance(call.state, operation);
  }
  const current = call.state.snapshots.get(key);
  if (!current) throw notFound(key);
  return renderSnapshot(current);
}

/** Served so the deny matrix can show that nobody in custody's roles may delete evidence. */
export function deleteSnapshot(call: ComputeCall, project: string, name: string): unknown {
  const key = `projects/${project}/global/snapshots/${name}`;
  const snapshot = call.state.snapshots.get(key);
  if (!snapshot) throw notFound(key);
  call.authorize('compute.snapshots.delete', snapshotResource(call.state, project, name, snapshot.tags));
  call.state.snapshots.delete(key);
  return { kind: 'compute#operation', name: `operation-delete-${snapshot.id}`, status: 'DONE', operationType: 'delete', targetLink: link(key) };
}

/** Served for the deny matrix: stopping a target is never granted. */
export function stopInstance(call: ComputeCall, project: string, zone: string, name: string): unknown {
  const instance = instanceOf(call, project, zone, name);
  call.authorize('compute.instances.stop', instanceResource(call.state, instance));
  instance.status = 'TERMINATED';
  return { kind: 'compute#operation', name: `operation-stop-${instance.id}`, status: 'DONE', operationType: 'stop', targetLink: link(LabGcpState.instanceKey(project, zone, name)) };
}

/**
 * `testIamPermissions` on an instance or a disk: the subset of the asked permissions the caller
 * holds. The call itself needs `compute.<collection>.list` (Compute's reference, "IAM Permissions"
 * of each testIamPermissions method), decided at the project as a list is.
 */
export function testIamPermissions(call: ComputeCall, kind: 'instance' | 'disk', project: string, location: { zone?: string; region?: string }, name: string): unknown {
  const asked = ((call.body ?? {}) as { permissions?: string[] }).permissions ?? [];
  call.authorize(kind === 'instance' ? 'compute.instances.list' : 'compute.disks.list', projectResource(call.state, project));
  let resource: IamResource;
  if (kind === 'instance') {
    resource = instanceResource(call.state, instanceOf(call, project, location.zone!, name));
  } else {
    const key = LabGcpState.diskKey(project, location, name);
    const disk = call.state.disks.get(key);
    if (!disk) throw notFound(key);
    resource = diskResource(call.state, disk);
  }
  if (asked.some((p) => p.includes('*'))) throw badRequest('Permissions with wildcards are not allowed.');
  return { permissions: asked.filter((p) => call.allowed(p, resource)) };
}

/** Resource Manager `projects.testIamPermissions`, for the project-level grants. */
export function testProjectPermissions(call: ComputeCall, project: string): unknown {
  if (!call.state.projects.has(project)) throw notFound(`projects/${project}`);
  const asked = ((call.body ?? {}) as { permissions?: string[] }).permissions ?? [];
  return { permissions: asked.filter((p) => call.allowed(p, projectResource(call.state, project))) };
}
