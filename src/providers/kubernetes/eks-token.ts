/**
 * EKS bearer tokens: `k8s-aws-v1.` + base64url (no padding) of a presigned STS
 * GetCallerIdentity URL signed with the header `x-k8s-aws-id: <cluster>`, as aws-iam-authenticator
 * mints them. EKS accepts one for 15 minutes from its `X-Amz-Date`; `X-Amz-Expires=60` is ignored.
 * The token carries the session token of the signing credentials: it is a credential and never
 * reaches a log, the ledger or the case folder.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { KubeConfig, User } from '@kubernetes/client-node';

// client-node does not export its Authenticator interface; take it from addAuthenticator.
type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
export const EKS_TOKEN_VALIDITY_MS = 15 * 60_000;
/** Mint a new token this long before the old one lapses (a long log download outlives it). */
export const EKS_TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** The authProvider name the custom authenticator answers to. */
export const EKS_AUTH_PROVIDER = 'cloud-custody-eks';

// A SHA-256 for the signer from node:crypto (HMAC when given a secret), so no extra package.
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash =
      secret === undefined
        ? createHash('sha256')
        : createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(secret as Uint8Array));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : Buffer.from(data as Uint8Array));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

export interface MintEksTokenInput {
  /** The EKS cluster name: the value of `x-k8s-aws-id`. */
  clusterName: string;
  /** Region of the regional STS endpoint the URL targets (the cluster's region). */
  region: string;
  credentials: AwsCredentialIdentity;
  /** Another STS endpoint (the lab); defaults to `https://sts.<region>.amazonaws.com`. */
  stsEndpoint?: string;
  now?: Date;
}

export interface EksToken {
  token: string;
  /** When EKS stops accepting it. */
  expiresAt: Date;
}

/**
 * Mints an EKS token from the collector role's credentials in the cluster's account.
 *
 * @example
 * const { token } = await mintEksToken({ clusterName: 'prod', region: 'us-east-1', credentials });
 */
export async function mintEksToken(input: MintEksTokenInput): Promise<EksToken> {
  const endpoint = new URL(input.stsEndpoint ?? `https://sts.${input.region}.amazonaws.com`);
  const signer = new SignatureV4({ service: 'sts', region: input.region, credentials: input.credentials, sha256: NodeSha256 });
  const now = input.now ?? new Date();
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: endpoint.host, 'x-k8s-aws-id': input.clusterName },
    },
    { expiresIn: 60, signingDate: now },
  );
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const url = `${endpoint.protocol}//${endpoint.host}/?${query}`;
  // The signing date is truncated to whole seconds in X-Amz-Date, so count from there.
  const signedAt = Math.floor(now.getTime() / 1000) * 1000;
  return {
    token: EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url'),
    expiresAt: new Date(signedAt + EKS_TOKEN_VALIDITY_MS),
  };
}

/**
 * A client-node authenticator that puts a fresh EKS token on every request, minting a new one
 * when the cached token is within `EKS_TOKEN_REFRESH_MARGIN_MS` of its end. Register it with
 * `kc.addAuthenticator()` for a user whose `authProvider.name` is `EKS_AUTH_PROVIDER`.
 */
export class EksAuthenticator implements Authenticator {
  private cached: EksToken | undefined;
  private pending: Promise<EksToken> | undefined;
  /** How many tokens were minted (for the record: refreshes happen). */
  minted = 0;

  constructor(
    private readonly mint: () => Promise<EksToken>,
    private readonly now: () => number = Date.now,
  ) {}

  isAuthProvider(user: User): boolean {
    return user.authProvider?.name === EKS_AUTH_PROVIDER;
  }

  async applyAuthentication(_user: User, opts: Parameters<Authenticator['applyAuthentication']>[1]): Promise<void> {
    const token = await this.token();
    // client-node always hands a header object here (applyAuthorizationHeader creates one).
    const target = opts as { headers?: Record<string, unknown> };
    target.headers ??= {};
    target.headers.Authorization = `Bearer ${token.token}`;
  }

  /** The current token, minting a new one when it is close to its end. */
  async token(): Promise<EksToken> {
    if (this.cached && this.cached.expiresAt.getTime() - EKS_TOKEN_REFRESH_MARGIN_MS > this.now()) return this.cached;
    this.pending ??= this.mint().then(
      (token) => {
        this.cached = token;
        this.minted += 1;
        this.pending = undefined;
        return token;
      },
      (error: unknown) => {
        this.pending = undefined;
        throw error;
      },
    );
    return this.pending;
  }
}
