/**
 * A URL can be a credential: whoever holds an Azure SAS URL (`sig=`), an S3 presigned URL
 * (`X-Amz-Signature=`, with a session's `X-Amz-Security-Token=`) or a Cloud Storage signed URL
 * (`X-Goog-Signature=`; the older forms `Signature=`) holds the access it grants until it
 * expires, a URL with `access_token=` holds a bearer token, and `https://user:password@host`
 * carries a password. None of them may reach a log, the ledger or the case folder, which outlive
 * the incident and travel to counsel. These helpers find them (the ledger's credential guard
 * refuses such a value; configuration refuses such a URL) and cut them out of error text, which
 * is where a provider puts a URL it was given.
 */

// The query parameters that carry a signature or a token, whatever cloud signed the URL; OAuth's
// `access_token` is a bearer token (Google APIs take one in the query).
// `SigninToken`: an AWS console federation link (signin.aws.amazon.com/federation?Action=login&…),
// which signs its holder in for the session's lifetime; responders paste such links by mistake.
const SIGNING_PARAMETERS = 'sig|signature|x-amz-signature|x-amz-security-token|x-goog-signature|access_token|refresh_token|client_secret|signintoken';

// A parameter starts after `?` or `&`, also as a URL quoted inside other text writes them: XML
// (`&amp;`), JSON (`\u0026`) or percent-encoded (`%3F`, `%26`, `%3D`), as an error body that
// quotes a URL it was given may.
const PARAMETER_START = '(?:[?&]|&amp;|\\\\u0026|%26|%3F)';

/** What an earlier mask left in place of a token (src/providers/aws/call-aws.ts): as a whole value, nothing to cut. */
const EARLIER_MASK = '[not kept]';

/**
 * A signing parameter with its value (the value is group 2), as `SIGNED_QUERY` finds one. A value
 * that starts with {@link EARLIER_MASK} runs on through its space, so the mask is seen whole.
 */
const SIGNED_PARAMETER_ALL = new RegExp(`(${PARAMETER_START}(?:${SIGNING_PARAMETERS})(?:=|%3D))(\\[not kept\\][^&#\\s"'<>]*|[^&#\\s"'<>]+)`, 'gi');

const OPENING: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' };

/**
 * How much of a signing value to cut: all of it, brackets too (an Azure AD client secret may hold
 * `[`, `(` or `{`), but not closing brackets at its end that it did not open, which close the
 * text around the URL (`(see https://…?sig=…)`).
 */
function valueLength(value: string): number {
  // Counted once and kept up to date as closings are trimmed: the value may be text a target
  // controls, and counting again for every bracket trimmed is quadratic in a long run of them.
  const count = new Map<string, number>();
  for (const ch of value) count.set(ch, (count.get(ch) ?? 0) + 1);
  let end = value.length;
  for (;;) {
    const closing = value[end - 1] ?? '';
    const opening = OPENING[closing];
    if (opening === undefined) return end;
    if ((count.get(closing) ?? 0) <= (count.get(opening) ?? 0)) return end;
    count.set(closing, count.get(closing)! - 1);
    end -= 1;
  }
}

/** `text` with every signing parameter's value replaced by `marker`. */
function cutSigningValues(text: string, marker: string): string {
  return text.replace(SIGNED_PARAMETER_ALL, (all: string, name: string, value: string) => {
    if (value === EARLIER_MASK) return all;
    return `${name}${marker}${value.slice(valueLength(value))}`;
  });
}

/** A query (or a bare `?…&…` fragment) with a signing parameter that has a value. */
const SIGNED_QUERY = new RegExp(`${PARAMETER_START}(?:${SIGNING_PARAMETERS})(?:=|%3D)[^&#\\s]`, 'i');

/** A `?` (or `%3F`) and the query text after it, up to whitespace, a quote or a bracket. */
const QUERY_TEXT = /(?:\?|%3F)[^\s"'<>()[\]{}]*/gi;

/**
 * The schemes whose URLs carry a user's password: web, file transfer, and the database and broker
 * URLs an application's environment holds (`postgres://app:password@db:5432/app`). Not any
 * scheme: `docker-pullable://nginx:1.25@sha256:…` is an image reference, not a password.
 */
const PASSWORD_SCHEMES = '(?:https?|wss?|s?ftps?|postgres(?:ql)?|mysql|mariadb|mongodb(?:\\+srv)?|rediss?|amqps?|mssql|sqlserver|smtps?|ldaps?)';

/** A URL with a password, after a user name or none (`https://user:password@host`, `redis://:password@host`). */
const URL_PASSWORD = new RegExp(`\\b${PASSWORD_SCHEMES}:\\/\\/[^/\\s:@]*:[^/\\s@]*@`, 'i');
const URL_PASSWORD_ALL = new RegExp(URL_PASSWORD.source, 'gi');

/** Whether `text` holds a signed URL's query (a SAS, a presigned or signed URL). */
export function hasSignedQuery(text: string): boolean {
  return SIGNED_QUERY.test(text);
}

/** Whether `text` holds a URL with a password in it. */
export function hasUrlPassword(text: string): boolean {
  return text.includes('@') && URL_PASSWORD.test(text);
}

/**
 * `text` with every query that carries a signature or token replaced by `?…`, and every URL's
 * user name and password by `…@`, so an error that quotes the URL it failed on still names the
 * resource. Other queries are kept (`?api-version=…` says which API answered).
 */
export function withoutUrlCredentials(text: string): string {
  let out = text;
  // Each value goes first, whole: QUERY_TEXT stops at a bracket or quote, so a query cut short
  // there (`?a=(1)&sig=…`) leaves its signing parameter outside the text it finds, and a value
  // that holds a bracket (`client_secret=J8.x(…)`) would keep what follows the bracket.
  if (hasSignedQuery(out)) out = cutSigningValues(out, '…');
  if (hasSignedQuery(out)) out = out.replace(QUERY_TEXT, (query) => (SIGNED_QUERY.test(query) ? '?…' : query));
  if (hasUrlPassword(out)) out = out.replace(URL_PASSWORD_ALL, (url) => `${url.slice(0, url.indexOf('//') + 2)}…@`);
  return out;
}

/** A URL's password (group 2) after its scheme and user name (group 1). */
const URL_PASSWORD_PART_ALL = new RegExp(`\\b(${PASSWORD_SCHEMES}:\\/\\/[^/\\s:@]*:)([^/\\s@]*)(?=@)`, 'gi');

/**
 * `text` with the value of every signing parameter (`sig=`, `X-Amz-Signature=`,
 * `X-Goog-Signature=`, `access_token=`, …) and every URL's password replaced by `marker`, the
 * rest kept as it was: the account, path, permissions and expiry of a SAS stay readable, and
 * without its signature it grants nothing. For evidence that quotes a URL (src/core/redact-json.ts).
 */
export function redactUrlCredentials(text: string, marker: string): string {
  let out = text;
  if (hasSignedQuery(out)) out = cutSigningValues(out, marker);
  if (hasUrlPassword(out)) out = out.replace(URL_PASSWORD_PART_ALL, (_all, before: string) => `${before}${marker}`);
  return out;
}

/**
 * Why a configured URL must not be used, or undefined when it is fine: a user name or password,
 * or a signature in its query. Says what is wrong without repeating the secret.
 */
export function urlCredentialProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined; // not a URL: the field's own check says so
  }
  if (parsed.username || parsed.password) return 'must not carry a user name or password (it would be written to the ledger)';
  if (hasSignedQuery(parsed.search)) return 'must not carry a signature or token in its query (a SAS or signed URL is a credential and would be written to the ledger)';
  return undefined;
}
