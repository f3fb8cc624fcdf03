/**
 * The lab's Azure estate: tenants, subscriptions, VMs, scale-set VMs (AKS nodes), managed disks,
 * NICs, and what custody creates (snapshots, restore points, exports). Resource maps are keyed
 * by the lower-cased id (ARM is case-insensitive) and keep the id as created.
 */
import { randomUUID } from 'node:crypto';
import type { RbacModel } from './rbac.js';

export interface LabDisk {
  id: string;
  location: string;
  tags: Record<string, string>;
  uniqueId: string;
  /** The disk's bytes (small in the lab; a real disk is GiBs). */
  content: Buffer;
  managedBy?: string;
  /** Premium/Standard/Ultra: restore points exclude Ultra disks. */
  sku: string;
}

export interface LabVm {
  id: string;
  location: string;
  tags: Record<string, string>;
  vmId: string;
  osDiskId?: string;
  /** An ephemeral OS disk has no ARM resource (AKS default): not collectable. */
  ephemeralOsDisk?: { name: string };
  dataDisks: Array<{ lun: number; id: string }>;
  nicIds: string[];
  powerState: 'running' | 'stopped' | 'deallocated';
  /** A uniform scale set's instance (AKS node): no restore points. */
  scaleSet?: { name: string; instanceId: string };
  /**
   * VM extensions, as the VM's `resources` list. A Custom Script extension's public `settings`
   * often carry SAS `fileUris` (the customer's own credential, stored in the model).
   */
  extensions?: Array<{ name: string; publisher: string; type: string; typeHandlerVersion: string; settings: Record<string, unknown> }>;
  /** Serial log and screenshot, served through boot diagnostics SAS URLs. */
  serialLog: string;
  screenshot: Buffer;
}

export interface LabSnapshot {
  id: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  uniqueId: string;
  sourceResourceId: string;
  sourceUniqueId: string;
  content: Buffer;
  timeCreated: string;
  /** Polls left before `Succeeded` (the lab's stand-in for copy time). */
  pendingPolls: number;
  incremental: boolean;
  activeSas?: { url: string; blob: string; expiresOn: string };
  familyId: string;
}

export interface LabRestorePointCollection {
  id: string;
  location: string;
  sourceId: string;
  tags: Record<string, string>;
  points: Map<string, LabRestorePoint>;
}

export interface LabRestorePoint {
  id: string;
  consistencyMode: string;
  timeCreated: string;
  pendingPolls: number;
  /** Azure answers the point `Failed` (a test sets it: a point that ended so after it was read made). */
  failed?: boolean;
  diskRestorePoints: Map<string, { id: string; sourceDiskId: string; content: Buffer; activeSas?: { url: string; blob: string; expiresOn: string } }>;
  /** The VM as it was when the point was made (ARM's read-only sourceMetadata): kept after the VM is deleted. */
  sourceMetadata: Record<string, unknown>;
}

export interface LabAsyncOperation {
  id: string;
  subscriptionId: string;
  location: string;
  kind: 'operations' | 'DiskOperations';
  /** Polls left before it finishes. */
  pendingPolls: number;
  /** The final body once finished (200). */
  result: () => unknown;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  startTime: string;
}

export interface LabApp {
  clientId: string;
  /** Service principal object id per tenant the app is consented in. */
  servicePrincipals: Map<string, string>;
  /** Federated identity credentials: who may present a client assertion for this app. */
  federated: Array<{ issuer: string; subject: string; audience: string }>;
}

export interface AzureLabWorld {
  socTenant: string;
  socSubscription: string;
  /** subscription id (lower-case) → tenant id */
  subscriptionTenants: Map<string, string>;
  apps: Map<string, LabApp>;
  vms: Map<string, LabVm>;
  disks: Map<string, LabDisk>;
  nics: Map<string, { id: string; location: string; properties: Record<string, unknown> }>;
  snapshots: Map<string, LabSnapshot>;
  restorePointCollections: Map<string, LabRestorePointCollection>;
  operations: Map<string, LabAsyncOperation>;
  rbac: RbacModel;
  /** Resource groups that exist (lower-case ids). */
  resourceGroups: Set<string>;
}

export const key = (id: string) => id.toLowerCase();

export function newUniqueId(): string {
  return randomUUID();
}
