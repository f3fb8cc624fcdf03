/**
 * How the lab reads an EKS bearer token: `k8s-aws-v1.` + base64url (no padding) of a presigned
 * STS GetCallerIdentity URL whose signed headers include `x-k8s-aws-id`. With the signer's secret
 * the lab re-computes the SigV4 signature (with its own cluster name as `x-k8s-aws-id`, as STS
 * would when EKS forwards the URL), so a token minted for another cluster fails.
 */
import { createHash, createHmac } from 'node:crypto';

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** EKS accepts a token for 15 minutes after `X-Amz-Date`, whatever `X-Amz-Expires` says. */
export const EKS_TOKEN_LIFETIME_MS = 15 * 60 * 1000;

export interface DecodedEksToken {
  url: URL;
  accessKeyId: string;
  signedAt: Date;
  region: string;
  signedHeaders: string[];
}

/** Decodes and checks the structure; returns a reason string when the token is malformed. */
export function decodeEksToken(token: string): DecodedEksToken | string {
  if (!token.startsWith(EKS_TOKEN_PREFIX)) return 'missing k8s-aws-v1. prefix';
  const body = token.slice(EKS_TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return 'not base64url without padding';
  let url: URL;
  try {
    url = new URL(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return 'does not decode to a URL';
  }
  const q = url.searchParams;
  if (q.get('Action') !== 'GetCallerIdentity' || q.get('Version') !== '2011-06-15') return 'not an STS GetCallerIdentity request';
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return 'not SigV4 presigned';
  const credential = q.get('X-Amz-Credential')?.split('/') ?? [];
  if (credential.length !== 5 || credential[3] !== 'sts' || credential[4] !== 'aws4_request') return 'credential scope is not sts';
  const signedHeaders = (q.get('X-Amz-SignedHeaders') ?? '').split(';');
  if (!signedHeaders.includes('x-k8s-aws-id')) return 'x-k8s-aws-id is not a signed header';
  if (!/^[0-9a-f]{64}$/.test(q.get('X-Amz-Signature') ?? '')) return 'no signature';
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(q.get('X-Amz-Date') ?? '');
  if (!date) return 'no X-Amz-Date';
  const signedAt = new Date(Date.UTC(+date[1]!, +date[2]! - 1, +date[3]!, +date[4]!, +date[5]!, +date[6]!));
  return { url, accessKeyId: credential[0] ?? '', signedAt, region: credential[2] ?? '', signedHeaders };
}

const sha256Hex = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Re-computes the presigned URL's signature as STS would, with `x-k8s-aws-id: clusterName`.
 * Written from the SigV4 specification, independently of the SDK signer the provider uses.
 */
export function verifyEksSignature(decoded: DecodedEksToken, clusterName: string, secretAccessKey: string): boolean {
  const q = decoded.url.searchParams;
  const params = [...q.entries()].filter(([k]) => k !== 'X-Amz-Signature').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalQuery = params.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
  const headerValues: Record<string, string> = { host: decoded.url.host, 'x-k8s-aws-id': clusterName };
  const canonicalHeaders = decoded.signedHeaders.map((h) => `${h}:${headerValues[h] ?? ''}\n`).join('');
  const canonicalRequest = ['GET', decoded.url.pathname || '/', canonicalQuery, canonicalHeaders, decoded.signedHeaders.join(';'), sha256Hex('')].join('\n');
  const amzDate = q.get('X-Amz-Date') ?? '';
  const scope = (q.get('X-Amz-Credential') ?? '').split('/').slice(1).join('/');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const [day = '', region = '', service = ''] = scope.split('/');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), service), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign).digest('hex') === q.get('X-Amz-Signature');
}
