/**
 * Who custody is in Azure. The SOC tenant: `DefaultAzureCredential` (environment, workload
 * identity, managed identity, Azure CLI…), or the workload identity named in config. Each target
 * tenant: a `ClientAssertionCredential` for that tenant — the modular ARM clients never ask for a
 * token in another tenant by themselves (docs/research/azure.md §2.2), so one credential per
 * tenant is the only way that works. The assertion is federated (a projected token file, or the
 * SOC identity's token for `api://AzureADTokenExchange`): no client secret anywhere.
 *
 * Every new token is reported (tenant, object id, app id, scopes, roles, expiry — claims read
 * from its payload) before it is used; the token itself never leaves this module.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import {
  AzureAuthorityHosts,
  ClientAssertionCredential,
  DefaultAzureCredential,
  WorkloadIdentityCredential,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from '@azure/identity';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { offsetFromAnswer } from '../../core/clock-offset.js';
import { CustodyError } from '../../core/errors.js';
import type { AzureConfig } from './config.js';
import { recordableClaims, type RecordedClaims } from './token-claims.js';

export const ARM_SCOPE = 'https://management.azure.com/.default';
export const STORAGE_SCOPE = 'https://storage.azure.com/.default';
const FEDERATION_SCOPE = 'api://AzureADTokenExchange/.default';

/** What the ledger learns about a token: never the token. */
export interface TokenRecord {
  /** Which of custody's identities: the SOC's, or the one in a target tenant. */
  identity: 'soc' | 'target';
  /** The tenant asked for. */
  tenantId: string;
  credential: string;
  scopes: string[];
  expiresOn: string;
  claims?: RecordedClaims;
  /**
   * Microsoft's clock minus this machine's (ms) when the token was issued, from the `Date` of the
   * identity endpoint's answer (Entra ID; IMDS for a managed identity): the ledger's times are
   * this machine's, the Activity Log's Microsoft's. Absent when no answer gave one (a token from
   * the Azure CLI, a cached token).
   */
  azureClockOffsetMs?: number;
}

export type TokenObserver = (record: TokenRecord) => Promise<void> | void;

/** A credential that reports each new token's claims to `observe` before handing it out. */
export class RecordingCredential implements TokenCredential {
  private readonly seen = new Set<number>();

  constructor(
    private readonly inner: TokenCredential,
    private readonly identity: 'soc' | 'target',
    private readonly tenantId: string,
    private readonly credentialName: string,
    private readonly observe: TokenObserver,
    private readonly clock?: ClockSample,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    let token: AccessToken | null;
    try {
      token = await this.inner.getToken(scopes, options);
    } catch (error) {
      throw new CustodyError('E_CREDENTIALS', `no Azure token for tenant ${this.tenantId} (${this.credentialName}): ${firstLine(error)}`, {
        cause: error,
        resource: `tenant/${this.tenantId}`,
      });
    }
    if (!token) return token;
    // MSAL caches: the same token comes back until it is refreshed. Report each one once.
    if (!this.seen.has(token.expiresOnTimestamp)) {
      this.seen.add(token.expiresOnTimestamp);
      const record: TokenRecord = {
        identity: this.identity,
        tenantId: this.tenantId,
        credential: this.credentialName,
        scopes: Array.isArray(scopes) ? scopes : [scopes],
        expiresOn: new Date(token.expiresOnTimestamp).toISOString(),
      };
      const claims = recordableClaims(token.token);
      if (claims) record.claims = claims;
      if (this.clock?.offsetMs !== undefined) record.azureClockOffsetMs = Math.round(this.clock.offsetMs);
      await this.observe(record);
    }
    return token;
  }
}

/** The clock offset the latest answer to one credential's requests showed. */
export interface ClockSample {
  offsetMs?: number;
}

/**
 * Pipeline options that let a credential's own requests (token answers) show the identity
 * endpoint's clock in `sample`: every attempt's answer with a `Date` updates it.
 */
function sampleClockOptions(sample: ClockSample): { additionalPolicies: Array<{ policy: PipelinePolicy; position: 'perRetry' }> } {
  const policy: PipelinePolicy = {
    name: 'custodyClockSample',
    async sendRequest(request, next) {
      const sentAt = Date.now();
      const response = await next(request);
      const offset = offsetFromAnswer(response.headers.get('date'), response.headers.get('age'), sentAt);
      if (offset !== undefined) sample.offsetMs = offset;
      return response;
    },
  };
  return { additionalPolicies: [{ policy, position: 'perRetry' }] };
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0] ?? '';
}

