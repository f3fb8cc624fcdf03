/**
 * The `azure` section of the config. No secrets: identities are federated (a token file or the
 * SOC identity's own token is the client assertion), so nothing here is a credential.
 */
import { z } from 'zod';
import { credentialFreeUrl } from '../../core/config.js';

const guid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a GUID');
const resourceGroup = z.string().regex(/^[-\w.()]{1,90}$/u, 'must be a resource group name');
const httpsUrl = z.url({ protocol: /^https$/, message: 'must be an https URL (the Azure SDKs refuse bearer tokens over http)' }).superRefine(credentialFreeUrl);
// The container is reached with the SOC identity's Entra ID token; a query here would be a SAS
// (a credential the ledger would record with every copy) or something the blob API does not take.
const containerUrl = httpsUrl.refine((url) => !URL.canParse(url) || new URL(url).search === '', {
  message: 'must be the container URL without a query: cloud-custody reaches it with the SOC identity\'s Entra ID token, not a SAS',
});

export const azureConfigSchema = z
  .object({
    /** The SOC tenant the orchestrator runs in. */
    socTenantId: guid,
    /** The SOC subscription: its evidence resource group and storage account hold the case. */
    socSubscriptionId: guid,
    /**
     * The multi-tenant app (client id) custody acts as in every target tenant, through a
     * federated credential; its service principal must exist in each target tenant.
     */
    clientId: guid,
    /**
     * Where the client assertion comes from: a projected token file (Kubernetes workload
     * identity; default `$AZURE_FEDERATED_TOKEN_FILE`), or the SOC identity's own token for
     * `api://AzureADTokenExchange` (a managed identity as federated credential).
     */
    assertion: z
      .discriminatedUnion('source', [
        z.object({ source: z.literal('token-file'), path: z.string().min(1).optional() }).strict(),
        z.object({ source: z.literal('soc-identity') }).strict(),
      ])
      .default({ source: 'token-file' }),
    /** Target subscriptions and their tenants: a target outside this list is refused. */
    subscriptions: z
      .array(z.object({ subscriptionId: guid, tenantId: guid }).strict())
      .min(1),
    /** Resource group in each target subscription that holds case snapshots (incremental
     * snapshots cannot leave the disk's subscription). Must exist; the collector role is
     * assigned on it. */
    stagingResourceGroup: resourceGroup.default('cloud-custody-staging'),
    /** The SOC subscription's evidence resource group (used when a disk is in the SOC subscription). */
    evidenceResourceGroup: resourceGroup.default('soc-evidence'),
    /** The SOC evidence container: `https://ACCOUNT.blob.core.windows.net/CONTAINER`. */
    evidenceContainerUrl: containerUrl,
    /**
     * Resource group of the evidence storage account in the SOC subscription, where preflight asks
     * ARM for the SOC identity's effective data actions on the container; default
     * `evidenceResourceGroup`.
     */
    evidenceStorageResourceGroup: resourceGroup.optional(),
    /** Time-based immutability on each verified copy, in days; 0 = none (legal hold only). */
    immutabilityDays: z.number().int().min(0).max(146_000).default(365),
    legalHold: z.boolean().default(true),
    /** The tag that marks a VM as collectable (selected by it; enforced by role assignment scope). */
    collectionTag: z.object({ key: z.string().min(1).max(512), value: z.string().max(256) }).strict().default({ key: 'ForensicsEnabled', value: 'true' }),
    /**
     * Multi-disk consistency for a VM: a crash-consistent restore point where the VM supports it
     * (else per-disk snapshots, recorded), or always per-disk incremental snapshots.
     */
    consistency: z.enum(['restore-point', 'per-disk']).default('restore-point'),
    /** Minutes a boot-diagnostics SAS lives (1–1440). */
    bootDiagnosticsSasMinutes: z.number().int().min(1).max(1440).default(5),
    /** Seconds a snapshot export SAS lives: long enough for the server-side copy. */
    exportSasSeconds: z.number().int().min(300).max(86_400).default(3600),
    /** How long to wait between rounds of batched polling. */
    pollIntervalMs: z.number().int().min(0).max(60_000).default(5000),
    /** Give up waiting for snapshots, exports and copies after this long. */
    waitTimeoutMs: z.number().int().min(1000).default(4 * 3600 * 1000),
    /** Endpoints: public Azure by default; the lab (or a sovereign cloud) sets its own. */
    endpoints: z
      .object({
        resourceManager: httpsUrl.default('https://management.azure.com'),
        authorityHost: httpsUrl.default('https://login.microsoftonline.com'),
      })
      .strict()
      .default({ resourceManager: 'https://management.azure.com', authorityHost: 'https://login.microsoftonline.com' }),
    /**
     * PEM file of extra CAs to trust for Azure connections, added to Node's bundled roots — for a
     * corporate TLS proxy, or the lab. `NODE_EXTRA_CA_CERTS` does the same for the whole process.
     */
    caFile: z.string().min(1).optional(),
  })
  .strict();

export type AzureConfig = z.infer<typeof azureConfigSchema>;
