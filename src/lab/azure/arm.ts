/**
 * The lab's Azure Resource Manager: the Compute subset custody uses, held to the published REST
 * descriptions (Azure/azure-rest-api-specs ComputeRP 2025-04-01, DiskRP 2025-01-02; the shapes
 * the contract test checks are in test/lab/azure/spec-facts.json with their spec paths):
 * - ids case-insensitive, returned as created; `api-version` required;
 * - `x-ms-request-id` on every answer, `x-ms-correlation-request-id` echoed (or made up);
 * - errors as `{"error": {"code", "message"}}`; 401 for a token from the wrong tenant, expired
 *   or for another audience; 403 `AuthorizationFailed` / `LinkedAuthorizationFailed` naming the
 *   action and the scope, decided from policies/azure by `RbacModel`;
 * - long-running operations: 202 + `Location` (+ `Azure-AsyncOperation`) under
 *   `/subscriptions/S/providers/Microsoft.Compute/locations/L/operations/ID`, 202 while running,
 *   200 with the final body when done;
 * - faults: throttling (429 + `Retry-After`), a 409 on exporting an attached disk, a VM deleted
 *   mid-run — injected per operation by tests; and a call held in flight until a test releases
 *   it (`holds`), so a test knows without timing that the collector has that call out.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallHolds } from '../call-holds.js';
import type { LabBlobHost, InlineBlobHost } from './blob-host.js';
import type { LabTokenSigner } from './tokens.js';
import { vhdFile } from './vhd-export.js';
import { key, newUniqueId, type AzureLabWorld, type LabDisk, type LabRestorePoint, type LabRestorePointCollection, type LabSnapshot, type LabVm } from './world.js';

export const COMPUTE_API_VERSIONS = new Set(['2025-04-01', '2026-04-01']);
export const DISK_API_VERSIONS = new Set(['2025-01-02', '2026-03-02']);
export const NETWORK_API_VERSIONS = new Set(['2024-05-01', '2025-05-01']);
export const AUTHORIZATION_API_VERSIONS = new Set(['2022-04-01']);

export interface ArmExchange {
  method: string;
  /** Path without the query. */
  path: string;
  operation: string;
  status: number;
  requestId: string;
  clientRequestId?: string;
  correlationRequestId: string;
  principal?: string;
  tenant?: string;
}

export interface ArmFault {
  /** Operation name (see `route`) the fault applies to. */
  operation: string;
  status: number;
  code: string;
  message: string;
  /** How many matching requests fail (then the fault is spent). */
  times: number;
  retryAfterSeconds?: number;
}

export interface ArmContext {
  world: AzureLabWorld;
  signer: LabTokenSigner;
  blobHost: LabBlobHost;
  inlineBlobs: InlineBlobHost;
  baseUrl: () => string;
  now: () => number;
  log: ArmExchange[];
  faults: ArmFault[];
  /** Calls a test holds in flight (`holdNext(operation)`), served once released. */
  holds?: CallHolds;
  /** Polls an async operation answers 202 before it finishes. */
  operationPolls: number;
}

class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface Route {
  operation: string;
  /** Which api-versions apply; `operations` status URLs carry the version of the call that started them. */
  family: 'compute' | 'disk' | 'network' | 'authorization' | 'operations';
  /** RBAC action and the scope it is checked at. */
  action: string;
  scope: string;
  data?: boolean;
  subscription: string;
  handle: () => Promise<{ status: number; body?: unknown; headers?: Record<string, string> }>;
}

const C = 'Microsoft.Compute';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const k of path) current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[k] : undefined;
  return current;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ArmError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized.');
  }
}

function notFound(type: string, name: string, rg: string): ArmError {
  return new ArmError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
}

function vmModel(vm: LabVm, world: AzureLabWorld, withInstanceView: boolean, now: number): Record<string, unknown> {
  const osDisk = vm.osDiskId ? world.disks.get(key(vm.osDiskId)) : undefined;
  const name = vm.id.split('/').pop()!;
  const storageProfile: Record<string, unknown> = {
    osDisk: vm.ephemeralOsDisk
      ? { osType: 'Linux', name: vm.ephemeralOsDisk.name, createOption: 'FromImage', caching: 'ReadOnly', diffDiskSettings: { option: 'Local', placement: 'CacheDisk' }, managedDisk: { storageAccountType: 'Standard_LRS' } }
      : { osType: 'Linux', name: osDisk?.id.split('/').pop(), createOption: 'FromImage', caching: 'ReadWrite', managedDisk: { storageAccountType: osDisk?.sku ?? 'Premium_LRS', id: vm.osDiskId }, diskSizeGB: 1 },
    dataDisks: vm.dataDisks.map((d) => ({ lun: d.lun, name: d.id.split('/').pop(), createOption: 'Attach', caching: 'None', managedDisk: { storageAccountType: world.disks.get(key(d.id))?.sku ?? 'Premium_LRS', id: d.id }, diskSizeGB: 1 })),
  };
  const properties: Record<string, unknown> = {
    vmId: vm.vmId,
    hardwareProfile: { vmSize: 'Standard_D2s_v5' },
    storageProfile,
    osProfile: { computerName: name, adminUsername: 'azureuser', linuxConfiguration: { disablePasswordAuthentication: true } },
    networkProfile: { networkInterfaces: vm.nicIds.map((id, i) => ({ id, properties: { primary: i === 0 } })) },
    diagnosticsProfile: { bootDiagnostics: { enabled: true } },
    provisioningState: 'Succeeded',
    timeCreated: '2026-11-30T08:00:00.0000000+00:00',
  };
  if (withInstanceView) properties.instanceView = instanceView(vm, now);
  const body: Record<string, unknown> = { name, id: vm.id, type: vm.scaleSet ? `${C}/virtualMachineScaleSets/virtualMachines` : `${C}/virtualMachines`, location: vm.location, tags: vm.tags, properties };
  if (vm.scaleSet) body.instanceId = vm.scaleSet.instanceId;
  if (vm.extensions?.length) {
    body.resources = vm.extensions.map((x) => ({
      name: x.name,
      id: `${vm.id}/extensions/${x.name}`,
      type: `${C}/virtualMachines/extensions`,
      location: vm.location,
      properties: { autoUpgradeMinorVersion: true, provisioningState: 'Succeeded', publisher: x.publisher, type: x.type, typeHandlerVersion: x.typeHandlerVersion, settings: x.settings },
    }));
  }
  return body;
}

