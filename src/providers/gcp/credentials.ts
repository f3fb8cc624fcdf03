/**
 * Identity: the orchestrator runs with Application Default Credentials as the forensics service
 * account and, per target project, impersonates that project's collector service account with
 * a short-lived token from IAM Credentials `generateAccessToken`.
 *
 * We call generateAccessToken ourselves instead of google-auth-library's `Impersonated`: its
 * constructor prints a warning (which would break `--json` output), its lifetime defaults to the
 * API's hour, and calling it directly lets us record the exact chain and `expireTime`
 * (docs/research/gcp.md §2.2). The lifetime is always sent: the API's own default is 3600 s.
 * The token itself never leaves this module's memory: the ledger gets who, the chain, the
 * scopes and the expiry.
 */
import { GoogleAuth, OAuth2Client, type AuthClient } from 'google-auth-library';
import { offsetFromAnswer } from '../../core/clock-offset.js';
import { CustodyError } from '../../core/errors.js';
import { collectorFor, type GcpConfig } from './config.js';
import { attributionHeaders, type Attribution } from './attribution.js';

/** What the ledger records of one impersonation (`credentials.impersonated`). Never the token. */
export interface ImpersonationRecord {
  project: string;
  serviceAccount: string;
  /** In order, as sent (`projects/-/serviceAccounts/EMAIL`). */
  delegates: string[];
  /** Who asked for the token: the orchestrator's own identity, as ADC reported it. */
  orchestrator: string;
  /**
   * What Cloud Audit Logs will show for calls made with the token: principalEmail = the collector;
   * serviceAccountDelegationInfo = the orchestrator and delegates, in order.
   */
  auditPrincipal: string;
  delegationChain: string[];
  scopes: string[];
  lifetimeSecondsRequested: number;
  /** As IAM Credentials returned it. */
  expireTime: string;
  reason: 'first' | 'expiring' | 'expired-token';
  /**
   * Google's clock minus this machine's (ms) when IAM Credentials answered, from its `Date`: the
   * ledger's times are this machine's, Cloud Audit Logs' Google's. Absent when the answer had none.
   */
  gcpClockOffsetMs?: number;
}

export interface GcpCredentialBrokerOptions {
  config: GcpConfig;
  /** The orchestrator's credentials. Default: ADC (`GoogleAuth`). */
  sourceAuth?: AuthClient;
  /** The orchestrator's email when `sourceAuth` is given and does not carry one. */
  orchestratorEmail?: string;
  /** Called after each token is minted, before it is used: writes `credentials.impersonated`. */
  onImpersonated: (record: ImpersonationRecord) => Promise<void>;
  attribution: Attribution;
  now?: () => number;
  /** Renew this long before expiry (default 120 s). */
  renewBeforeMs?: number;
}

interface Held {
  client: OAuth2Client;
  expiresAt: number;
}

const IAM_CREDENTIALS = 'https://iamcredentials.googleapis.com';

/**
 * One broker per case: a memoized token per target project, renewed before it lapses, and the
 * orchestrator's own identity.
 *
 * @example
 * const broker = new GcpCredentialBroker({ config, onImpersonated: (r) => recorder.record('credentials.impersonated', r) , attribution });
 * const auth = await broker.collector('web-prod'); // an OAuth2Client for @google-cloud/compute
 */
export class GcpCredentialBroker {
  private readonly held = new Map<string, Held>();
  private readonly pending = new Map<string, Promise<OAuth2Client>>();
  private source: AuthClient | undefined;
  private adc: GoogleAuth | undefined;
  private orchestratorEmail: string | undefined;
  private readonly now: () => number;

  constructor(private readonly options: GcpCredentialBrokerOptions) {
    this.now = options.now ?? Date.now;
    this.source = options.sourceAuth;
  }

  /**
   * ADC. Building its client also looks up a project id, which where gcloud is installed means
   * running `gcloud config config-helper` (a Python process of about a second that may refresh
   * gcloud's own login). The broker never uses that project: impersonation names the collector
   * service account. Naming the forensics project, where the orchestrator works from, answers
   * the lookup without it.
   */
  private adcAuth(scopes?: string[]): GoogleAuth {
    return new GoogleAuth({ ...(scopes ? { scopes } : {}), projectId: this.options.config.forensicsProject });
  }

  private async sourceClient(): Promise<AuthClient> {
    if (!this.source) {
      try {
        this.adc = this.adcAuth(['https://www.googleapis.com/auth/cloud-platform']);
        this.source = (await this.adc.getClient()) as AuthClient;
      } catch (cause) {
        throw new CustodyError(
          'E_CREDENTIALS',
          `no Application Default Credentials for the orchestrator: ${(cause as Error).message}. Run on a VM or job with the forensics service account, set GOOGLE_APPLICATION_CREDENTIALS, or run "gcloud auth application-default login".`,
          { cause },
        );
      }
    }
    return this.source;
  }

