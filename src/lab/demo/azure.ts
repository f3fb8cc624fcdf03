/**
 * The Azure part of `custody demo`: the lab's Azure (https Entra, ARM and Blob Storage with a CA
 * made for this run) and an AKS cluster whose node is a scale-set VM of that lab. Its targets: a
 * tagged VM in a customer tenant (restore point, exports copied, hashed and sealed in the SOC
 * evidence container; its Custom Script extension fetches its script through a SAS URL, whose
 * signature the description redaction cuts from vm-model.json), the compromised pod on the AKS node (followed to the scale-set VM and its
 * disks), and an untagged VM the collector role does not reach (ARM refuses it, naming action and
 * scope).
 *
 * The product trusts the lab's CA the way it would a corporate TLS proxy — `azure.caFile` — and
 * reaches the tenants through a federated token file, as a workload identity does: both files,
 * and the AKS kubeconfig with its lab-made token, live in a folder of this part that is removed
 * when the lab stops.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultAzureEstate, LAB_APP_CLIENT_ID, LAB_CUSTOMER_SUBSCRIPTION, LAB_CUSTOMER_TENANT, LAB_SOC_SUBSCRIPTION, LAB_SOC_TENANT } from '../azure/scenario.js';
import { startAzureLab } from '../azure/server.js';
import { key } from '../azure/world.js';
import { startKubernetesLab } from '../kubernetes/server.js';
import { k8sDemoScenario } from '../kubernetes/scenario.js';
import type { DemoCaseCheck, DemoPart } from './part.js';

const AKS_CLUSTER = 'demo-aks';
/** `lab-only-sas-signature`, base64 and URL-encoded as a SAS `sig` is. */
const DEMO_SAS_SIGNATURE = 'bGFiLW9ubHktc2FzLXNpZ25hdHVyZQ%3D%3D';

export async function startAzureDemoPart(): Promise<DemoPart> {
  // The AKS node pool uses managed OS disks here, so the followed node is collected whole.
  const lab = await startAzureLab({ estate: defaultAzureEstate(undefined, { aksOsDisk: 'managed' }) });
  // A customer's own credential in a description, as VMs commonly carry one: the signature is
  // lab-made and signs nothing.
  lab.estate.world.vms.get(key(lab.estate.ids.vm))!.extensions = [
    {
      name: 'CustomScript',
      publisher: 'Microsoft.Azure.Extensions',
      type: 'CustomScript',
      typeHandlerVersion: '2.1',
      settings: { fileUris: [`https://opsscripts.blob.core.windows.net/scripts/bootstrap.sh?sv=2022-11-02&se=2027-01-31T00%3A00%3A00Z&sr=b&sp=r&sig=${DEMO_SAS_SIGNATURE}`], commandToExecute: 'sh bootstrap.sh' },
    },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'custody-demo-azure-'));
  let k8s: Awaited<ReturnType<typeof startKubernetesLab>> | undefined;
  try {
    const { ids } = lab.estate;
    const caFile = join(dir, 'lab-ca.pem');
    writeFileSync(caFile, lab.tls.caPem);
    const tokenFile = join(dir, 'federated-token');
    writeFileSync(tokenFile, lab.workloadToken(), { mode: 0o600 });

    // The compromised pod runs on the AKS node: its providerID names the scale-set VM.
    const scenario = k8sDemoScenario({ instances: [{ id: 'aks-nodepool1-12345678-vmss000000', availabilityZone: 'eastus-1' }] });
    scenario.cluster.nodes[0]!.providerID = ids.aksNodeProviderId;
    k8s = await startKubernetesLab({ cluster: scenario.cluster });
    const kubeconfig = join(dir, 'aks-kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: AKS_CLUSTER, cluster: { server: k8s.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'collector', user: { token: scenario.collectorToken } }],
        contexts: [{ name: AKS_CLUSTER, context: { cluster: AKS_CLUSTER, user: 'collector' } }],
        'current-context': AKS_CLUSTER,
      }),
      { mode: 0o600 },
    );
    const cluster = k8s;
    return {
      label: 'Azure',
      endpoint: lab.armEndpoint,
      config: {
        azure: {
          socTenantId: LAB_SOC_TENANT,
          socSubscriptionId: LAB_SOC_SUBSCRIPTION,
          clientId: LAB_APP_CLIENT_ID,
          assertion: { source: 'token-file', path: tokenFile },
          subscriptions: [{ subscriptionId: LAB_CUSTOMER_SUBSCRIPTION, tenantId: LAB_CUSTOMER_TENANT }],
          evidenceContainerUrl: lab.evidenceContainerUrl,
          // Every Azure endpoint points at the lab, so nothing can reach a real cloud by accident.
          endpoints: { resourceManager: lab.armEndpoint, authorityHost: lab.authorityHost },
          caFile,
          pollIntervalMs: 50,
        },
      },
      clusters: [{ configName: AKS_CLUSTER, clusterConfig: { kubeconfig, context: AKS_CLUSTER, namespaces: [scenario.namespace] } }],
      env: {},
      targets: {
        collectable: [ids.vm, `k8s:${AKS_CLUSTER}/${scenario.namespace}/${scenario.compromisedPod}`],
        refusedByPolicy: [ids.untaggedVm],
        // As the providerID writes it (AKS lower-cases the node resource group); ids compare case-insensitively.
        followed: [ids.aksNodeProviderId.replace(/^azure:\/\//, '')],
      },
      description: [
        `Azure lab: Entra ${lab.authorityHost}, ARM ${lab.armEndpoint}, Blob Storage ${lab.blob!.baseUrl} (https, a CA made for this run; SOC tenant ${LAB_SOC_TENANT}, customer subscription ${LAB_CUSTOMER_SUBSCRIPTION})`,
        `Demo AKS cluster "${AKS_CLUSTER}" at ${cluster.url}; its node is the scale-set VM ${ids.aksNode}`,
        `Azure lab files (its CA, a federated token, the AKS kubeconfig; lab-made, removed when the lab stops): ${dir}`,
      ],
      checkCase: checkAzureCopiesSealed,
      close: async () => {
        await cluster.close();
        await lab.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await k8s?.close();
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Every Azure disk copy in the case was hashed (disk and VHD file) and sealed, as Blob Storage confirmed. */
export function checkAzureCopiesSealed(caseDir: string): DemoCaseCheck {
  const entries = readFileSync(join(caseDir, 'ledger.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; data: Record<string, unknown> });
  const blobsOf = (type: string) => new Set(entries.filter((e) => e.type === type).map((e) => String(e.data.blob)));
  const hashed = blobsOf('evidence.hashed');
  const sealed = entries.filter((e) => e.type === 'evidence.sealed' && e.data.legalHold === true && typeof e.data.immutableUntil === 'string');
  const sealedBlobs = new Set(sealed.map((e) => String(e.data.blob)));
  const unsealed = [...hashed].filter((b) => !sealedBlobs.has(b));
  const until = sealed[0]?.data.immutableUntil;
  const line = `Azure: ${sealedBlobs.size} of ${hashed.size} disk copies hashed (disk and VHD file SHA-256) and sealed in the lab's Blob Storage (immutability ${String(sealed[0]?.data.mode ?? '')} until ${String(until ?? '-')}, legal hold)`;
  return {
    ok: hashed.size > 0 && unsealed.length === 0,
    lines: [unsealed.length > 0 ? `${line}; not sealed: ${unsealed.join(', ')}` : line],
  };
}
