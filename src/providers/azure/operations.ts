/**
 * The single declaration of every Azure call the provider makes, with the RBAC action (or data
 * action) each needs and the scope it is checked at. Plain data on purpose: `policies/azure/`
 * is held to exactly this set by a test (both ways), `plan` renders it, and `callArm` refuses a
 * call made under an operation that does not declare it.
 *
 * Scopes: `vm` / `disk` / `nic` — the resource itself (where Azure Policy assigns the collector
 * role to tagged resources); `staging` — the staging resource group in the target subscription
 * that holds case snapshots and restore points; `subscription` — the target subscription;
 * `container` — the SOC evidence container. A `linked` need is checked by ARM on another resource
 * than the one in the URL (creating a snapshot checks `disks/beginGetAccess/action` on the
 * source disk: LinkedAuthorizationFailed otherwise — Azure/OpenShift#186).
 * Action strings: docs/research/azure.md §7.1 (MicrosoftDocs azure-docs permissions/compute.md,
 * storage-auth-abac-attributes.md).
 */
export type AzureScopeKind = 'vm' | 'disk' | 'nic' | 'staging' | 'subscription' | 'container';

export interface AzurePermissionNeed {
  action: string;
  scope: AzureScopeKind;
  /** A data action (role `dataActions`), not a control-plane action. */
  data?: boolean;
  /** Checked on a linked resource (the snapshot's source disk), not the request URL's. */
  linked?: boolean;
}

export interface AzureOperation {
  /** The SDK call: `compute:snapshots.createOrUpdate`, `blob:beginCopyFromURL`. */
  readonly api: string;
  /** Whose identity: the per-tenant collector (`target`) or the SOC identity (`soc`). */
  readonly side: 'target' | 'soc';
  /** Whether it changes anything (a snapshot, an export grant, a blob). Never a target's state. */
  readonly mutates: boolean;
  readonly permissions: readonly AzurePermissionNeed[];
}

const C = 'Microsoft.Compute';
const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';

function op(api: string, side: 'target' | 'soc', mutates: boolean, ...permissions: AzurePermissionNeed[]): AzureOperation {
  return { api, side, mutates, permissions };
}

export const AZURE_OPERATIONS = {
  listVirtualMachines: op('compute:virtualMachines.listAll', 'target', false, { action: `${C}/virtualMachines/read`, scope: 'subscription' }),
  getVirtualMachine: op('compute:virtualMachines.get', 'target', false, { action: `${C}/virtualMachines/read`, scope: 'vm' }),
  getVirtualMachineInstanceView: op('compute:virtualMachines.instanceView', 'target', false, { action: `${C}/virtualMachines/instanceView/read`, scope: 'vm' }),
  retrieveVirtualMachineBootDiagnostics: op('compute:virtualMachines.retrieveBootDiagnosticsData', 'target', false, {
    action: `${C}/virtualMachines/retrieveBootDiagnosticsData/action`,
    scope: 'vm',
  }),
  getScaleSetVm: op('compute:virtualMachineScaleSetVMs.get', 'target', false, { action: `${C}/virtualMachineScaleSets/virtualMachines/read`, scope: 'vm' }),
  getScaleSetVmInstanceView: op('compute:virtualMachineScaleSetVMs.getInstanceView', 'target', false, {
    action: `${C}/virtualMachineScaleSets/virtualMachines/instanceView/read`,
    scope: 'vm',
  }),
  retrieveScaleSetVmBootDiagnostics: op('compute:virtualMachineScaleSetVMs.retrieveBootDiagnosticsData', 'target', false, {
    action: `${C}/virtualMachineScaleSets/virtualMachines/retrieveBootDiagnosticsData/action`,
    scope: 'vm',
  }),
  getDisk: op('compute:disks.get', 'target', false, { action: `${C}/disks/read`, scope: 'disk' }),
  getNetworkInterface: op('network:networkInterfaces.get', 'target', false, { action: 'Microsoft.Network/networkInterfaces/read', scope: 'nic' }),
  createSnapshot: op(
    'compute:snapshots.createOrUpdate',
    'target',
    true,
    { action: `${C}/snapshots/write`, scope: 'staging' },
    { action: `${C}/disks/beginGetAccess/action`, scope: 'disk', linked: true },
  ),
  listSnapshots: op('compute:snapshots.listByResourceGroup', 'target', false, { action: `${C}/snapshots/read`, scope: 'staging' }),
  grantSnapshotAccess: op('compute:snapshots.grantAccess', 'target', true, { action: `${C}/snapshots/beginGetAccess/action`, scope: 'staging' }),
  revokeSnapshotAccess: op('compute:snapshots.revokeAccess', 'target', true, { action: `${C}/snapshots/endGetAccess/action`, scope: 'staging' }),
  createRestorePointCollection: op(
    'compute:restorePointCollections.createOrUpdate',
    'target',
    true,
    { action: `${C}/restorePointCollections/write`, scope: 'staging' },
    { action: `${C}/virtualMachines/read`, scope: 'vm', linked: true },
  ),
  createRestorePoint: op('compute:restorePoints.create', 'target', true, { action: `${C}/restorePointCollections/restorePoints/write`, scope: 'staging' }),
  getRestorePoint: op('compute:restorePoints.get', 'target', false, { action: `${C}/restorePointCollections/restorePoints/read`, scope: 'staging' }),
  grantDiskRestorePointAccess: op('compute:diskRestorePoint.grantAccess', 'target', true, {
    action: `${C}/restorePointCollections/restorePoints/diskRestorePoints/beginGetAccess/action`,
    scope: 'staging',
  }),
  revokeDiskRestorePointAccess: op('compute:diskRestorePoint.revokeAccess', 'target', true, {
    action: `${C}/restorePointCollections/restorePoints/diskRestorePoints/endGetAccess/action`,
    scope: 'staging',
  }),
  // DiskRP's examples (Snapshot_BeginGetAccess.json) answer with a Location under locations/L/operations too.
  pollComputeOperation: op('compute:locations.operations', 'target', false, { action: `${C}/locations/operations/read`, scope: 'subscription' }),
  copyToEvidence: op('blob:beginCopyFromURL', 'soc', true, { action: `${BLOBS}/write`, scope: 'container', data: true }, { action: `${BLOBS}/add/action`, scope: 'container', data: true }),
  readEvidence: op('blob:download', 'soc', false, { action: `${BLOBS}/read`, scope: 'container', data: true }),
  sealEvidence: op('blob:setImmutabilityPolicy+setLegalHold', 'soc', true, {
    action: `${BLOBS}/immutableStorage/runAsSuperUser/action`,
    scope: 'container',
    data: true,
  }),
} as const satisfies Record<string, AzureOperation>;

export type AzureOperationName = keyof typeof AZURE_OPERATIONS;
