/**
 * Every Google API call of the provider goes through `callGcp`: it carries the attribution
 * headers, re-mints an expired token once, backs off on rate limits and turns the client's
 * errors into typed `CustodyError`s. A Compute rate limit is a 403 that the Node client maps to
 * PERMISSION_DENIED, so the reason in the raw body decides, never the status alone
 * (docs/research/gcp.md §3.4).
 */
import { CustodyError } from '../../core/errors.js';
import type { GcpOperation, GcpOperationName, GcpRoleName } from './operations.js';
import { GCP_OPERATIONS, permissionRole } from './operations.js';

export interface GoogleErrorShape {
  code?: number;
  httpStatusCode?: number;
  reason?: string;
  message?: string;
  cause?: { message?: string };
  response?: { status?: number; data?: unknown };
  status?: number;
}

export type GcpFailureKind = 'expired-token' | 'rate-limit' | 'quota' | 'denied' | 'not-found' | 'conflict' | 'unavailable' | 'other';

export interface ClassifiedError {
  kind: GcpFailureKind;
  httpStatus?: number;
  /** `rateLimitExceeded`, `forbidden`, `notFound`, … as the body said. */
  reason?: string;
  message: string;
}

function bodyOf(error: GoogleErrorShape): { code?: number; message?: string; errors?: Array<{ reason?: string }>; status?: string } | undefined {
  const candidates = [error.cause?.message, typeof error.response?.data === 'string' ? error.response.data : undefined];
  for (const text of candidates) {
    if (!text) continue;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: number; message?: string; errors?: Array<{ reason?: string }>; status?: string } };
      if (parsed.error) return parsed.error;
    } catch {
      // not JSON: fall through
    }
  }
  const data = error.response?.data as { error?: { code?: number; message?: string; errors?: Array<{ reason?: string }>; status?: string } } | undefined;
  return data?.error;
}

/** Reads what kind of failure a Google client error is. */
export function classifyGoogleError(error: unknown): ClassifiedError {
  const e = (error ?? {}) as GoogleErrorShape;
  const body = bodyOf(e);
  const httpStatus = e.httpStatusCode ?? e.response?.status ?? body?.code ?? (typeof e.status === 'number' ? e.status : undefined);
  const reason = body?.errors?.[0]?.reason ?? e.reason;
  const message = body?.message ?? e.message ?? String(error);
  const base = { ...(httpStatus !== undefined ? { httpStatus } : {}), ...(reason ? { reason } : {}), message };
  if (httpStatus === 401 || e.code === 16) return { kind: 'expired-token', ...base };
  if (reason === 'rateLimitExceeded' || reason === 'userRateLimitExceeded' || reason === 'RATE_LIMIT_EXCEEDED' || httpStatus === 429 || e.code === 8) return { kind: 'rate-limit', ...base };
  if (reason === 'quotaExceeded' || reason === 'QUOTA_EXCEEDED') return { kind: 'quota', ...base };
  if (httpStatus === 403 || e.code === 7) return { kind: 'denied', ...base };
  if (httpStatus === 404 || e.code === 5) return { kind: 'not-found', ...base };
  if (httpStatus === 409 || e.code === 6) return { kind: 'conflict', ...base };
  if (httpStatus === 503 || httpStatus === 502 || e.code === 14) return { kind: 'unavailable', ...base };
  return { kind: 'other', ...base };
}

