/**
 * The lab's default Azure estate: a SOC tenant and subscription, and a customer tenant with one
 * subscription holding a tagged VM (OS + data disk, one NIC), an untagged VM, and an AKS node
 * pool (uniform scale set) whose node has an ephemeral OS disk and a managed data disk (a PV).
 * Role assignments follow the deployment docs/deploy-azure.md describes, read from the same
 * policy files: the collector role at each tagged VM, scale set and disk (what the Azure Policy
 * deployIfNotExists assigns) and at the staging resource group, the discovery role above the
 * subscription, and the SOC roles at the evidence container with their ABAC conditions.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { fillAzurePlaceholders, readSocAssignments, readStagingAssignment } from './policy-files.js';
import { blobScope, LabBlobStore } from './blob-store.js';
import { loadRoleDefinitions, RbacModel } from './rbac.js';
import { key, newUniqueId, type AzureLabWorld, type LabDisk, type LabVm } from './world.js';

export const LAB_SOC_TENANT = 'aaaaaaaa-0000-4000-8000-000000000001';
export const LAB_SOC_SUBSCRIPTION = 'aaaaaaaa-1111-4111-8111-000000000001';
export const LAB_CUSTOMER_TENANT = 'bbbbbbbb-0000-4000-8000-000000000002';
export const LAB_CUSTOMER_SUBSCRIPTION = 'bbbbbbbb-1111-4111-8111-000000000002';
export const LAB_APP_CLIENT_ID = 'cccccccc-2222-4222-8222-000000000003';
export const LAB_WORKLOAD_ISSUER = 'https://oidc.lab.invalid/soc-cluster';
export const LAB_WORKLOAD_SUBJECT = 'system:serviceaccount:forensics:cloud-custody';
export const LAB_LOCATION = 'eastus';
export const LAB_STAGING_RG = 'cloud-custody-staging';
export const LAB_EVIDENCE_RG = 'soc-evidence';
/**
 * The SOC storage account and its evidence container (version-level immutability on), served by
 * the lab's Blob Storage. The account is named as Azurite's well-known one, so a config and the
 * role scopes read the same whichever service answers.
 */
export const LAB_EVIDENCE_ACCOUNT = 'devstoreaccount1';
export const LAB_EVIDENCE_CONTAINER = 'evidence';
/** The evidence container as an ARM scope (where the SOC roles are assigned). */
export const LAB_EVIDENCE_CONTAINER_SCOPE = `/subscriptions/${LAB_SOC_SUBSCRIPTION}/resourceGroups/${LAB_EVIDENCE_RG}/providers/Microsoft.Storage/storageAccounts/${LAB_EVIDENCE_ACCOUNT}/blobServices/default/containers/${LAB_EVIDENCE_CONTAINER}`;

const POLICIES = join(fileURLToPath(new URL('../../../policies/azure', import.meta.url)));

export interface LabIds {
  vm: string;
  vmOsDisk: string;
  vmDataDisk: string;
  untaggedVm: string;
  untaggedDisk: string;
  aksNode: string;
  aksNodeProviderId: string;
  aksDataDisk: string;
  /** The AKS node's managed OS disk, when the node pool has one (`aksOsDisk: 'managed'`). */
  aksOsDisk?: string;
  nic: string;
  /** ARM id of the SOC evidence container: where the evidence roles are assigned. */
  evidenceContainer: string;
}

export interface AzureLabEstate {
  world: AzureLabWorld;
  ids: LabIds;
  /** Object ids of the app's service principal in each tenant, and of the analysts who verify. */
  principals: { soc: string; customer: string; verifier: string };
  /** The lab's Blob Storage state: the SOC evidence account (and, once used, the disk exports). */
  blobStore: LabBlobStore;
}

/** Disk bytes: a recognisable pattern, 512-byte aligned like every managed disk. */
export function labDiskContent(label: string, bytes = 64 * 1024): Buffer {
  const content = Buffer.alloc(bytes);
  for (let offset = 0; offset < bytes; offset += 512) content.write(`${label}@${offset}\n`, offset);
  return content;
}

export interface AzureEstateOptions {
  /**
   * The AKS node pool's OS disk: `ephemeral` (AKS's default where the VM size allows; nothing to
   * snapshot, the node is `partial`) or `managed` (a managed disk, collected like any other).
   */
  aksOsDisk?: 'ephemeral' | 'managed';
}

