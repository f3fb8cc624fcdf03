/**
 * What a credential looks like, by its value (a signed URL, a bearer token, a private key, a
 * connection string with a key) or by the key that carries it (`secretAccessKey`, `password`, …).
 * Cloud-free: the ledger's credential guard (src/custody/credential-guard.ts) refuses what these
 * recognise, and the description redaction (src/core/redact-json.ts) cuts it out of the JSON
 * descriptions a provider stores.
 */
import { hasSignedQuery, hasUrlPassword } from './url-credentials.js';

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

// Every value pattern needs one of these: a signing parameter or a connection-string key needs
// `=` (`%3D` when encoded), a URL password `@`, a PEM block `-----`; a bearer or EKS token starts
// the text. Most strings (ids, names, states, dates) have none, and skip the six patterns.
const TOKEN_START = /^\s*(?:bearer\s|k8s-aws-v1\.)/i;

/** Whether `text` could match a value pattern below (a necessary condition, cheap to test). */
function mayBeCredential(text: string): boolean {
  return text.includes('=') || text.includes('@') || text.includes('%3') || text.includes('-----') || TOKEN_START.test(text);
}

/** What kind of credential `text` is, whatever key carries it, or undefined when it is none. */
export function credentialText(text: string): string | undefined {
  if (!mayBeCredential(text)) return undefined;
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
