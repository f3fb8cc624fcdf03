/**
 * The `gcp` section of the config: which projects may be collected, whom to impersonate there,
 * and how snapshots are kept in the forensics project. Owned by the GCP provider.
 */
import { z } from 'zod';
import { credentialFreeUrl } from '../../core/config.js';
import { CustodyError } from '../../core/errors.js';

const project = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a GCP project id such as forensics-prod');
const endpoint = z.url({ message: 'must be a URL such as http://127.0.0.1:8085' }).superRefine(credentialFreeUrl);
// A URL template with `{location}` (a zone or region) for location-specific endpoints.
const locationEndpoint = z
  .string()
  .refine((v) => v.includes('{location}'), 'must contain {location}, such as https://{location}-cloudresourcemanager.googleapis.com')
  .superRefine((v, ctx) => {
    const sample = v.replaceAll('{location}', 'us-central1-a');
    if (!URL.canParse(sample)) ctx.addIssue({ code: 'custom', message: 'must be a URL once {location} is filled in' });
    else credentialFreeUrl(sample, ctx);
  });
const serviceAccount = z
  .string()
  .regex(/^[a-z0-9{}][a-z0-9{}._-]*@[a-z0-9{}._-]+\.iam\.gserviceaccount\.com$/, 'must be a service account email (may contain {project})');
// A storage location is one region (`us-central1`) or multi-region (`us`, `eu`, `asia`).
const storageLocation = z.string().regex(/^[a-z]+(-[a-z]+\d+)?$/, 'must be a region or multi-region such as us-central1 or eu');

/** generateAccessToken's own limit without an org-policy extension. */
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 900;
export const DEFAULT_SCOPES = ['https://www.googleapis.com/auth/compute', 'https://www.googleapis.com/auth/cloud-platform.read-only'];

export const gcpConfigSchema = z
  .object({
    /** The project the orchestrator runs in; every snapshot is created here. */
    forensicsProject: project,
    /** Only these projects may be collected from (and a selector searches them). */
    allowedProjects: z.array(project).min(1),
    /** The collector service account impersonated in each target project; `{project}` is filled in. */
    collectorServiceAccount: serviceAccount.default('cloud-custody-collector@{project}.iam.gserviceaccount.com'),
    /** Service accounts between the orchestrator and the collector, in order (`{project}` filled in). */
    delegates: z.array(serviceAccount).default([]),
    /** Lifetime of each impersonated token; generateAccessToken's own default would be an hour. */
    tokenLifetimeSeconds: z.number().int().min(300).max(MAX_TOKEN_LIFETIME_SECONDS).default(DEFAULT_TOKEN_LIFETIME_SECONDS),
    scopes: z.array(z.url()).min(1).default(DEFAULT_SCOPES),
    /** The tag whose binding makes a workload collectable (the collector role's IAM condition). */
    collectionTag: z
      .object({ key: z.string().regex(/^[^/]+\/[^/]+$/, 'must be a namespaced key such as 123456789012/ForensicsEnabled'), value: z.string().min(1) })
      .strict()
      .optional(),
    snapshots: z
      .object({
        /** Where snapshots are stored; absent = Google's default (the nearest multi-region). */
        storageLocations: z.array(storageLocation).max(1).optional(),
        /** The forensics project's CMEK: projects/P/locations/L/keyRings/R/cryptoKeys/K. */
        kmsKeyName: z.string().regex(/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/, 'must be a Cloud KMS key name').optional(),
        /** Ask the guest OS to flush before the snapshot (application-consistent where the agent runs). */
        guestFlush: z.boolean().default(false),
        /**
         * Opt-in evidence hold: bind this tag value (`tagValues/ID` or `PARENT/KEY/VALUE`) to every
         * snapshot at creation; the deny policy in policies/gcp/evidence-hold-deny-policy.json
         * then refuses snapshots.delete on it to everyone but the break-glass group.
         */
        evidenceHoldTag: z.object({ key: z.string().min(1), value: z.string().min(1) }).strict().optional(),
      })
      .strict()
      .default({ guestFlush: false }),
    /** Serial ports read from each instance (a VM has four). */
    serialPorts: z.array(z.number().int().min(1).max(4)).min(1).default([1, 2, 3, 4]),
    /** Give up waiting for a snapshot after this long (recorded). */
    snapshotTimeoutSeconds: z.number().int().min(1).default(6 * 3600),
    /**
     * The pause between rounds of operation waits in which no operation finished (default 2000,
     * in session.ts). Lower only for a lab whose operations finish at once; no default here, so a
     * config without it records none.
     */
    operationPollMs: z.number().int().min(10).max(60_000).optional(),
    /**
     * Endpoint overrides (the lab): Compute, IAM Credentials, Resource Manager's global endpoint and
     * its location-specific one (a template with `{location}`, used for zonal and regional resources).
     */
    endpoints: z
      .object({
        compute: endpoint.optional(),
        iamCredentials: endpoint.optional(),
        resourceManager: endpoint.optional(),
        resourceManagerLocation: locationEndpoint.optional(),
      })
      .strict()
      // A private Resource Manager endpoint set alone would leave the other one's calls going to
      // Google's public endpoints: the location-specific one's (instances' tags), or the global
      // one's (a snapshot's evidence-hold binding, preflight's project permissions). Name both, or neither.
      .refine((e) => e.resourceManager === undefined || e.resourceManagerLocation !== undefined, {
        message: 'resourceManager is set but resourceManagerLocation is not: set both (the location one is a URL template with {location}, e.g. https://{location}-cloudresourcemanager.googleapis.com), or the calls about zonal resources would go to Google’s public endpoints',
        path: ['resourceManagerLocation'],
      })
      .refine((e) => e.resourceManagerLocation === undefined || e.resourceManager !== undefined, {
        message: 'resourceManagerLocation is set but resourceManager is not: set both (the global one is a URL such as https://cloudresourcemanager.googleapis.com), or the calls about global resources (a snapshot\'s evidence-hold tag, preflight\'s project permissions) would go to Google’s public endpoint',
        path: ['resourceManager'],
      })
      .default({}),
  })
  .strict();

export type GcpConfig = z.infer<typeof gcpConfigSchema>;

/** Validates the `gcp` section. Throws `E_CONFIG` naming each bad field (`gcp.allowedProjects[0]: …`). */
export function parseGcpConfig(raw: unknown): GcpConfig {
  const result = gcpConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `gcp${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${issue.message}`);
  throw new CustodyError('E_CONFIG', `invalid gcp config:\n  ${problems.join('\n  ')}`, { resource: 'gcp' });
}

/** The collector (and delegates) for a target project, with `{project}` filled in. */
export function collectorFor(config: GcpConfig, targetProject: string): { serviceAccount: string; delegates: string[] } {
  const fill = (s: string) => s.replaceAll('{project}', targetProject);
  return { serviceAccount: fill(config.collectorServiceAccount), delegates: config.delegates.map(fill) };
}