export function defaultAzureEstate(policiesDir = POLICIES, options: AzureEstateOptions = {}): AzureLabEstate {
  const rbac = new RbacModel(loadRoleDefinitions(policiesDir));
  const soc = randomUUID();
  const customer = randomUUID();
  const verifier = randomUUID();
  const sub = LAB_CUSTOMER_SUBSCRIPTION;
  const rg = (name: string) => `/subscriptions/${sub}/resourceGroups/${name}`;
  const compute = (group: string, type: string, name: string) => `${rg(group)}/providers/Microsoft.Compute/${type}/${name}`;
  const world: AzureLabWorld = {
    socTenant: LAB_SOC_TENANT,
    socSubscription: LAB_SOC_SUBSCRIPTION,
    subscriptionTenants: new Map([
      [LAB_SOC_SUBSCRIPTION, LAB_SOC_TENANT],
      [sub, LAB_CUSTOMER_TENANT],
    ]),
    apps: new Map([
      [
        LAB_APP_CLIENT_ID,
        {
          clientId: LAB_APP_CLIENT_ID,
          servicePrincipals: new Map([
            [LAB_SOC_TENANT, soc],
            [LAB_CUSTOMER_TENANT, customer],
          ]),
          federated: [{ issuer: LAB_WORKLOAD_ISSUER, subject: LAB_WORKLOAD_SUBJECT, audience: 'api://AzureADTokenExchange' }],
        },
      ],
    ]),
    vms: new Map(),
    disks: new Map(),
    nics: new Map(),
    snapshots: new Map(),
    restorePointCollections: new Map(),
    operations: new Map(),
    rbac,
    resourceGroups: new Set([rg('Web-RG'), rg('legacy'), rg('MC_aks-rg_aks-prod_eastus'), rg(LAB_STAGING_RG), `/subscriptions/${LAB_SOC_SUBSCRIPTION}/resourceGroups/${LAB_EVIDENCE_RG}`].map(key)),
  };
  const tagged = { ForensicsEnabled: 'true', app: 'web' };
  const addDisk = (id: string, tags: Record<string, string>, managedBy?: string, sku = 'Premium_LRS') => {
    const disk: LabDisk = { id, location: LAB_LOCATION, tags, uniqueId: newUniqueId(), content: labDiskContent(id), sku };
    if (managedBy) disk.managedBy = managedBy;
    world.disks.set(key(id), disk);
    return disk;
  };
  const addVm = (vm: Omit<LabVm, 'vmId' | 'serialLog' | 'screenshot' | 'location'>) => {
    const full: LabVm = { ...vm, location: LAB_LOCATION, vmId: randomUUID(), serialLog: `[    0.000000] Linux version 6.8.0 (${vm.id.split('/').pop()})\nlogin: `, screenshot: Buffer.from('BM lab screenshot') };
    world.vms.set(key(vm.id), full);
    return full;
  };
  const ids: LabIds = {
    vm: compute('Web-RG', 'virtualMachines', 'web-1'),
    vmOsDisk: compute('Web-RG', 'disks', 'web-1_OsDisk_1'),
    vmDataDisk: compute('Web-RG', 'disks', 'web-1_data_0'),
    untaggedVm: compute('legacy', 'virtualMachines', 'build-7'),
    untaggedDisk: compute('legacy', 'disks', 'build-7_OsDisk_1'),
    aksNode: compute('MC_aks-rg_aks-prod_eastus', 'virtualMachineScaleSets', 'aks-nodepool1-12345678-vmss/virtualMachines/0'),
    aksNodeProviderId: '',
    aksDataDisk: compute('MC_aks-rg_aks-prod_eastus', 'disks', 'pvc-0d1e2f3a'),
    nic: `${rg('Web-RG')}/providers/Microsoft.Network/networkInterfaces/web-1-nic`,
    evidenceContainer: '',
  };
  // AKS writes the node resource group lower-cased into providerID (docs/research/azure.md §4.2).
  ids.aksNodeProviderId = `azure://${ids.aksNode.replace('MC_aks-rg_aks-prod_eastus', 'mc_aks-rg_aks-prod_eastus')}`;
  addVm({ id: ids.vm, tags: tagged, osDiskId: ids.vmOsDisk, dataDisks: [{ lun: 0, id: ids.vmDataDisk }], nicIds: [ids.nic], powerState: 'running' });
  addDisk(ids.vmOsDisk, tagged, ids.vm);
  addDisk(ids.vmDataDisk, tagged, ids.vm);
  world.nics.set(key(ids.nic), { id: ids.nic, location: LAB_LOCATION, properties: { ipConfigurations: [{ name: 'ipconfig1', properties: { privateIPAddress: '10.0.0.4', primary: true } }], macAddress: '00-0D-3A-00-00-01', virtualMachine: { id: ids.vm } } });
  addVm({ id: ids.untaggedVm, tags: {}, osDiskId: ids.untaggedDisk, dataDisks: [], nicIds: [], powerState: 'running' });
  addDisk(ids.untaggedDisk, {}, ids.untaggedVm);
  const aksTags = { ForensicsEnabled: 'true', 'aks-managed-poolName': 'nodepool1' };
  if (options.aksOsDisk === 'managed') ids.aksOsDisk = compute('MC_aks-rg_aks-prod_eastus', 'disks', 'aks-nodepool1-12345678-vmss_0_OsDisk_1_3f0c2a');
  addVm({
    id: ids.aksNode,
    tags: aksTags,
    ...(ids.aksOsDisk ? { osDiskId: ids.aksOsDisk } : { ephemeralOsDisk: { name: 'aks-nodepool1-12345678-vmss_0_OsDisk_1_ephemeral' } }),
    dataDisks: [{ lun: 0, id: ids.aksDataDisk }],
    nicIds: [],
    powerState: 'running',
    scaleSet: { name: 'aks-nodepool1-12345678-vmss', instanceId: '0' },
  });
  if (ids.aksOsDisk) addDisk(ids.aksOsDisk, aksTags, ids.aksNode);
  addDisk(ids.aksDataDisk, { ForensicsEnabled: 'true', 'kubernetes.io-created-for-pvc-name': 'data-db-0' }, ids.aksNode);

  // What the shipped deployment creates (docs/deploy-azure.md): role assignments by scope.
  // The policy (collector-assignment-policy.json) assigns at a tagged scale set, which covers its
  // instances (AKS nodes), and at every tagged disk; the staging resource group's assignment is
  // made once per subscription.
  const aksScaleSet = ids.aksNode.replace(/\/virtualMachines\/[^/]+$/, '');
  for (const scope of [ids.vm, ids.vmOsDisk, ids.vmDataDisk, aksScaleSet, ids.aksDataDisk, ...(ids.aksOsDisk ? [ids.aksOsDisk] : [])]) rbac.assign(customer, 'collector-role', scope);
  const staging = fillAzurePlaceholders(readStagingAssignment(policiesDir), { collectorPrincipalId: customer, targetSubscriptionId: sub, stagingResourceGroup: LAB_STAGING_RG });
  rbac.assign(staging.principalId, staging.role, staging.scope);
  rbac.assign(customer, 'collector-discovery-role', `/subscriptions/${sub}`);

  // The SOC evidence container (version-level immutability on), served by the lab's Blob Storage.
  const blobStore = new LabBlobStore();
  const account = blobStore.addAccount({
    name: LAB_EVIDENCE_ACCOUNT,
    armId: `/subscriptions/${LAB_SOC_SUBSCRIPTION}/resourceGroups/${LAB_EVIDENCE_RG}/providers/Microsoft.Storage/storageAccounts/${LAB_EVIDENCE_ACCOUNT}`,
    tenant: LAB_SOC_TENANT,
    sasOnly: false,
  });
  blobStore.addContainer(LAB_EVIDENCE_ACCOUNT, LAB_EVIDENCE_CONTAINER, true);
  ids.evidenceContainer = blobScope(account, LAB_EVIDENCE_CONTAINER);
  if (ids.evidenceContainer !== LAB_EVIDENCE_CONTAINER_SCOPE) throw new Error('lab: the evidence container scope and its account disagree');
  // Its roles, from the shipped assignments file with their ABAC conditions.
  const socAssignments = fillAzurePlaceholders(readSocAssignments(policiesDir), {
    socSubscriptionId: LAB_SOC_SUBSCRIPTION,
    evidenceResourceGroup: LAB_EVIDENCE_RG,
    storageAccountName: LAB_EVIDENCE_ACCOUNT,
    containerName: LAB_EVIDENCE_CONTAINER,
    socPrincipalId: soc,
    verifierPrincipalId: verifier,
  });
  for (const a of socAssignments.assignments) rbac.assign(a.principalId, a.role, socAssignments.scope, a.condition);
  return { world, ids, principals: { soc, customer, verifier }, blobStore };
}