  /** The orchestrator's service account email (ADC's identity), for case.opened and the ledger. */
  async orchestrator(): Promise<string> {
    if (this.orchestratorEmail) return this.orchestratorEmail;
    if (this.options.orchestratorEmail) return (this.orchestratorEmail = this.options.orchestratorEmail);
    const source = await this.sourceClient();
    const email = (source as { email?: string }).email;
    if (email) return (this.orchestratorEmail = email);
    try {
      // On a VM or job the metadata server answers; with a key file the file names it.
      const credentials = await (this.adc ?? this.adcAuth()).getCredentials();
      this.orchestratorEmail = credentials.client_email ?? 'unknown (ADC gave no email)';
    } catch {
      this.orchestratorEmail = 'unknown (ADC gave no email)';
    }
    return this.orchestratorEmail;
  }

  /** An auth client holding the collector's token for a target project, minted or renewed as needed. */
  async collector(project: string, reason?: 'expired-token'): Promise<OAuth2Client> {
    const held = this.held.get(project);
    const renewBefore = this.options.renewBeforeMs ?? 120_000;
    if (held && reason === undefined && held.expiresAt - renewBefore > this.now()) return held.client;
    const inFlight = this.pending.get(project);
    if (inFlight) return inFlight;
    const why: ImpersonationRecord['reason'] = reason ?? (held ? 'expiring' : 'first');
    const promise = this.mint(project, why).finally(() => this.pending.delete(project));
    this.pending.set(project, promise);
    return promise;
  }

  private async mint(project: string, reason: ImpersonationRecord['reason']): Promise<OAuth2Client> {
    const { config } = this.options;
    const { serviceAccount, delegates } = collectorFor(config, project);
    const delegateNames = delegates.map((d) => `projects/-/serviceAccounts/${d}`);
    const source = await this.sourceClient();
    const orchestrator = await this.orchestrator();
    const base = (config.endpoints.iamCredentials ?? IAM_CREDENTIALS).replace(/\/$/, '');
    const url = `${base}/v1/projects/-/serviceAccounts/${encodeURIComponent(serviceAccount)}:generateAccessToken`;
    let answer: { accessToken?: string; expireTime?: string };
    let clockOffsetMs: number | undefined;
    try {
      const sentAt = Date.now();
      const response = await source.request<{ accessToken?: string; expireTime?: string }>({
        method: 'POST',
        url,
        headers: attributionHeaders(this.options.attribution, undefined),
        data: { delegates: delegateNames, scope: config.scopes, lifetime: `${config.tokenLifetimeSeconds}s` },
        // Our own retry policy decides; gaxios' default would retry silently.
        retry: false,
      });
      answer = response.data;
      clockOffsetMs = offsetFromAnswer(headerOf(response.headers, 'date'), headerOf(response.headers, 'age'), sentAt);
    } catch (cause) {
      const status = (cause as { status?: number; response?: { status?: number } }).response?.status ?? (cause as { status?: number }).status;
      const message = (cause as { response?: { data?: { error?: { message?: string } } } }).response?.data?.error?.message ?? (cause as Error).message;
      if (status === 403 || status === 404) {
        throw new CustodyError(
          'E_ACCESS_DENIED',
          `${orchestrator} may not impersonate ${serviceAccount} (iam.serviceAccounts.getAccessToken on projects/-/serviceAccounts/${serviceAccount}): ${message}. Bind policies/gcp/token-creator-role.json on that service account to the orchestrator.`,
          { cause, action: 'iam.serviceAccounts.getAccessToken', resource: `projects/-/serviceAccounts/${serviceAccount}` },
        );
      }
      throw new CustodyError('E_CREDENTIALS', `generateAccessToken for ${serviceAccount} failed: ${message}`, {
        cause,
        retryable: status === undefined || status >= 500 || status === 429,
        resource: `projects/-/serviceAccounts/${serviceAccount}`,
      });
    }
    if (!answer.accessToken || !answer.expireTime) throw new CustodyError('E_CREDENTIALS', `generateAccessToken for ${serviceAccount} answered without a token or expiry`);
    const expiresAt = Date.parse(answer.expireTime);
    // One client per project for the case: the Compute clients built on it see each renewal.
    const client = this.held.get(project)?.client ?? new OAuth2Client();
    client.setCredentials({ access_token: answer.accessToken, expiry_date: expiresAt, token_type: 'Bearer' });
    const record: ImpersonationRecord = {
      project,
      serviceAccount,
      delegates: delegateNames,
      orchestrator,
      auditPrincipal: serviceAccount,
      delegationChain: [orchestrator, ...delegates],
      scopes: [...config.scopes],
      lifetimeSecondsRequested: config.tokenLifetimeSeconds,
      expireTime: answer.expireTime,
      reason,
      ...(clockOffsetMs !== undefined ? { gcpClockOffsetMs: Math.round(clockOffsetMs) } : {}),
    };
    // Recorded before the token is used for anything.
    await this.options.onImpersonated(record);
    this.held.set(project, { client, expiresAt });
    return client;
  }
}

/** One header of a gaxios answer (a `Headers` object, or a plain record in older gaxios). */
function headerOf(headers: unknown, name: string): string | undefined {
  if (headers && typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}