/** `Required 'compute.disks.get' permission for 'projects/…'` → the permission and the resource. */
export function parseRequiredPermission(message: string): { permission?: string; resource?: string } {
  const match = /Required '([^']+)' permission for '([^']+)'/.exec(message);
  return match ? { permission: match[1]!, resource: match[2]! } : {};
}

/**
 * The role that grants a refused permission: that of the operation declaring it (Google may name
 * a permission of another role than the call's own, as the evidence hold's createTagBinding on a
 * snapshot insert), else the call's.
 */
function roleGranting(permission: string, op: GcpOperationName): GcpRoleName {
  const declaring = (Object.values(GCP_OPERATIONS) as GcpOperation[]).find((o) => o.permissions.some((p) => p.action === permission)) ?? GCP_OPERATIONS[op];
  return permissionRole(declaring, permission);
}

/** Where the role that grants a refused permission is bound (policies/gcp/bindings.json, infra/gcp). */
function whereGranted(role: GcpRoleName): string {
  switch (role) {
    case 'collector':
      return 'the collector role is granted in that project and that the resource carries the collection tag';
    case 'inventory':
      return 'the inventory role (policies/gcp/inventory-role.json) is granted to the collector in that project';
    case 'snapshotWriter':
      return 'the snapshot-writer role (policies/gcp/snapshot-writer-role.json) is granted to the collector in the forensics project';
    case 'evidenceHold':
      return 'the evidence-hold role (policies/gcp/evidence-hold-role.json) is granted to the collector in the forensics project and on the EvidenceHold tag value';
    case 'tokenCreator':
      return 'the orchestrator holds the token-creator role (policies/gcp/token-creator-role.json) on the collector service account';
  }
}

export function toCustodyError(error: unknown, op: GcpOperationName, resource: string): CustodyError {
  if (error instanceof CustodyError) return error;
  const c = classifyGoogleError(error);
  const api = GCP_OPERATIONS[op].api;
  switch (c.kind) {
    case 'denied': {
      const named = parseRequiredPermission(c.message);
      const permission = named.permission ?? GCP_OPERATIONS[op].permissions[0]?.action ?? api;
      const on = named.resource ?? resource;
      // Worded as AWS's and Azure's refusals are: who refused what on which resource, and where to
      // look. Google's own text is kept only when it says more than the permission and resource.
      const why = c.reason ?? (c.httpStatus !== undefined ? `HTTP ${c.httpStatus}` : 'PERMISSION_DENIED');
      const said = named.permission !== undefined && c.message.trim() === `Required '${named.permission}' permission for '${named.resource}'` ? '' : ` Google said: ${c.message}`;
      return new CustodyError('E_ACCESS_DENIED', `GCP refused ${permission} on ${on} (${why}). Check that ${whereGranted(roleGranting(permission, op))} (docs/deploy-gcp.md).${said}`, {
        cause: error,
        action: permission,
        resource: on,
      });
    }
    case 'not-found':
      return new CustodyError('E_NOT_FOUND', `${resource} was not found (${api}): ${c.message}`, { cause: error, resource });
    case 'rate-limit':
      return new CustodyError('E_THROTTLED', `${api} on ${resource} stayed rate-limited after retries: ${c.message}`, { cause: error, resource, retryable: true });
    case 'quota':
      return new CustodyError('E_CLOUD', `${api} on ${resource} exceeded a quota (raise it or free capacity, then --resume): ${c.message}`, { cause: error, resource });
    case 'expired-token':
      return new CustodyError('E_CREDENTIALS', `${api} on ${resource}: the collector's token was refused even after renewing it: ${c.message}`, { cause: error, resource });
    case 'unavailable':
      return new CustodyError('E_CLOUD', `${api} on ${resource}: the service was unavailable: ${c.message}`, { cause: error, resource, retryable: true });
    default:
      return new CustodyError('E_CLOUD', `${api} on ${resource} failed: ${c.message}`, { cause: error, resource });
  }
}

export interface RetryPolicy {
  /** Attempts in all (first try included) on rate limits and unavailability. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_GCP_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 1000, maxDelayMs: 30_000 };

export interface CallGcpOptions {
  retry: RetryPolicy;
  /** Re-mints the token (reason expired-token). */
  renewToken: () => Promise<void>;
  sleep?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `fn`, retrying rate limits and unavailability with exponential back-off (Compute's rate
 * quotas refill per minute), renewing an expired token once; maps the last error.
 */
export async function callGcp<T>(op: GcpOperationName, resource: string, options: CallGcpOptions, fn: () => Promise<T>): Promise<T> {
  const sleep = options.sleep ?? defaultSleep;
  let renewed = false;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (error) {
      const c = classifyGoogleError(error);
      if (c.kind === 'expired-token' && !renewed) {
        renewed = true;
        await options.renewToken();
        attempt -= 1;
        continue;
      }
      const transient = c.kind === 'rate-limit' || c.kind === 'unavailable';
      if (!transient || attempt >= options.retry.attempts || options.signal?.aborted) throw toCustodyError(error, op, resource);
      await sleep(Math.min(options.retry.maxDelayMs, options.retry.baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}
