/**
 * The ledger and the case folder outlive the incident and travel to counsel: a credential written
 * there leaks. Collectors are asked never to pass one; this guard makes the mistake loud instead.
 */
import { CustodyError } from '../core/errors.js';

// Compared after lower-casing and dropping '-' and '_', so `session_token`, `Session-Token` and
// `sessionToken` all match. Exact key matches only: `tokenExpiry` or `passwordPolicy` are fine.
const CREDENTIAL_KEYS = new Set([
  'secretaccesskey',
  'awssecretaccesskey',
  'sessiontoken',
  'awssessiontoken',
  'securitytoken',
  'xamzsecuritytoken',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'bearertoken',
  'password',
  'passwd',
  'authorization',
  'proxyauthorization',
  'clientsecret',
  'privatekey',
  'apikey',
  'sassignature',
]);

// Values that are credentials whatever key carries them.
const CREDENTIAL_VALUES: ReadonlyArray<[RegExp, string]> = [
  [/^\s*Bearer\s+\S/i, 'a bearer token'],
  [/^k8s-aws-v1\./, 'an EKS bearer token'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
];

/** Where in `data` a credential was found, or undefined when there is none. */
export function findCredential(data: unknown, path = '$'): string | undefined {
  if (typeof data === 'string') {
    for (const [pattern, what] of CREDENTIAL_VALUES) if (pattern.test(data)) return `${path} (${what})`;
    return undefined;
  }
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) {
      const found = findCredential(data[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (data !== null && typeof data === 'object') {
    for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
      if (value === undefined || value === null) continue;
      if (CREDENTIAL_KEYS.has(key.toLowerCase().replace(/[-_]/g, ''))) return `${path}.${key}`;
      const found = findCredential(value, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Throws `E_INTERNAL` when `data` holds a credential-like key or value. The message names where,
 * never the value itself.
 */
export function assertNoCredentials(data: unknown, what: string): void {
  const found = findCredential(data);
  if (found) {
    throw new CustodyError(
      'E_INTERNAL',
      `refused to record ${what}: ${found} looks like a credential, and credentials never enter the case folder`,
      { resource: what },
    );
  }
}
