/**
 * A URL can be a credential: whoever holds an Azure SAS URL (`sig=`), an S3 presigned URL
 * (`X-Amz-Signature=`, with a session's `X-Amz-Security-Token=`) or a Cloud Storage signed URL
 * (`X-Goog-Signature=`; the older forms `Signature=`) holds the access it grants until it
 * expires, a URL with `access_token=` holds a bearer token, and `https://user:password@host`
 * carries a password. None of them may reach a log, the
 * ledger or the case folder, which outlive the incident and travel to counsel. These helpers
 * find them (the ledger's credential guard refuses such a value; configuration refuses such a
 * URL) and cut them out of error text, which is where a provider puts a URL it was given.
 */

// The query parameters that carry a signature or a token, whatever cloud signed the URL; OAuth's
// `access_token` is a bearer token (Google APIs take one in the query).
const SIGNING_PARAMETERS = 'sig|signature|x-amz-signature|x-amz-security-token|x-goog-signature|access_token|refresh_token|client_secret';

/** A query (or a bare `?…&…` fragment) with a signing parameter that has a value. */
const SIGNED_QUERY = new RegExp(`[?&](?:${SIGNING_PARAMETERS})=[^&#\\s]`, 'i');

/** A `?` and the query text after it, up to whitespace, a quote or a closing bracket. */
const QUERY_TEXT = /\?[^\s"'<>()[\]{}]*/g;

/** Whether `text` holds a signed URL's query (a SAS, a presigned or signed URL). */
export function hasSignedQuery(text: string): boolean {
  return text.includes('?') && SIGNED_QUERY.test(text);
}

/**
 * `text` with every query that carries a signature or session token replaced by `?…`, so an
 * error that quotes the URL it failed on still names the resource. Other queries are kept
 * (`?api-version=…` says which API answered).
 */
export function withoutSignedQueries(text: string): string {
  if (!hasSignedQuery(text)) return text;
  return text.replace(QUERY_TEXT, (query) => (SIGNED_QUERY.test(query) ? '?…' : query));
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
