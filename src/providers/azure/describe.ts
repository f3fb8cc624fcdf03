/**
 * Describe first: the VM's model and instance view, each disk and NIC, stored as evidence exactly
 * as ARM returned them (the SDK's models rename and drop fields). Reads leave no Activity Log
 * entry (docs/research/azure.md §3), so the ledger's request ids are their only trace.
 */
import type { CaseRecorder, StoredEvidence } from '../../core/ports.js';
import { CustodyError } from '../../core/errors.js';
import { historyOf } from '../../core/case-history.js';
import { storeOnce } from '../../core/kernel.js';
import { jsonEvidence } from '../../core/redact-json.js';
import { callAzure, type AzureExchange } from './arm-call.js';
import type { AzureClients } from './clients.js';
import { arr, at, obj, str, type Json } from './raw.js';
import { parseResourceId } from './resource-id.js';
import type { AzureDiskTarget, AzureVmssVmTarget, AzureVmTarget } from './targets.js';

export const NETWORK_API_VERSION = '2024-05-01';

export interface DiskFacts {
  /** As the VM model (or the responder) names it. */
  id: string;
  role: 'os' | 'data';
  lun?: number;
  location: string;
  uniqueId?: string;
  sizeBytes?: number;
  sku?: string;
  raw: Json;
}

export interface VmFacts {
  id: string;
  location: string;
  vmId?: string;
  scaleSetInstance: boolean;
  disks: DiskFacts[];
  /** An ephemeral OS disk is not an ARM resource: recorded, not collectable. */
  ephemeralOsDisk?: string;
  nicIds: string[];
  raw: Json;
}

export function requestIdsOf(exchanges: AzureExchange[]): string[] {
  return exchanges.map((x) => x.requestId).filter((id): id is string => Boolean(id));
}

/**
 * Whether an earlier (interrupted) run of this case already stored `name` for `evidenceId` (the
 * case history index, not a ledger scan): a resumed run keeps what is there.
 */
export function storedBefore(recorder: CaseRecorder, evidenceId: string, name: string): boolean {
  return historyOf(recorder).storedName(evidenceId, name) !== undefined;
}

/** Stores ARM JSON once per case, with the kernel's one resume naming policy (`storeOnce`). */
export async function storeJson(recorder: CaseRecorder, input: { evidenceId: string; name: string; kind: string; source: string; target: string; body: unknown; exchanges: AzureExchange[] }): Promise<StoredEvidence | undefined> {
  const result = await storeOnce(recorder, {
    evidenceId: input.evidenceId,
    name: input.name,
    kind: input.kind,
    source: input.source,
    target: input.target,
    ...jsonEvidence(input.body),
    mediaType: 'application/json',
    requestIds: requestIdsOf(input.exchanges),
  });
  return result.status === 'stored' ? result.stored : undefined;
}

/** A VM's or scale-set VM's model, as ARM returns it (`getVirtualMachine` / `getScaleSetVm`). */
export async function readVmModel(clients: AzureClients, target: AzureVmTarget | AzureVmssVmTarget) {
  const compute = clients.compute(target.resource.subscriptionId);
  const { resourceGroup } = target.resource;
  return target.kind === 'azure-vmss-vm'
    ? await callAzure('getScaleSetVm', target.id, (o) => compute.virtualMachineScaleSetVMs.get(resourceGroup, target.scaleSet, target.instanceId, o))
    : await callAzure('getVirtualMachine', target.id, (o) => compute.virtualMachines.get(resourceGroup, target.resource.names[0]!, o));
}

/**
 * The managed disks a VM model names (the OS disk, then the data disks as listed) and its
 * ephemeral OS disk, which is no ARM resource (recorded, not collectable).
 */
export function disksOfVmModel(raw: Json, location: string): { disks: DiskFacts[]; ephemeralOsDisk?: string } {
  const storage = obj(at(raw, 'properties', 'storageProfile'));
  const osDisk = obj(storage.osDisk);
  const disks: DiskFacts[] = [];
  let ephemeralOsDisk: string | undefined;
  if (str(at(osDisk, 'diffDiskSettings', 'option'))?.toLowerCase() === 'local') {
    ephemeralOsDisk = str(osDisk.name) ?? 'os disk';
  } else {
    const id = str(at(osDisk, 'managedDisk', 'id'));
    if (id) disks.push({ id, role: 'os', location, raw: {} });
  }
  for (const data of arr(storage.dataDisks)) {
    const id = str(at(data, 'managedDisk', 'id'));
    const lun = at(data, 'lun');
    if (id) disks.push({ id, role: 'data', ...(typeof lun === 'number' ? { lun } : {}), location, raw: {} });
  }
  return ephemeralOsDisk ? { disks, ephemeralOsDisk } : { disks };
}

