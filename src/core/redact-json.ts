/**
 * The one redaction step every provider's JSON description passes before it is stored. A
 * customer's own resources carry credentials (a VM extension's SAS `fileUris`, an instance's
 * startup-script URL, a pod's connection string in `env`, a tag holding a presigned URL); stored
 * verbatim they would travel to counsel in the case folder and stay usable. Only structured
 * descriptions pass here: raw evidence (console output, logs, disk images, checkpoints, container
 * files) stays byte-exact.
 *
 * What is cut, and only that:
 * - a value `credentialText` recognises: of a signed URL (SAS, presigned, signed) only the values
 *   of its signature-bearing query parameters (`sig=`, `X-Amz-Signature=`, `X-Amz-Security-Token=`,
 *   `X-Goog-Signature=`, `access_token=`, …) and a URL's password; of a connection string the
 *   `AccountKey=` / `SharedAccessSignature=` / `SharedAccessKey=` values; of a bearer or EKS token
 *   the token; of a PEM private key its body. The rest of the text stays readable.
 * - a non-empty text under a credential-named key (`isCredentialKey`: exact names such as
 *   `password`, `token`, `secretAccessKey`; `tokenExpiry` or `ClientToken` are not).
 * - the `value` of a name/value pair (Kubernetes `env`, GCP metadata `items`, AWS `Tags`) whose
 *   name ends like a credential (`DB_PASSWORD`, `GITHUB_TOKEN`, `STRIPE_API_KEY`, `CLIENT_SECRET`).
 * Each cut value becomes `REDACTED`; the stored file's `evidence.stored` entry lists the JSON path
 * and kind of each, and the SHA-256 the file would have had without redaction.
 */
import { createHash } from 'node:crypto';
import { credentialText, isCredentialKey } from './credentials.js';
import type { EvidenceRedaction } from './ports.js';
import { hasSignedQuery, redactUrlCredentials } from './url-credentials.js';

/** What a cut value is replaced by. */
export const REDACTED = 'REDACTED';

/** Renders a JSON evidence file: indented, with a trailing newline. */
export function renderJson(value: unknown): string {
  // No replacer: JSON.stringify keeps its fast path without one.
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A JSON description as it is stored: its text, and what was cut from it (absent: nothing). */
export interface JsonEvidence {
  content: string;
  redaction?: EvidenceRedaction;
}

/**
 * `value` rendered by `render` with every credential in it cut out (see above). The common case,
 * a description with no credential, costs one walk that allocates nothing, then the render. The
 * same answer always gives the same bytes, so a resumed run recognises a file it stored before.
 *
 * @example
 * await recorder.storeEvidence({ evidenceId, name: 'vm-model.json', kind: 'azure-vm-model',
 *   source: vmId, mediaType: 'application/json', ...jsonEvidence(model) });
 */
export function jsonEvidence(value: unknown, render: (value: unknown) => string = renderJson): JsonEvidence {
  if (!holdsCredential(value)) return { content: render(value) };
  const original = render(value);
  // Redacted in the plain JSON the render wrote (dates as their text, a renderer's dropped members
  // gone), so the paths name members of the stored file and everything else renders as before.
  const redacted: EvidenceRedaction['redacted'] = [];
  const copy = redactIn(JSON.parse(original), '$', redacted);
  if (redacted.length === 0) return { content: original };
  return {
    content: render(copy),
    redaction: { originalSha256: createHash('sha256').update(original).digest('hex'), redacted },
  };
}

/** Whether `data` holds anything `redactIn` would cut. Builds nothing: it runs on every description. */
function holdsCredential(data: unknown): boolean {
  if (typeof data === 'string') return data !== '' && credentialText(data) !== undefined;
  if (data === null || typeof data !== 'object') return false;
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) if (holdsCredential(data[i])) return true;
    return false;
  }
  const record = data as Record<string, unknown>;
  if (namedValueKey(record) !== undefined) return true;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    const value = record[key];
    if (typeof value === 'string' && value !== '' && isCredentialKey(key)) return true;
    if (holdsCredential(value)) return true;
  }
  return false;
}

