/** What collecting an Azure target would do, from the operation declarations: touches nothing. */
import type { PlannedCall, PlannedStep } from '../../core/ports.js';
import type { AzureConfig } from './config.js';
import { AZURE_OPERATIONS, type AzureOperationName } from './operations.js';
import type { AzureTarget } from './targets.js';

function call(name: AzureOperationName, where: string, scopes: Record<string, string>): PlannedCall {
  const op = AZURE_OPERATIONS[name];
  return {
    api: op.api,
    where,
    mutates: op.mutates,
    permissions: op.permissions.map((p) => ({ action: p.action, resource: `${scopes[p.scope] ?? p.scope}${p.linked ? ' (linked scope)' : ''}${p.data ? ' (data action)' : ''}` })),
  };
}

export function planAzureTarget(config: AzureConfig, target: AzureTarget): PlannedStep[] {
  const sub = target.resource.subscriptionId;
  const tenant = config.subscriptions.find((s) => s.subscriptionId.toLowerCase() === sub.toLowerCase())?.tenantId ?? '(not configured)';
  const where = `subscription ${sub} (tenant ${tenant}) as the collector app`;
  const soc = `SOC evidence container ${config.evidenceContainerUrl} as the SOC identity`;
  const staging = `/subscriptions/${sub}/resourceGroups/${config.stagingResourceGroup}`;
  const scopes = { vm: target.id, disk: target.kind === 'azure-disk' ? target.id : `each disk of ${target.id}`, nic: `each NIC of ${target.id}`, staging, subscription: `/subscriptions/${sub}`, container: config.evidenceContainerUrl };
  const steps: PlannedStep[] = [];
  if (target.kind !== 'azure-disk') {
    const vmss = target.kind === 'azure-vmss-vm';
    steps.push({
      step: 'describe',
      description: 'the VM model and instance view, each disk and NIC, stored as ARM returned them',
      calls: [call(vmss ? 'getScaleSetVm' : 'getVirtualMachine', where, scopes), call(vmss ? 'getScaleSetVmInstanceView' : 'getVirtualMachineInstanceView', where, scopes), call('getDisk', where, scopes), call('getNetworkInterface', where, scopes)],
    });
    steps.push({
      step: 'boot-diagnostics',
      description: `serial console log and screenshot through SAS URLs valid ${config.bootDiagnosticsSasMinutes} min (never recorded: blob path and expiry only)`,
      calls: [call(vmss ? 'retrieveScaleSetVmBootDiagnostics' : 'retrieveVirtualMachineBootDiagnostics', where, scopes)],
    });
    if (!vmss && config.consistency === 'restore-point') {
      steps.push({
        step: 'restore-point',
        description: `a CrashConsistent restore point of every disk at one instant in ${staging} (falls back to per-disk snapshots where unsupported, and says why)`,
        calls: [call('getRestorePoint', where, scopes), call('createRestorePointCollection', where, scopes), call('createRestorePoint', where, scopes), call('pollComputeOperation', where, scopes)],
      });
    }
  } else {
    steps.push({ step: 'describe', description: 'the disk, stored as ARM returned it', calls: [call('getDisk', where, scopes)] });
  }
  steps.push({
    step: 'snapshot',
    description: `one incremental snapshot per disk in ${staging}, tagged CaseId/EvidenceId at creation (adopted on resume); awaited by one list per group per round`,
    calls: [call('listSnapshots', where, scopes), call('createSnapshot', where, scopes)],
  });
  steps.push({
    step: 'export',
    description: `read-only SAS for ${config.exportSasSeconds} s (path and expiry recorded, never the URL), revoked with endGetAccess after the copy`,
    calls: [call('grantSnapshotAccess', where, scopes), call('grantDiskRestorePointAccess', where, scopes), call('pollComputeOperation', where, scopes), call('revokeSnapshotAccess', where, scopes), call('revokeDiskRestorePointAccess', where, scopes)],
  });
  steps.push({ step: 'copy', description: 'server-side Copy Blob into CASE/EVIDENCE-ID/ in the evidence container', calls: [call('copyToEvidence', soc, scopes)] });
  steps.push({ step: 'hash', description: 'SHA-256 of the preserved copy: the file, and the disk without its 512-byte VHD footer', calls: [call('readEvidence', soc, scopes)] });
  steps.push({
    step: 'seal',
    description: `${config.immutabilityDays > 0 ? `time-based immutability for ${config.immutabilityDays} days` : 'no time-based policy'}${config.legalHold ? ' and a legal hold' : ''} on the verified copy`,
    calls: [call('sealEvidence', soc, scopes)],
  });
  return steps;
}
