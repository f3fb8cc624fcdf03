/**
 * What the ledger may know about an Entra access token: a few claims from its payload, never
 * the token. The header and signature segments are never decoded or kept; the signature is not
 * checked here because custody is the client, not the resource (docs/research/azure.md §2.3).
 */

/** Claims worth recording, as named in Entra's access-token reference. */
export interface RecordedClaims {
  /** Tenant the token was issued in. */
  tenantId?: string;
  /** Object id of the caller (service principal or user). */
  objectId?: string;
  /** Application (client) id: `azp` in v2.0 tokens, `appid` in v1.0. */
  appId?: string;
  /** `app` or `user`, when the tenant emits `idtyp`. */
  identityType?: string;
  audience?: string;
  /** Delegated scopes (`scp`), absent for app-only tokens. */
  scopes?: string[];
  /** App roles (`roles`), absent when none. */
  roles?: string[];
  /** ISO 8601, from `exp`/`iat`. */
  expiresAt?: string;
  issuedAt?: string;
  version?: string;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isoFromSeconds(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value * 1000).toISOString() : undefined;
}

/**
 * Reads the recordable claims of a JWT access token. Returns `undefined` when the token is not
 * a JWT (an opaque token): nothing is guessed. The token string is not retained.
 */
export function recordableClaims(token: string): RecordedClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null) return undefined;
  const claims: RecordedClaims = {};
  const set = <K extends keyof RecordedClaims>(key: K, value: RecordedClaims[K] | undefined) => {
    if (value !== undefined) claims[key] = value;
  };
  set('tenantId', str(payload.tid));
  set('objectId', str(payload.oid));
  set('appId', str(payload.azp) ?? str(payload.appid));
  set('identityType', str(payload.idtyp));
  set('audience', str(payload.aud));
  const scp = str(payload.scp);
  set('scopes', scp ? scp.split(' ').filter(Boolean) : undefined);
  set('roles', Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : undefined);
  set('expiresAt', isoFromSeconds(payload.exp));
  set('issuedAt', isoFromSeconds(payload.iat));
  set('version', str(payload.ver));
  return claims;
}