/** Cuts credentials out of `data` (plain JSON, changed in place), listing each path in `out`. */
function redactIn(data: unknown, path: string, out: EvidenceRedaction['redacted']): unknown {
  if (typeof data === 'string') {
    const kind = credentialText(data);
    if (kind === undefined) return data;
    out.push({ path, kind });
    return redactText(data);
  }
  if (data === null || typeof data !== 'object') return data;
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) data[i] = redactIn(data[i], `${path}[${i}]`, out);
    return data;
  }
  const record = data as Record<string, unknown>;
  const valueKey = namedValueKey(record);
  for (const key of Object.keys(record)) {
    const value = record[key];
    const at = path + memberPath(key);
    // A value whose own form is recognised loses only its secret part (a SAS keeps its URL).
    if (typeof value === 'string' && value !== '' && (isCredentialKey(key) || key === valueKey) && credentialText(value) === undefined) {
      out.push({ path: at, kind: key === valueKey ? 'a value named like a credential' : 'a value under a credential-named key' });
      record[key] = REDACTED;
    } else {
      record[key] = redactIn(value, at, out);
    }
  }
  return data;
}

const PRIVATE_KEY_ALL = /(-----BEGIN ([A-Z ]*)PRIVATE KEY-----)[\s\S]*?(-----END \2PRIVATE KEY-----|$)/g;
const CONNECTION_KEY_ALL = /((?:^|;)\s*(?:AccountKey|SharedAccessSignature|SharedAccessKey)\s*=)[^;\s"']*/gi;
const BEARER = /^(\s*Bearer\s+)[\s\S]*$/i;
const EKS_TOKEN = /^k8s-aws-v1\.[\s\S]*$/;

// What must not be left once the marker is taken out: a signing parameter, password, key or
// token that still has a value means the precise cut missed a form, and the whole text goes.
const LEFT_OVER: readonly RegExp[] = [
  /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i,
  /(?:^|;)\s*(?:AccountKey|SharedAccessSignature|SharedAccessKey)\s*=\s*[^;\s"']/i,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[^\s-]/,
  /^\s*Bearer\s+\S/i,
  /^k8s-aws-v1\.\S/,
];

/** A recognised credential text with the secret parts replaced by the marker, the rest kept. */
function redactText(text: string): string {
  let cut = text
    .replace(PRIVATE_KEY_ALL, `$1\n${REDACTED}\n$3`)
    .replace(CONNECTION_KEY_ALL, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`)
    .replace(EKS_TOKEN, `k8s-aws-v1.${REDACTED}`);
  cut = redactUrlCredentials(cut, REDACTED);
  const rest = cut.split(REDACTED).join('');
  return hasSignedQuery(rest) || LEFT_OVER.some((pattern) => pattern.test(rest)) ? REDACTED : cut;
}

/** `.name`, or `["name"]` when the name is not an identifier (`metadata.annotations["a.io/b"]`). */
function memberPath(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * The member holding a credential in a name/value pair (`{name, value}`, `{key, value}`,
 * `{Key, Value}`): `value` or `Value` when the pair's name ends like a credential and its value is
 * non-empty text; else undefined.
 */
function namedValueKey(record: Record<string, unknown>): string | undefined {
  const valueKey = typeof record.value === 'string' ? 'value' : typeof record.Value === 'string' ? 'Value' : undefined;
  if (valueKey === undefined || record[valueKey] === '') return undefined;
  const name = record.name ?? record.key ?? record.Key ?? record.Name;
  return typeof name === 'string' && isCredentialName(name) ? valueKey : undefined;
}

// Endings of a variable, tag or metadata name whose value is a secret. Endings, not words
// anywhere: `PASSWORD_MIN_LENGTH`, `TOKEN_TTL` or `SECRET_NAME` (a reference) are kept.
const CREDENTIAL_NAME_ENDINGS = ['password', 'passwd', 'secret', 'token', 'apikey', 'accesskey', 'secretkey', 'privatekey', 'connectionstring', 'sastoken'];

// Names recur (every instance carries the same tag keys): remember the answer for each.
const nameVerdicts = new Map<string, boolean>();

/** Whether a pair named `name` holds a credential (compared without case, `-`, `_`, `.` and spaces). */
export function isCredentialName(name: string): boolean {
  let verdict = nameVerdicts.get(name);
  if (verdict === undefined) {
    const plain = name.toLowerCase().replace(/[-_. ]/g, '');
    verdict = isCredentialKey(name) || CREDENTIAL_NAME_ENDINGS.some((ending) => plain.endsWith(ending));
    // Bounded: names come from the cloud (tags, labels, variables).
    if (nameVerdicts.size >= 10_000) nameVerdicts.clear();
    nameVerdicts.set(name, verdict);
  }
  return verdict;
}