/**
 * Attaches a new empty managed disk, tagged as the VM is, to `vmId` as its next data disk: what a
 * VM update adding a `dataDisks` entry (`createOption: Empty`) does. The collector role is assigned
 * at it as the shipped policy does at every tagged disk. A restore point made before keeps its
 * `sourceMetadata` (read-only, captured when the point was made), so it holds no disk restore
 * point of this disk. Returns the disk's id.
 */
export function attachNewDataDisk(estate: AzureLabEstate, vmId: string, name: string): string {
  const vm = estate.world.vms.get(key(vmId));
  if (!vm) throw new Error(`lab: no VM ${vmId}`);
  const id = `${vmId.replace(/\/providers\/Microsoft\.Compute\/virtualMachines\/[^/]+$/i, '')}/providers/Microsoft.Compute/disks/${name}`;
  const disk: LabDisk = { id, location: vm.location, tags: { ...vm.tags }, uniqueId: newUniqueId(), content: labDiskContent(id), sku: 'Premium_LRS', managedBy: vm.id };
  estate.world.disks.set(key(id), disk);
  vm.dataDisks.push({ lun: Math.max(-1, ...vm.dataDisks.map((d) => d.lun)) + 1, id });
  estate.world.rbac.assign(estate.principals.customer, 'collector-role', id);
  return id;
}

/**
 * Detaches data disk `diskId` from `vmId`, as a VM update dropping it from
 * `storageProfile.dataDisks` does: the disk is kept, no longer managed by the VM (Unattached).
 */
export function detachDataDisk(estate: AzureLabEstate, vmId: string, diskId: string): void {
  const vm = estate.world.vms.get(key(vmId));
  const disk = estate.world.disks.get(key(diskId));
  if (!vm || !disk) throw new Error(`lab: no VM ${vmId} or disk ${diskId}`);
  vm.dataDisks = vm.dataDisks.filter((d) => key(d.id) !== key(diskId));
  delete disk.managedBy;
}
