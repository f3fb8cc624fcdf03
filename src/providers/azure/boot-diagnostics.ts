/**
 * Volatile first: the serial console log and screenshot through `retrieveBootDiagnosticsData`.
 * Its two SAS URLs are credentials: they are read here and dropped; the ledger gets the blob
 * paths and the `se` expiry, the case folder gets the bytes (hashed as stored). The call is an
 * *action*, so it appears in the customer's Activity Log (and some alert on it: it is a known
 * secret-exposure path) — docs/deploy-azure.md says why custody makes it.
 */
import type { CaseRecorder } from '../../core/ports.js';
import { freshName } from '../../core/kernel.js';
import { callAzure } from './arm-call.js';
import type { AzureClients } from './clients.js';
import { requestIdsOf, storedBefore } from './describe.js';
import { clientTlsOptions } from './identity.js';
import type { AzureConfig } from './config.js';
import { obj, str } from './raw.js';
import { openSasUrl, sasFacts } from './sas-download.js';
import type { AzureVmssVmTarget, AzureVmTarget } from './targets.js';

export async function collectBootDiagnostics(recorder: CaseRecorder, clients: AzureClients, config: AzureConfig, target: AzureVmTarget | AzureVmssVmTarget, evidenceId: string, signal?: AbortSignal): Promise<string[]> {
  // A resumed case keeps what an earlier run read: no second SAS, no second Activity Log action.
  if (storedBefore(recorder, evidenceId, 'serial-console.log') && storedBefore(recorder, evidenceId, 'console-screenshot.bmp')) return [];
  const { subscriptionId, resourceGroup } = target.resource;
  const compute = clients.compute(subscriptionId);
  const options = { sasUriExpirationTimeInMinutes: config.bootDiagnosticsSasMinutes };
  const result =
    target.kind === 'azure-vmss-vm'
      ? await callAzure('retrieveScaleSetVmBootDiagnostics', target.id, (o) => compute.virtualMachineScaleSetVMs.retrieveBootDiagnosticsData(target.resource.resourceGroup, target.scaleSet, target.instanceId, { ...o, ...options }))
      : await callAzure('retrieveVirtualMachineBootDiagnostics', target.id, (o) => compute.virtualMachines.retrieveBootDiagnosticsData(resourceGroup, target.resource.names[0]!, { ...o, ...options }));
  const raw = obj(result.raw);
  const urls = { serialConsoleLog: str(raw.serialConsoleLogBlobUri), consoleScreenshot: str(raw.consoleScreenshotBlobUri) };
  await recorder.record(
    'bootdiagnostics.retrieved',
    {
      serialConsoleLog: urls.serialConsoleLog ? sasFacts(urls.serialConsoleLog) : null,
      consoleScreenshot: urls.consoleScreenshot ? sasFacts(urls.consoleScreenshot) : null,
      sasMinutes: config.bootDiagnosticsSasMinutes,
      requestIds: requestIdsOf(result.exchanges),
    },
    target.id,
  );
  const ca = clientTlsOptions(config).tlsOptions?.ca;
  const stored: string[] = [];
  for (const [name, url, kind, mediaType] of [
    ['serial-console.log', urls.serialConsoleLog, 'azure-serial-console-log', 'text/plain'],
    ['console-screenshot.bmp', urls.consoleScreenshot, 'azure-console-screenshot', 'image/bmp'],
  ] as const) {
    if (!url || storedBefore(recorder, evidenceId, name)) continue;
    const body = await openSasUrl(url, ca, signal);
    // A file an interrupted run wrote but never recorded is kept: this run's goes beside it.
    const evidence = await recorder.storeEvidence({ evidenceId, name: freshName(recorder, evidenceId, name), kind, source: sasFacts(url).blob, target: target.id, content: body, mediaType, requestIds: requestIdsOf(result.exchanges) });
    stored.push(evidence.path);
  }
  return stored;
}