/** Reads a VM or scale-set VM model and instance view and stores both. */
export async function describeVm(recorder: CaseRecorder, clients: AzureClients, target: AzureVmTarget | AzureVmssVmTarget, evidenceId: string): Promise<VmFacts> {
  const { subscriptionId, resourceGroup } = target.resource;
  const compute = clients.compute(subscriptionId);
  const scaleSet = target.kind === 'azure-vmss-vm';
  const model = await readVmModel(clients, target);
  const raw = obj(model.raw);
  await storeJson(recorder, { evidenceId, name: 'vm-model.json', kind: 'azure-vm-model', source: target.id, target: target.id, body: raw, exchanges: model.exchanges });
  const view = scaleSet
    ? await callAzure('getScaleSetVmInstanceView', target.id, (o) => compute.virtualMachineScaleSetVMs.getInstanceView(resourceGroup, target.scaleSet, target.instanceId, o))
    : await callAzure('getVirtualMachineInstanceView', target.id, (o) => compute.virtualMachines.instanceView(resourceGroup, target.resource.names[0]!, o));
  await storeJson(recorder, { evidenceId, name: 'vm-instance-view.json', kind: 'azure-vm-instance-view', source: `${target.id}/instanceView`, target: target.id, body: view.raw, exchanges: view.exchanges });

  const location = str(raw.location) ?? '';
  const { disks, ephemeralOsDisk } = disksOfVmModel(raw, location);
  const nicIds = arr(at(raw, 'properties', 'networkProfile', 'networkInterfaces'))
    .map((n) => str(obj(n).id))
    .filter((id): id is string => Boolean(id));
  const facts: VmFacts = { id: str(raw.id) ?? target.id, location, scaleSetInstance: scaleSet, disks, nicIds, raw };
  const vmId = str(at(raw, 'properties', 'vmId'));
  if (vmId) facts.vmId = vmId;
  if (ephemeralOsDisk) facts.ephemeralOsDisk = ephemeralOsDisk;
  return facts;
}

/** Reads one managed disk and stores it; fills in the facts the snapshot step needs. */
export async function describeDisk(recorder: CaseRecorder, clients: AzureClients, disk: Pick<DiskFacts, 'id' | 'role' | 'lun'>, evidenceId: string, target: string): Promise<DiskFacts> {
  const id = parseResourceId(disk.id);
  const compute = clients.compute(id.subscriptionId);
  const result = await callAzure('getDisk', disk.id, (o) => compute.disks.get(id.resourceGroup, id.names[0]!, o));
  const raw = obj(result.raw);
  await storeJson(recorder, { evidenceId, name: 'disk.json', kind: 'azure-disk', source: disk.id, target, body: raw, exchanges: result.exchanges });
  const size = at(raw, 'properties', 'diskSizeBytes');
  const facts: DiskFacts = { ...disk, id: str(raw.id) ?? disk.id, location: str(raw.location) ?? '', raw };
  const uniqueId = str(at(raw, 'properties', 'uniqueId'));
  if (uniqueId) facts.uniqueId = uniqueId;
  if (typeof size === 'number') facts.sizeBytes = size;
  const sku = str(at(raw, 'sku', 'name'));
  if (sku) facts.sku = sku;
  return facts;
}

/** Reads the NICs (Network RP, not in the Compute SDK: same pipeline, explicit api-version). */
export async function describeNics(recorder: CaseRecorder, clients: AzureClients, nicIds: string[], evidenceId: string, target: string): Promise<void> {
  for (const nicId of nicIds) {
    const id = parseResourceId(nicId);
    const result = await callAzure('getNetworkInterface', nicId, async () => {
      const response = await clients.rawArm(id.subscriptionId).pathUnchecked(nicId).get({ queryParameters: { 'api-version': NETWORK_API_VERSION } });
      if (response.status !== '200') {
        const error = obj(obj(response.body).error);
        throw Object.assign(new Error(str(error.message) ?? `HTTP ${response.status}`), { statusCode: Number(response.status), code: str(error.code), details: { error } });
      }
      return response.body;
    });
    await storeJson(recorder, { evidenceId, name: `nic-${id.names[0]}.json`, kind: 'azure-network-interface', source: nicId, target, body: result.value, exchanges: result.exchanges });
  }
}

/** A disk target: the disk's own facts (no VM). */
export function diskTargetFacts(target: AzureDiskTarget): Pick<DiskFacts, 'id' | 'role'> {
  return { id: target.id, role: 'data' };
}

export function notCollectable(what: string, why: string): CustodyError {
  return new CustodyError('E_UNSUPPORTED', `${what} cannot be collected: ${why}`, { resource: what });
}
