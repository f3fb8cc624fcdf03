/**
 * The ledger and the case folder outlive the incident and travel to counsel: a credential written
 * there leaks. Collectors are asked never to pass one; this guard makes the mistake loud instead.
 */
import { CustodyError } from '../core/errors.js';
import { hasSignedQuery, hasUrlPassword } from '../core/url-credentials.js';

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
  // An Azure Storage or Service Bus connection string: its key or SAS is the access.
  [/(?:^|;)\s*(?:AccountKey|SharedAccessSignature|SharedAccessKey)\s*=/i, 'a connection string with a key'],
];

/** What kind of credential `text` is, whatever key carries it, or undefined when it is none. */
export function credentialText(text: string): string | undefined {
  // Indexed, not destructured: every string of every entry passes here, and a destructuring
  // walks an iterator (with its garbage) until the function is optimised.
  for (let i = 0; i < CREDENTIAL_VALUES.length; i++) {
    const candidate = CREDENTIAL_VALUES[i]!;
    if (candidate[0].test(text)) return candidate[1];
  }
  if (hasSignedQuery(text)) return 'a signed URL (SAS, presigned or signed URL)';
  if (hasUrlPassword(text)) return 'a URL with a password';
  return undefined;
}

/** Where in `data` a credential was found, or undefined when there is none. */
export function findCredential(data: unknown, path = '$'): string | undefined {
  const found = locate(data);
  if (!found) return undefined;
  const where = path + found.segments.reverse().join('');
  return found.what ? `${where} (${found.what})` : where;
}

/**
 * The walk behind `findCredential`. It runs over every ledger entry, so it builds no path while
 * searching: the segments are collected on the way back, only when something was found.
 */
function locate(data: unknown): { segments: string[]; what?: string } | undefined {
  if (typeof data === 'string') {
    const what = credentialText(data);
    return what === undefined ? undefined : { segments: [], what };
  }
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) {
      const found = locate(data[i]);
      if (found) {
        found.segments.push(`[${i}]`);
        return found;
      }
    }
    return undefined;
  }
  if (data !== null && typeof data === 'object') {
    for (const key in data) {
      if (!Object.hasOwn(data, key)) continue;
      const value = (data as Record<string, unknown>)[key];
      if (value === undefined || value === null) continue;
      if (isCredentialKey(key)) return { segments: [`.${key}`] };
      const found = locate(value);
      if (found) {
        found.segments.push(`.${key}`);
        return found;
      }
    }
  }
  return undefined;
}

// The same keys recur in every entry (snapshotId, volumeId, …): remember the answer for each.
const keyVerdicts = new Map<string, boolean>();

/** Whether a member named `key` would hold a credential (compared without case, `-` and `_`). */
export function isCredentialKey(key: string): boolean {
  let verdict = keyVerdicts.get(key);
  if (verdict === undefined) {
    verdict = CREDENTIAL_KEYS.has(key.toLowerCase().replace(/[-_]/g, ''));
    // Bounded: keys can come from the cloud (tags, labels), so the cache must not grow without end.
    if (keyVerdicts.size >= 10_000) keyVerdicts.clear();
    keyVerdicts.set(key, verdict);
  }
  return verdict;
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