/** Pipeline options every Azure client shares: the extra CA file, and retries the ledger can see. */
export function clientTlsOptions(config: AzureConfig): { tlsOptions?: { ca: string[] } } {
  if (!config.caFile) return {};
  let pem: string;
  try {
    pem = readFileSync(config.caFile, 'utf8');
  } catch (error) {
    throw new CustodyError('E_CONFIG', `azure.caFile ${config.caFile} cannot be read: ${firstLine(error)}`, { cause: error });
  }
  // A `ca` list replaces Node's bundled roots for that connection: keep them (docs/research/azure.md §10.3).
  return { tlsOptions: { ca: [...rootCertificates, pem] } };
}

function authorityOptions(config: AzureConfig) {
  const host = config.endpoints.authorityHost.replace(/\/+$/, '');
  const known = (Object.values(AzureAuthorityHosts) as string[]).includes(host);
  // Instance discovery asks the public cloud about the authority; a private authority (the lab,
  // an isolated cloud) must be taken as known instead (docs/research/azure.md §10.2).
  return { authorityHost: host, disableInstanceDiscovery: !known, ...clientTlsOptions(config) };
}

export interface AzureIdentity {
  soc: RecordingCredential;
  /** The credential for a target tenant (one per tenant, made once). */
  forTenant(tenantId: string): RecordingCredential;
}

export interface IdentityDeps {
  /** Replaces the SOC credential (tests that run without a workload identity environment). */
  socCredential?: TokenCredential;
  env?: NodeJS.ProcessEnv;
}

/** Builds custody's identities from config. Nothing is fetched until a token is asked for. */
export function createAzureIdentity(config: AzureConfig, observe: TokenObserver, deps: IdentityDeps = {}): AzureIdentity {
  const env = deps.env ?? process.env;
  const auth = authorityOptions(config);
  const tokenFile = config.assertion.source === 'token-file' ? (config.assertion.path ?? env.AZURE_FEDERATED_TOKEN_FILE) : undefined;
  let socInner: TokenCredential;
  let socName: string;
  const socClock: ClockSample = {};
  if (deps.socCredential) {
    socInner = deps.socCredential;
    socName = deps.socCredential.constructor.name;
  } else if (tokenFile) {
    socInner = new WorkloadIdentityCredential({ tenantId: config.socTenantId, clientId: config.clientId, tokenFilePath: tokenFile, ...auth, ...sampleClockOptions(socClock) });
    socName = 'WorkloadIdentityCredential';
  } else {
    socInner = new DefaultAzureCredential({ tenantId: config.socTenantId, ...auth, ...sampleClockOptions(socClock) });
    socName = 'DefaultAzureCredential';
  }
  const soc = new RecordingCredential(socInner, 'soc', config.socTenantId, socName, observe, deps.socCredential ? undefined : socClock);

  const getAssertion = async (): Promise<string> => {
    if (config.assertion.source === 'soc-identity') {
      const token = await soc.getToken(FEDERATION_SCOPE);
      if (!token) throw new CustodyError('E_CREDENTIALS', 'the SOC identity returned no token for api://AzureADTokenExchange');
      return token.token;
    }
    if (!tokenFile) {
      throw new CustodyError('E_CONFIG', 'azure.assertion is token-file but neither azure.assertion.path nor AZURE_FEDERATED_TOKEN_FILE names the file');
    }
    // Read each time: the kubelet rotates projected tokens.
    return (await readFile(tokenFile, 'utf8')).trim();
  };

  const tenants = new Map<string, RecordingCredential>();
  return {
    soc,
    forTenant(tenantId: string) {
      const wanted = tenantId.toLowerCase();
      let credential = tenants.get(wanted);
      if (!credential) {
        const clock: ClockSample = {};
        const inner = new ClientAssertionCredential(tenantId, config.clientId, getAssertion, { ...auth, ...sampleClockOptions(clock) });
        credential = new RecordingCredential(inner, 'target', tenantId, 'ClientAssertionCredential', observe, clock);
        tenants.set(wanted, credential);
      }
      return credential;
    },
  };
}