function instanceView(vm: LabVm, now: number): Record<string, unknown> {
  const time = new Date(now).toISOString();
  return {
    computerName: vm.id.split('/').pop(),
    osName: 'ubuntu',
    osVersion: '24.04',
    vmAgent: { vmAgentVersion: '2.12.0.2', statuses: [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Ready', time }] },
    disks: [vm.osDiskId, ...vm.dataDisks.map((d) => d.id)].filter(Boolean).map((id) => ({ name: id!.split('/').pop(), statuses: [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' }] })),
    bootDiagnostics: {},
    statuses: [
      { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', time },
      { code: `PowerState/${vm.powerState}`, level: 'Info', displayStatus: `VM ${vm.powerState}` },
    ],
  };
}

function diskModel(disk: LabDisk): Record<string, unknown> {
  const name = disk.id.split('/').pop()!;
  return {
    name,
    id: disk.id,
    type: `${C}/disks`,
    location: disk.location,
    tags: disk.tags,
    managedBy: disk.managedBy,
    sku: { name: disk.sku, tier: disk.sku.startsWith('Premium') ? 'Premium' : 'Standard' },
    properties: {
      osType: 'Linux',
      creationData: { createOption: 'Empty' },
      diskSizeGB: Math.ceil(disk.content.length / 2 ** 30),
      diskSizeBytes: disk.content.length,
      uniqueId: disk.uniqueId,
      encryption: { type: 'EncryptionAtRestWithPlatformKey' },
      provisioningState: 'Succeeded',
      diskState: disk.managedBy ? 'Attached' : 'Unattached',
      timeCreated: '2026-11-30T08:00:00.0000000+00:00',
    },
  };
}

function snapshotModel(snapshot: LabSnapshot): Record<string, unknown> {
  return {
    name: snapshot.name,
    id: snapshot.id,
    type: `${C}/snapshots`,
    location: snapshot.location,
    tags: snapshot.tags,
    sku: { name: 'Standard_ZRS', tier: 'Standard' },
    properties: {
      osType: 'Linux',
      creationData: { createOption: 'Copy', sourceResourceId: snapshot.sourceResourceId, sourceUniqueId: snapshot.sourceUniqueId },
      diskSizeGB: Math.ceil(snapshot.content.length / 2 ** 30),
      diskSizeBytes: snapshot.content.length,
      uniqueId: snapshot.uniqueId,
      incremental: snapshot.incremental,
      incrementalSnapshotFamilyId: snapshot.familyId,
      encryption: { type: 'EncryptionAtRestWithPlatformKey' },
      provisioningState: snapshot.pendingPolls > 0 ? 'Creating' : 'Succeeded',
      diskState: snapshot.activeSas ? 'ActiveSAS' : 'Unattached',
      timeCreated: snapshot.timeCreated,
      completionPercent: snapshot.pendingPolls > 0 ? 50 : 100,
    },
  };
}

/** Splits a path into segments, keeping the original casing, and a lower-cased copy to match on. */
function segments(path: string): { raw: string[]; low: string[] } {
  const raw = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { raw, low: raw.map((s) => s.toLowerCase()) };
}

export function createArmHandler(ctx: ArmContext) {
  const { world } = ctx;

  function resourceGroupExists(sub: string, rg: string): boolean {
    return world.resourceGroups.has(`/subscriptions/${sub}/resourcegroups/${rg}`.toLowerCase());
  }

  function startOperation(subscription: string, location: string, result: () => unknown, apiVersion: string): Record<string, string> {
    const id = randomUUID();
    world.operations.set(id, { id, subscriptionId: subscription, location, kind: 'operations', pendingPolls: ctx.operationPolls, result, status: 'InProgress', startTime: new Date(ctx.now()).toISOString() });
    const base = `${ctx.baseUrl()}/subscriptions/${subscription}/providers/${C}/locations/${location}/operations/${id}`;
    return { location: `${base}?monitor=true&api-version=${apiVersion}`, 'azure-asyncoperation': `${base}?api-version=${apiVersion}`, 'retry-after': '0' };
  }

  function route(method: string, path: string, query: URLSearchParams, body: () => Promise<Record<string, unknown>>, caller: { id: string }): Route {
    const { raw, low } = segments(path);
    const apiVersion = query.get('api-version') ?? '';
    if (low[0] !== 'subscriptions' || !raw[1]) throw new ArmError(404, 'InvalidResourceType', `The resource type could not be found for path '${path}'.`);
    const sub = raw[1];
    // Effective permissions: {scope}/providers/Microsoft.Authorization/permissions
    if (low.at(-3) === 'providers' && low.at(-2) === 'microsoft.authorization' && low.at(-1) === 'permissions' && method === 'GET') {
      const scope = `/${raw.slice(0, -3).join('/')}`;
      return {
        operation: 'permissions.list', family: 'authorization', action: 'Microsoft.Authorization/permissions/read', scope, subscription: sub,
        handle: async () => ({ status: 200, body: { value: world.rbac.effectivePermissions(caller.id, scope) } }),
      };
    }
    // /subscriptions/S/providers/Microsoft.Compute/virtualMachines (list all)
    if (low[2] === 'providers' && low[3] === 'microsoft.compute') {
      if (low[4] === 'virtualmachines' && low.length === 5 && method === 'GET') {
        return {
          operation: 'virtualMachines.listAll', family: 'compute', action: `${C}/virtualMachines/read`, scope: `/subscriptions/${sub}`, subscription: sub,
          handle: async () => ({
            status: 200,
            body: { value: [...world.vms.values()].filter((vm) => !vm.scaleSet && key(vm.id).startsWith(`/subscriptions/${sub.toLowerCase()}/`)).map((vm) => vmModel(vm, world, false, ctx.now())) },
          }),
        };
      }
      if (low[4] === 'locations' && low[6] === 'operations' && raw[7] && low.length === 8 && method === 'GET') {
        const id = raw[7];
        return {
          operation: 'locations.operations', family: 'operations', action: `${C}/locations/operations/read`, scope: `/subscriptions/${sub}`, subscription: sub,
          handle: async () => {
            const op = world.operations.get(id);
            if (!op || op.subscriptionId.toLowerCase() !== sub.toLowerCase()) throw new ArmError(404, 'NotFound', `Operation ${id} was not found.`);
            if (op.pendingPolls > 0) {
              op.pendingPolls -= 1;
              return { status: 202, body: { name: id, status: 'InProgress', startTime: op.startTime }, headers: { 'retry-after': '0' } };
            }
            op.status = 'Succeeded';
            const result = op.result();
            return { status: 200, body: result === undefined ? { name: id, status: 'Succeeded', startTime: op.startTime, endTime: new Date(ctx.now()).toISOString() } : result };
          },
        };
      }
    }
    if (low[2] !== 'resourcegroups' || !raw[3] || low[4] !== 'providers') throw new ArmError(404, 'InvalidResourceType', `The resource type could not be found for path '${path}'.`);
    const rg = raw[3];
    const ns = low[5];
    const rest = raw.slice(6);
    const restLow = low.slice(6);
    const id = `/${raw.join('/')}`;
    const rgId = `/subscriptions/${sub}/resourceGroups/${rg}`;
    if (ns === 'microsoft.network' && restLow[0] === 'networkinterfaces' && rest[1] && rest.length === 2 && method === 'GET') {
      return {
        operation: 'networkInterfaces.get', family: 'network', action: 'Microsoft.Network/networkInterfaces/read', scope: id, subscription: sub,
        handle: async () => {
          const nic = world.nics.get(key(id));
          if (!nic) throw notFound('Microsoft.Network/networkInterfaces', rest[1]!, rg);
          return { status: 200, body: { name: rest[1], id: nic.id, type: 'Microsoft.Network/networkInterfaces', location: nic.location, properties: nic.properties } };
        },
      };
    }
    if (ns !== 'microsoft.compute') throw new ArmError(404, 'NoRegisteredProviderFound', `No registered resource provider found for location and API version '${apiVersion}'.`);
    const [type = '', name = '', sub1 = '', sub1name = '', sub2 = '', sub2name = '', verb] = restLow;
    const names = rest;

    // Virtual machines
    if (type === 'virtualmachines' && name) {
      const vmId = `${rgId}/providers/${C}/virtualMachines/${names[1]}`;
      const vm = () => {
        const found = world.vms.get(key(vmId));
        if (!found || found.scaleSet) throw notFound(`${C}/virtualMachines`, names[1]!, rg);
        return found;
      };
      if (restLow.length === 2 && method === 'GET') {
        return { operation: 'virtualMachines.get', family: 'compute', action: `${C}/virtualMachines/read`, scope: vmId, subscription: sub,
          handle: async () => ({ status: 200, body: vmModel(vm(), world, (query.get('$expand') ?? '').toLowerCase() === 'instanceview', ctx.now()) }) };
      }
      if (restLow.length === 3 && sub1 === 'instanceview' && method === 'GET') {
        return { operation: 'virtualMachines.instanceView', family: 'compute', action: `${C}/virtualMachines/instanceView/read`, scope: vmId, subscription: sub,
          handle: async () => ({ status: 200, body: instanceView(vm(), ctx.now()) }) };
      }
      if (restLow.length === 3 && sub1 === 'retrievebootdiagnosticsdata' && method === 'POST') {
        return { operation: 'virtualMachines.retrieveBootDiagnosticsData', family: 'compute', action: `${C}/virtualMachines/retrieveBootDiagnosticsData/action`, scope: vmId, subscription: sub,
          handle: async () => ({ status: 200, body: await bootDiagnostics(vm(), query) }) };
      }
    }
    if (type === 'virtualmachinescalesets' && name && sub1 === 'virtualmachines' && sub1name) {
      const vmId = `${rgId}/providers/${C}/virtualMachineScaleSets/${names[1]}/virtualMachines/${names[3]}`;
      const vm = () => {
        const found = world.vms.get(key(vmId));
        if (!found?.scaleSet) throw notFound(`${C}/virtualMachineScaleSets/virtualMachines`, `${names[1]}/${names[3]}`, rg);
        return found;
      };
      if (restLow.length === 4 && method === 'GET') {
        return { operation: 'virtualMachineScaleSetVMs.get', family: 'compute', action: `${C}/virtualMachineScaleSets/virtualMachines/read`, scope: vmId, subscription: sub,
          handle: async () => ({ status: 200, body: vmModel(vm(), world, (query.get('$expand') ?? '').toLowerCase() === 'instanceview', ctx.now()) }) };
      }
      if (restLow.length === 5 && sub2 === 'instanceview' && method === 'GET') {
        return { operation: 'virtualMachineScaleSetVMs.getInstanceView', family: 'compute', action: `${C}/virtualMachineScaleSets/virtualMachines/instanceView/read`, scope: vmId, subscription: sub,
          handle: async () => ({ status: 200, body: instanceView(vm(), ctx.now()) }) };
      }
      if (restLow.length === 5 && sub2 === 'retrievebootdiagnosticsdata' && method === 'POST') {
        return { operation: 'virtualMachineScaleSetVMs.retrieveBootDiagnosticsData', family: 'compute', action: `${C}/virtualMachineScaleSets/virtualMachines/retrieveBootDiagnosticsData/action`, scope: vmId, subscription: sub,
          handle: async () => ({ status: 200, body: await bootDiagnostics(vm(), query) }) };
      }
    }
    if (type === 'disks' && name && restLow.length === 2 && method === 'GET') {
      return { operation: 'disks.get', family: 'disk', action: `${C}/disks/read`, scope: id, subscription: sub,
        handle: async () => {
          const disk = world.disks.get(key(id));
          if (!disk) throw notFound(`${C}/disks`, names[1]!, rg);
          return { status: 200, body: diskModel(disk) };
        } };
    }
    if (type === 'disks' && name && restLow.length === 3 && sub1 === 'begingetaccess' && method === 'POST') {
      return { operation: 'disks.grantAccess', family: 'disk', action: `${C}/disks/beginGetAccess/action`, scope: id.replace(/\/beginGetAccess$/i, ''), subscription: sub,
        handle: async () => {
          const disk = world.disks.get(key(id.replace(/\/beginGetAccess$/i, '')));
          if (!disk) throw notFound(`${C}/disks`, names[1]!, rg);
          const vm = disk.managedBy ? world.vms.get(key(disk.managedBy)) : undefined;
          if (vm?.powerState === 'running') throw new ArmError(409, 'Conflict', `Access not permitted because disk '${names[1]}' is currently attached to running VM '${vm.id}'.`);
          throw new ArmError(400, 'OperationNotAllowed', 'The lab does not export disks directly: snapshot first.');
        } };
    }
    // Snapshots
    if (type === 'snapshots') {
      const rgOk = () => {
        if (!resourceGroupExists(sub, rg)) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
      };
      if (!name && method === 'GET') {
        return { operation: 'snapshots.listByResourceGroup', family: 'disk', action: `${C}/snapshots/read`, scope: rgId, subscription: sub,
          handle: async () => {
            rgOk();
            const prefix = `${rgId}/providers/${C}/snapshots/`.toLowerCase();
            const value = [...world.snapshots.values()].filter((s) => key(s.id).startsWith(prefix)).map((s) => {
              const model = snapshotModel(s);
              if (s.pendingPolls > 0) s.pendingPolls -= 1;
              return model;
            });
            return { status: 200, body: { value } };
          } };
      }
      const snapshotId = `${rgId}/providers/${C}/snapshots/${names[1]}`;
      const snapshot = () => {
        const found = world.snapshots.get(key(snapshotId));
        if (!found) throw notFound(`${C}/snapshots`, names[1]!, rg);
        return found;
      };
      if (restLow.length === 2 && method === 'GET') {
        return { operation: 'snapshots.get', family: 'disk', action: `${C}/snapshots/read`, scope: snapshotId, subscription: sub,
          handle: async () => {
            const s = snapshot();
            const model = snapshotModel(s);
            if (s.pendingPolls > 0) s.pendingPolls -= 1;
            return { status: 200, body: model };
          } };
      }
      if (restLow.length === 2 && method === 'PUT') {
        return { operation: 'snapshots.createOrUpdate', family: 'disk', action: `${C}/snapshots/write`, scope: snapshotId, subscription: sub,
          handle: async () => {
            rgOk();
            const request = await body();
            const properties = (request.properties ?? {}) as Record<string, unknown>;
            const creation = (properties.creationData ?? {}) as Record<string, unknown>;
            if (typeof request.location !== 'string') throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
            if (creation.createOption !== 'Copy' || typeof creation.sourceResourceId !== 'string') {
              throw new ArmError(400, 'InvalidParameter', "The lab supports createOption 'Copy' from a managed disk only.", {});
            }
            const source = world.disks.get(key(creation.sourceResourceId));
            if (!source) throw new ArmError(404, 'NotFound', `Resource '${creation.sourceResourceId}' was not found.`);
            // Linked authorization: ARM checks the source disk (Azure/OpenShift#186).
            const linked = world.rbac.decide(caller.id, `${C}/disks/beginGetAccess/action`, source.id);
            if (!linked.allowed) {
              throw new ArmError(403, 'LinkedAuthorizationFailed', `The client '${caller.id}' with object id '${caller.id}' has permission to perform action '${C}/snapshots/write' on scope '${snapshotId}'; however, it does not have permission to perform action '${C}/disks/beginGetAccess/action' on the linked scope(s) '${source.id}' or the linked scope(s) are invalid.`);
            }
            if (source.location.toLowerCase() !== request.location.toLowerCase()) throw new ArmError(400, 'InvalidParameter', `Snapshot location '${request.location}' must match the source disk's location '${source.location}'.`);
            if (properties.incremental === true && source.id.split('/')[2]!.toLowerCase() !== sub.toLowerCase()) {
              throw new ArmError(400, 'BadRequest', "You can't create an incremental snapshot for a disk outside of that disk's subscription.");
            }
            const existing = world.snapshots.get(key(snapshotId));
            const snap: LabSnapshot = existing ?? {
              id: snapshotId,
              name: names[1]!,
              location: request.location,
              tags: (request.tags ?? {}) as Record<string, string>,
              uniqueId: newUniqueId(),
              sourceResourceId: source.id,
              sourceUniqueId: source.uniqueId,
              content: Buffer.from(source.content),
              timeCreated: new Date(ctx.now()).toISOString(),
              pendingPolls: ctx.operationPolls,
              incremental: properties.incremental === true,
              familyId: source.uniqueId,
            };
            world.snapshots.set(key(snapshotId), snap);
            const headers = startOperation(sub, snap.location, () => snapshotModel(snap), apiVersion);
            return { status: existing ? 200 : 202, body: snapshotModel(snap), headers: existing ? {} : headers };
          } };
      }
      if (restLow.length === 3 && (sub1 === 'begingetaccess' || sub1 === 'endgetaccess') && method === 'POST') {
        const begin = sub1 === 'begingetaccess';
        return { operation: begin ? 'snapshots.grantAccess' : 'snapshots.revokeAccess', family: 'disk', action: `${C}/snapshots/${begin ? 'beginGetAccess' : 'endGetAccess'}/action`, scope: snapshotId, subscription: sub,
          handle: async () => {
            const s = snapshot();
            if (!begin) {
              if (s.activeSas) await ctx.blobHost.revoke?.(s.activeSas.url);
              s.activeSas = undefined;
              return { status: 202, headers: startOperation(sub, s.location, () => undefined, apiVersion) };
            }
            const request = await body();
            if (request.access !== 'Read') throw new ArmError(400, 'InvalidParameter', "The lab grants 'Read' access only.");
            const seconds = Number(request.durationInSeconds);
            if (!Number.isInteger(seconds) || seconds < 1) throw new ArmError(400, 'InvalidParameter', 'durationInSeconds must be a positive integer.');
            if (s.pendingPolls > 0) throw new ArmError(409, 'OperationNotAllowed', `Snapshot '${s.name}' is still being created.`);
            const family = [...world.snapshots.values()].filter((x) => x.familyId === s.familyId && x.activeSas && x !== s);
            if (family.length >= 5) throw new ArmError(409, 'OperationNotAllowed', 'At most 5 snapshots of one incremental family may have an active SAS at once.');
            const expiresOn = new Date(ctx.now() + seconds * 1000);
            const blob = `${s.uniqueId}.vhd`;
            const url = await ctx.blobHost.publish('snapshot-exports', blob, vhdFile(s.content), { pageBlob: true, expiresOn });
            s.activeSas = { url, blob, expiresOn: expiresOn.toISOString() };
            return { status: 202, headers: startOperation(sub, s.location, () => ({ accessSAS: url }), apiVersion) };
          } };
      }
    }
    // Restore point collections, restore points, disk restore points (ComputeRP restorePoint*.json).
    if (type === 'restorepointcollections' && name) {
      const rpcId = `${rgId}/providers/${C}/restorePointCollections/${names[1]}`;
      const collection = () => {
        const found = world.restorePointCollections.get(key(rpcId));
        if (!found) throw notFound(`${C}/restorePointCollections`, names[1]!, rg);
        return found;
      };
      const rpcModel = (c: LabRestorePointCollection) => ({ name: c.id.split('/').pop(), id: c.id, type: `${C}/restorePointCollections`, location: c.location, tags: c.tags, properties: { source: { id: c.sourceId, location: c.location }, restorePointCollectionId: c.id, provisioningState: 'Succeeded' } });
      if (restLow.length === 2 && method === 'PUT') {
        return { operation: 'restorePointCollections.createOrUpdate', family: 'compute', action: `${C}/restorePointCollections/write`, scope: rpcId, subscription: sub,
          handle: async () => {
            if (!resourceGroupExists(sub, rg)) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
            const request = await body();
            const sourceId = str(at(request, 'properties', 'source', 'id'));
            const vm = sourceId ? world.vms.get(key(sourceId)) : undefined;
            if (!sourceId || !vm) throw new ArmError(400, 'InvalidParameter', 'properties.source.id must name an existing virtual machine.');
            const linked = world.rbac.decide(caller.id, `${C}/virtualMachines/read`, vm.id);
            if (!linked.allowed) throw new ArmError(403, 'LinkedAuthorizationFailed', `The client '${caller.id}' with object id '${caller.id}' has permission to perform action '${C}/restorePointCollections/write' on scope '${rpcId}'; however, it does not have permission to perform action '${C}/virtualMachines/read' on the linked scope(s) '${vm.id}' or the linked scope(s) are invalid.`);
            const existing = world.restorePointCollections.get(key(rpcId));
            const c: LabRestorePointCollection = existing ?? { id: rpcId, location: String(request.location ?? vm.location), sourceId: vm.id, tags: (request.tags ?? {}) as Record<string, string>, points: new Map() };
            world.restorePointCollections.set(key(rpcId), c);
            return { status: existing ? 200 : 201, body: rpcModel(c) };
          } };
      }
      if (restLow.length === 2 && method === 'GET') {
        return { operation: 'restorePointCollections.get', family: 'compute', action: `${C}/restorePointCollections/read`, scope: rpcId, subscription: sub, handle: async () => ({ status: 200, body: rpcModel(collection()) }) };
      }
      if (sub1 === 'restorepoints' && sub1name) {
        const rpId = `${rpcId}/restorePoints/${names[3]}`;
        const point = () => {
          const found = collection().points.get(key(rpId));
          if (!found) throw notFound(`${C}/restorePointCollections/restorePoints`, `${names[1]}/${names[3]}`, rg);
          return found;
        };
        const rpModel = (p: LabRestorePoint) => ({
          name: p.id.split('/').pop(),
          id: p.id,
          type: `${C}/restorePointCollections/restorePoints`,
          properties: {
            consistencyMode: p.consistencyMode,
            timeCreated: p.timeCreated,
            provisioningState: p.failed ? 'Failed' : p.pendingPolls <= 0 ? 'Succeeded' : 'Creating',
            sourceMetadata: p.sourceMetadata,
          },
        });
        // Read-only and captured once, as the spec's RestorePointSourceMetadata is: a point read
        // after its VM (or a disk) is deleted still names them (test/lab/azure/spec-facts.json).
        const sourceMetadataOf = (vm: LabVm, c: LabRestorePointCollection, drps: LabRestorePoint['diskRestorePoints']) => {
          const drpFor = (diskId: string) => [...drps.values()].find((d) => key(d.sourceDiskId) === key(diskId));
          return {
            vmId: vm.vmId,
            location: c.location,
            storageProfile: {
              osDisk: vm.osDiskId ? { name: vm.osDiskId.split('/').pop(), managedDisk: { id: vm.osDiskId }, diskRestorePoint: { id: drpFor(vm.osDiskId)?.id } } : undefined,
              dataDisks: vm.dataDisks.map((d) => ({ lun: d.lun, name: d.id.split('/').pop(), managedDisk: { id: d.id }, diskRestorePoint: { id: drpFor(d.id)?.id } })),
            },
          };
        };
        if (restLow.length === 4 && method === 'PUT') {
          return { operation: 'restorePoints.create', family: 'compute', action: `${C}/restorePointCollections/restorePoints/write`, scope: rpId, subscription: sub,
            handle: async () => {
              const c = collection();
              const request = await body();
              const mode = str(at(request, 'properties', 'consistencyMode'));
              const vm = world.vms.get(key(c.sourceId));
              if (!vm) throw new ArmError(404, 'NotFound', `Virtual machine '${c.sourceId}' was not found.`);
              if (vm.scaleSet) throw new ArmError(400, 'OperationNotAllowed', 'Restore points are not supported for virtual machines in a uniform virtual machine scale set.');
              if (mode !== undefined && mode !== 'CrashConsistent') throw new ArmError(400, 'InvalidParameter', "Only 'CrashConsistent' may be requested as consistencyMode.");
              if (c.points.get(key(rpId))) return { status: 200, body: rpModel(c.points.get(key(rpId))!) };
              const drps: LabRestorePoint['diskRestorePoints'] = new Map();
              for (const diskId of [vm.osDiskId, ...vm.dataDisks.map((d) => d.id)]) {
                const disk = diskId ? world.disks.get(key(diskId)) : undefined;
                if (!disk) continue;
                const drpId = `${rpId}/diskRestorePoints/${disk.id.split('/').pop()}_${disk.uniqueId}`;
                drps.set(key(drpId), { id: drpId, sourceDiskId: disk.id, content: Buffer.from(disk.content) });
              }
              const p: LabRestorePoint = { id: rpId, consistencyMode: mode ?? 'ApplicationConsistent', timeCreated: new Date(ctx.now()).toISOString(), pendingPolls: ctx.operationPolls, diskRestorePoints: drps, sourceMetadata: sourceMetadataOf(vm, c, drps) };
              c.points.set(key(rpId), p);
              return { status: 201, body: rpModel(p), headers: startOperation(sub, c.location, () => rpModel(p), apiVersion) };
            } };
        }
        if (restLow.length === 4 && method === 'GET') {
          return { operation: 'restorePoints.get', family: 'compute', action: `${C}/restorePointCollections/restorePoints/read`, scope: rpId, subscription: sub,
            handle: async () => {
              const p = point();
              const model = rpModel(p);
              if (p.pendingPolls > 0) p.pendingPolls -= 1;
              return { status: 200, body: model };
            } };
        }
        if (sub2 === 'diskrestorepoints' && sub2name) {
          const drpId = `${rpId}/diskRestorePoints/${names[5]}`;
          const drp = () => {
            const found = point().diskRestorePoints.get(key(drpId));
            if (!found) throw notFound(`${C}/restorePointCollections/restorePoints/diskRestorePoints`, names[5]!, rg);
            return found;
          };
          if (restLow.length === 6 && method === 'GET') {
            return { operation: 'diskRestorePoint.get', family: 'disk', action: `${C}/restorePointCollections/restorePoints/diskRestorePoints/read`, scope: drpId, subscription: sub,
              handle: async () => { const d = drp(); return { status: 200, body: { name: names[5], id: d.id, type: `${C}/restorePointCollections/restorePoints/diskRestorePoints`, properties: { sourceResourceId: d.sourceDiskId, diskSizeBytes: d.content.length, provisioningState: 'Succeeded' } } }; } };
          }
          if (restLow.length === 7 && (verb === 'begingetaccess' || verb === 'endgetaccess') && method === 'POST') {
            const begin = verb === 'begingetaccess';
            return { operation: begin ? 'diskRestorePoint.grantAccess' : 'diskRestorePoint.revokeAccess', family: 'disk', action: `${C}/restorePointCollections/restorePoints/diskRestorePoints/${begin ? 'beginGetAccess' : 'endGetAccess'}/action`, scope: drpId, subscription: sub,
              handle: async () => {
                const d = drp();
                const location = collection().location;
                if (!begin) {
                  if (d.activeSas) await ctx.blobHost.revoke?.(d.activeSas.url);
                  d.activeSas = undefined;
                  return { status: 202, headers: startOperation(sub, location, () => undefined, apiVersion) };
                }
                if (point().pendingPolls > 0) throw new ArmError(409, 'OperationNotAllowed', 'The restore point is still being created.');
                const request = await body();
                const seconds = Number(request.durationInSeconds);
                if (request.access !== 'Read' || !Number.isInteger(seconds) || seconds < 1) throw new ArmError(400, 'InvalidParameter', "Grant 'Read' access for a positive durationInSeconds.");
                // An active SAS is extended and the same URL returned (virtual-machines-create-restore-points.md).
                if (!d.activeSas) {
                  const expiresOn = new Date(ctx.now() + seconds * 1000);
                  const blob = `${names[5]}.vhd`;
                  const url = await ctx.blobHost.publish('restore-point-exports', blob, vhdFile(d.content), { pageBlob: true, expiresOn });
                  d.activeSas = { url, blob, expiresOn: expiresOn.toISOString() };
                }
                const url = d.activeSas.url;
                return { status: 202, headers: startOperation(sub, location, () => ({ accessSAS: url }), apiVersion) };
              } };
          }
        }
      }
    }
    void sub2name;
    void verb;
    throw new ArmError(400, 'InvalidResourceType', `The lab does not serve ${method} ${path}.`);
  }

  async function bootDiagnostics(vm: LabVm, query: URLSearchParams): Promise<Record<string, string>> {
    const minutes = Number(query.get('sasUriExpirationTimeInMinutes') ?? '120');
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) throw new ArmError(400, 'InvalidParameter', 'sasUriExpirationTimeInMinutes must be between 1 and 1440.');
    const expiresOn = new Date(ctx.now() + minutes * 60_000);
    const base = `${vm.id.split('/').pop()}.${vm.vmId}`;
    return {
      consoleScreenshotBlobUri: await ctx.inlineBlobs.publish(`bootdiagnostics-${vm.vmId.slice(0, 8)}`, `${base}.screenshot.bmp`, vm.screenshot, { expiresOn }),
      serialConsoleLogBlobUri: await ctx.inlineBlobs.publish(`bootdiagnostics-${vm.vmId.slice(0, 8)}`, `${base}.serialconsole.log`, Buffer.from(vm.serialLog), { expiresOn }),
    };
  }

  function versionOk(family: Route['family'], version: string): boolean {
    if (family === 'operations') return COMPUTE_API_VERSIONS.has(version) || DISK_API_VERSIONS.has(version);
    const set = family === 'compute' ? COMPUTE_API_VERSIONS : family === 'disk' ? DISK_API_VERSIONS : family === 'network' ? NETWORK_API_VERSIONS : AUTHORIZATION_API_VERSIONS;
    return set.has(version);
  }

  function authenticate(req: IncomingMessage, subscription: string): { principal: string; tenant: string } {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ')) throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    const claims = ctx.signer.verify(header.slice('Bearer '.length));
    if (!claims) throw new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= ctx.now()) throw new ArmError(401, 'ExpiredAuthenticationToken', 'The access token expiry UTC time is earlier than current UTC time.');
    if (claims.aud !== 'https://management.azure.com' && claims.aud !== 'https://management.azure.com/' && claims.aud !== 'https://management.core.windows.net/') {
      throw new ArmError(401, 'InvalidAuthenticationTokenAudience', `The access token has been obtained for wrong audience or resource '${String(claims.aud)}'.`);
    }
    const tenant = world.subscriptionTenants.get(subscription.toLowerCase());
    if (!tenant) throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${subscription}' could not be found.`);
    if (claims.tid !== tenant) {
      throw new ArmError(401, 'InvalidAuthenticationTokenTenant', `The access token is from the wrong issuer '${String(claims.iss)}'. It must match the tenant 'https://sts.windows.net/${tenant}/' associated with this subscription.`);
    }
    return { principal: String(claims.oid), tenant };
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', ctx.baseUrl());
    const method = req.method ?? 'GET';
    const requestId = randomUUID();
    const correlationRequestId = (req.headers['x-ms-correlation-request-id'] as string | undefined) ?? randomUUID();
    const clientRequestId = req.headers['x-ms-client-request-id'] as string | undefined;
    const headers: Record<string, string> = { 'x-ms-request-id': requestId, 'x-ms-correlation-request-id': correlationRequestId };
    if (clientRequestId && req.headers['x-ms-return-client-request-id'] === 'true') headers['x-ms-client-request-id'] = clientRequestId;
    const exchange: ArmExchange = { method, path: url.pathname, operation: 'unknown', status: 0, requestId, correlationRequestId };
    if (clientRequestId) exchange.clientRequestId = clientRequestId;
    const answer = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      exchange.status = status;
      ctx.log.push(exchange);
      res.writeHead(status, { ...headers, ...extra, ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }) });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    try {
      if (url.pathname.startsWith('/_lab/blobs/') && method === 'GET') {
        const read = ctx.inlineBlobs.read(url, ctx.now());
        exchange.operation = 'lab.blob';
        if (read.status !== 200) return answer(read.status, { error: { code: read.status === 403 ? 'AuthenticationFailed' : 'BlobNotFound', message: 'SAS refused or blob missing' } });
        exchange.status = 200;
        ctx.log.push(exchange);
        res.writeHead(200, { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(read.body.length) });
        res.end(read.body);
        return;
      }
      const caller = { id: '' };
      const r = route(method, url.pathname, url.searchParams, () => readJson(req), caller);
      exchange.operation = r.operation;
      const apiVersion = url.searchParams.get('api-version');
      if (!apiVersion) throw new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
      if (!versionOk(r.family, apiVersion)) throw new ArmError(400, 'NoRegisteredProviderFound', `No registered resource provider found for location and API version '${apiVersion}' and type for ${r.operation}.`);
      const who = authenticate(req, r.subscription);
      exchange.principal = who.principal;
      exchange.tenant = who.tenant;
      caller.id = who.principal;
      // Held before any fault or answer: a test may arm a fault, or stop the run, while it waits.
      await ctx.holds?.heldUntilReleased(r.operation);
      const fault = ctx.faults.find((f) => f.operation === r.operation && f.times > 0);
      if (fault) {
        fault.times -= 1;
        throw new ArmError(fault.status, fault.code, fault.message, fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) });
      }
      if (r.family !== 'authorization') {
        const decision = world.rbac.decide(who.principal, r.action, r.scope, r.data);
        if (!decision.allowed) {
          throw new ArmError(403, 'AuthorizationFailed', `The client '${who.principal}' with object id '${who.principal}' does not have authorization to perform action '${r.action}' over scope '${r.scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`);
        }
      }
      const result = await r.handle();
      return answer(result.status, result.body, result.headers);
    } catch (error) {
      if (error instanceof ArmError) return answer(error.status, { error: { code: error.code, message: error.message } }, error.headers);
      return answer(500, { error: { code: 'InternalServerError', message: (error as Error).message } });
    }
  };
}
