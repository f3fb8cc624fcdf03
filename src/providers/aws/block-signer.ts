/**
 * SigV4 for GetSnapshotBlock alone: a GET with no body, one query parameter (`blockToken`) and the
 * `host` header, which a disk hash sends for every written 512 KiB block. `@smithy/signature-v4`
 * signs any request: it clones the request, walks and sorts its headers, looks its signing key up
 * under an HMAC of the credentials and hashes through promises: ~30 µs of CPU and ~15 KiB of
 * garbage a block more than this, on a hash thread (bench/README.md, bench:hash), on the thread
 * whose spare CPU the whole-disk digest competes with. This signs the one shape with the same
 * rules (AWS's Signature Version 4: canonical request, string to sign, HMAC chain), and
 * block-signer.test.ts holds its headers equal to the SDK signer's over many requests — the lab
 * does not verify signatures, so that test is what guards it before EBS checks the result.
 *
 * Same choices as the SDK's signer as the block client configured it: the path's segments are
 * normalised and URI-escaped again (`uriEscapePath`), the payload is the empty body's SHA-256 and
 * is not sent as a header (`applyChecksum: false`), a session token is sent and signed.
 */
import { createHash, createHmac } from 'node:crypto';

/** SHA-256 of an empty payload: a GET has no body. */
const EMPTY_PAYLOAD_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ALGORITHM = 'AWS4-HMAC-SHA256';

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** RFC 3986 escaping as SigV4 wants it: encodeURIComponent leaves `!'()*` alone, SigV4 escapes them. */
export function escapeSigV4(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The canonical URI of `path` as the SDK's signer makes it with `uriEscapePath`: empty and `.`
 * segments dropped, `..` removes the segment before it, each segment escaped again, the leading
 * and (if any segment is left) trailing slash kept.
 */
export function canonicalPath(path: string): string {
  const kept: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') kept.pop();
    else kept.push(escapeSigV4(segment));
  }
  return `${path.startsWith('/') ? '/' : ''}${kept.join('/')}${kept.length > 0 && path.endsWith('/') ? '/' : ''}`;
}

/**
 * A header value as the SDK's signer canonicalises it: line breaks made spaces, runs of spaces
 * and tabs made one space, then one space dropped at each end (not every kind of whitespace:
 * `\s` would also fold a no-break space, and the signature would differ from the SDK's).
 */
const canonicalValue = (value: string) => value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');

/** `YYYYMMDDTHHMMSSZ` of `date`. */
function amzDate(date: Date): string {
  const iso = date.toISOString(); // 2026-12-02T21:59:22.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

export class BlockSigner {
  private readonly region: string;
  private readonly service: string;
  /** The last signing key: it changes only with the secret and the UTC day. */
  private key: { secret: string; day: string; bytes: Buffer } | undefined;

  // No parameter properties: the hash threads load this file as it is, types stripped by Node.
  constructor(region: string, service = 'ebs') {
    this.region = region;
    this.service = service;
  }

  /**
   * The headers to send a GET of `path?{name}={value}` to `host` with: `host`, `x-amz-date`,
   * `x-amz-security-token` (with a session) and `authorization`. `query` is the escaped query
   * string to send, `{name}={escaped value}`.
   */
  sign(path: string, query: { name: string; value: string }, host: string, credentials: SigningCredentials, now: Date = new Date()): { headers: Record<string, string>; query: string } {
    if (typeof credentials?.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string') throw new Error('GetSnapshotBlock: the credentials resolved are not valid (no access key id or secret)');
    const longDate = amzDate(now);
    const day = longDate.slice(0, 8);
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const escapedQuery = `${escapeSigV4(query.name)}=${escapeSigV4(query.value)}`;
    const token = credentials.sessionToken;
    const signedHeaders = token ? 'host;x-amz-date;x-amz-security-token' : 'host;x-amz-date';
    const canonicalHeaders = `host:${canonicalValue(host)}\nx-amz-date:${longDate}\n${token ? `x-amz-security-token:${canonicalValue(token)}\n` : ''}`;
    const canonicalRequest = `GET\n${canonicalPath(path)}\n${escapedQuery}\n${canonicalHeaders}\n${signedHeaders}\n${EMPTY_PAYLOAD_SHA256}`;
    const stringToSign = `${ALGORITHM}\n${longDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const signature = createHmac('sha256', this.signingKey(credentials.secretAccessKey, day)).update(stringToSign).digest('hex');
    const headers: Record<string, string> = { host, 'x-amz-date': longDate };
    if (token) headers['x-amz-security-token'] = token;
    headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return { headers, query: escapedQuery };
  }

  private signingKey(secret: string, day: string): Buffer {
    if (this.key?.secret === secret && this.key.day === day) return this.key.bytes;
    const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
    const bytes = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), this.region), this.service), 'aws4_request');
    this.key = { secret, day, bytes };
    return bytes;
  }
}
