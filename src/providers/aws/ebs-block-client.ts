/**
 * GetSnapshotBlock without the SDK's per-request machinery. A disk hash sends one request per
 * 512 KiB block, thousands a second; through `@aws-sdk/client-ebs` each one paid for the
 * middleware stack, the response deserialiser, a body stream and Node's HTTP client, which
 * capped the reader near 600 blocks a second on a 2-core machine (bench/README.md, bench:hash).
 * Here a request is signed by block-signer.ts (SigV4 for this one request shape, held equal to
 * the SDK's signer by a test) and sent over keep-alive connections that read the block's bytes
 * straight into the caller's buffer (block-http.ts). ListSnapshotBlocks (one request per 10,000 blocks) stays on the SDK.
 *
 * Everything else is the SDK client's: its region, endpoint (config `aws.endpoints.ebs`, or
 * `AWS_ENDPOINT_URL_EBS`, or the partition's own), credentials provider (so a session renewed
 * after `ExpiredTokenException` is used by the next request) and `maxAttempts`. Errors are shaped
 * like the SDK's (`name` = EBS's error code, `$metadata.requestId`), so `callAws` maps them to
 * the same `CustodyError`s and renews an expired session the same way. The clock is corrected as
 * the SDK's signer corrects it: every answer's `Date` sets the client's clock offset (started
 * from the SDK client's), and a refusal that moved it past the SDK's threshold is retried (after
 * the usual back-off, as the SDK does) with the corrected time, so a machine whose clock is off
 * still reads its disks. Retries follow the SDK's
 * standard strategy: throttling, 5xx and broken connections, up to `maxAttempts`, with full-jitter
 * exponential back-off (500 ms base for throttling, 100 ms otherwise, at most 20 s). The adaptive
 * mode's client-side rate limiter is not reproduced: GetSnapshotBlock is paced to EBS's published
 * rates before it is sent (request-pacer.ts).
 */
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { EBSClient } from '@aws-sdk/client-ebs';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { BlockHttpPool } from './block-http.js';
import type { BlockSigner } from './block-signer.js';

// The connections (block-http.ts), the signer (block-signer.ts) and the clock-offset rules the
// SDK's signer follows (aws-clock.ts, shared with the lean EC2 sender), loaded with the first client
// that sends: the hash threads send, so the main thread never loads them. By URL, because the
// threads load this file as it is (its TypeScript source under the tests, with Node stripping
// the types), where a relative `.js` import would not resolve.
type BlockHttp = typeof import('./block-http.js');
type BlockSigning = typeof import('./block-signer.js');
// The clock: AWS's skew rules (aws-clock.ts) with the cloud-free offset of an answer (core).
type AwsClock = typeof import('./aws-clock.js') & typeof import('../../core/clock-offset.js');
const sibling = (name: string) => new URL(`./${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
let sendingModules: Promise<[BlockHttp, BlockSigning, AwsClock]> | undefined;
const loadSendingModules = () =>
  (sendingModules ??= Promise.all([
    import(sibling('block-http')) as Promise<BlockHttp>,
    import(sibling('block-signer')) as Promise<BlockSigning>,
    import(sibling('aws-clock')) as Promise<typeof import('./aws-clock.js')>,
    import(sibling('../../core/clock-offset')) as Promise<typeof import('../../core/clock-offset.js')>,
  ]).then(([http, signing, skew, offset]): [BlockHttp, BlockSigning, AwsClock] => [http, signing, { ...skew, ...offset }]));

/** What a GetSnapshotBlock answered, shaped like the SDK's output (minus the body, which is in `into`). */
export interface BlockResponse {
  /** Bytes written into the caller's buffer. */
  length: number;
  Checksum: string | undefined;
  ChecksumAlgorithm: string | undefined;
  DataLength: number | undefined;
  $metadata: { httpStatusCode: number; requestId: string | undefined; attempts: number };
}

export interface GetBlockInput {
  SnapshotId: string;
  BlockIndex: number;
  BlockToken: string;
}

/** Connections one client keeps to EBS at most; each disk has at most 24 requests in flight (disk-hash.ts). */
const MAX_CONNECTIONS = 64;
const MAX_BACKOFF_MS = 20_000;
const THROTTLING_BACKOFF_BASE_MS = 500;
const BACKOFF_BASE_MS = 100;

/** An error as the SDK throws them: `name` is the service's code, `$metadata` has the request id. */
export interface EbsServiceError extends Error {
  $fault: 'client' | 'server';
  $metadata: { httpStatusCode?: number; requestId?: string; attempts?: number; clockSkewCorrected?: true };
  /** EBS's `Reason` (e.g. `SNAPSHOT_NOT_FOUND`), when it sent one. */
  Reason?: string;
}

function serviceError(status: number, headers: Record<string, string | undefined>, body: Buffer, requestId: string | undefined): EbsServiceError {
  let parsed: Record<string, unknown> = {};
  try {
    const json = JSON.parse(body.toString('utf8')) as unknown;
    if (json && typeof json === 'object') parsed = json as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's page, an empty body): the status names the failure.
  }
  const header = headers['x-amzn-errortype'];
  const typed = header ?? (parsed.__type as string | undefined) ?? (parsed.code as string | undefined) ?? (parsed.Code as string | undefined);
  // `x-amzn-ErrorType: Code:http://…` and `__type: namespace#Code` both end in the code.
  const code = typed ? (typed.split(':')[0]!.split('#').pop() ?? typed) : status === 429 ? 'TooManyRequestsException' : `Http${status}`;
  const message = (parsed.message as string | undefined) ?? (parsed.Message as string | undefined) ?? `GetSnapshotBlock answered HTTP ${status}`;
  const error = new Error(message) as EbsServiceError;
  error.name = code;
  error.$fault = status >= 500 ? 'server' : 'client';
  error.$metadata = { httpStatusCode: status, ...(requestId ? { requestId } : {}) };
  if (typeof parsed.Reason === 'string') error.Reason = parsed.Reason;
  return error;
}

const requestIdOf = (headers: Record<string, string | undefined>) =>
  headers['x-amzn-requestid'] ?? headers['x-amzn-request-id'] ?? headers['x-amz-request-id'];

/** Whether the SDK's standard retry strategy would try `error` again, by the SDK's own classifiers. */
function retryable(error: unknown): 'throttling' | 'transient' | undefined {
  const e = error as Parameters<typeof isThrottlingError>[0] & { name?: string };
  if (e.name === 'AbortError') return undefined;
  if (isThrottlingError(e)) return 'throttling';
  // Connection failures carry Node's socket codes (ECONNRESET, ETIMEDOUT, …), which the SDK's classifier knows.
  if (isTransientError(e) || isServerError(e)) return 'transient';
  return undefined;
}

function sleep(ms: number, signal: AbortSignal | undefined, abortError: (signal: AbortSignal) => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Resolved {
  signer: BlockSigner;
  clock: AwsClock;
  pool: BlockHttpPool;
  /** block-http.ts's error for a cancelled request, so a cancelled wait between attempts fails alike. */
  abortError: (signal: AbortSignal) => Error;
  /** The endpoint's path prefix without a trailing slash ('' for AWS's own endpoints). */
  basePath: string;
  host: string;
  maxAttempts: number;
}

/** The parts of an SDK client's resolved config this reader uses. */
interface SdkConfig {
  region: () => Promise<string>;
  credentials: () => Promise<AwsCredentialIdentity>;
  maxAttempts: () => Promise<number>;
  useFipsEndpoint: () => Promise<boolean>;
  useDualstackEndpoint: () => Promise<boolean>;
  endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path: string }>;
  serviceConfiguredEndpoint?: () => Promise<string | undefined>;
  endpointProvider: (params: Record<string, unknown>) => { url: URL };
  /** Kept up to date by the SDK's signer from AWS's `Date` answers. */
  systemClockOffset?: number;
}

/** Where and how GetSnapshotBlock is sent: plain data, so a hash thread can be given it. */
export interface BlockEndpoint {
  region: string;
  /** The endpoint's URL (a custom endpoint may have a path prefix). */
  url: string;
  maxAttempts: number;
  /** The SDK client's clock offset (ms to add to the local clock) when the endpoint was read. */
  clockOffsetMs: number;
}

/** What a block client is made of: its endpoint and its credentials (asked at every request, as the SDK does). */
export interface BlockClientSource {
  endpoint(): Promise<BlockEndpoint>;
  credentials: () => Promise<AwsCredentialIdentity>;
}

/** The endpoint, region and attempts the SDK client would send GetSnapshotBlock with. */
export async function blockEndpointOf(sdk: EBSClient): Promise<BlockEndpoint> {
  const config = sdk.config as unknown as SdkConfig;
  const region = await config.region();
  let url: string;
  if (config.endpoint) {
    const e = await config.endpoint();
    url = `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path}`;
  } else {
    const configured = await config.serviceConfiguredEndpoint?.();
    if (configured) url = configured;
    else {
      const [UseFIPS, UseDualStack] = await Promise.all([config.useFipsEndpoint(), config.useDualstackEndpoint()]);
      url = config.endpointProvider({ Region: region, UseFIPS, UseDualStack }).url.href;
    }
  }
  return { region, url, maxAttempts: Math.max(1, await config.maxAttempts()), clockOffsetMs: config.systemClockOffset ?? 0 };
}

/** A block client's source made of an SDK client's settings. */
export function sourceOfSdk(sdk: EBSClient): BlockClientSource {
  const config = sdk.config as unknown as SdkConfig;
  return { endpoint: () => blockEndpointOf(sdk), credentials: config.credentials };
}

/** GetSnapshotBlock over one SDK client's settings (see the file's comment), or over a source of the same settings (a hash thread's). */
export class EbsBlockClient {
  private resolved: Promise<Resolved> | undefined;
  private destroyed = false;
  private readonly source: BlockClientSource;
  /** Milliseconds to add to the local clock to sign with AWS's time (as the SDK's `systemClockOffset`). */
  private clockOffset = 0;

  // No parameter properties: the hash threads load this file as it is, types stripped by Node.
  constructor(from: EBSClient | BlockClientSource) {
    this.source = 'send' in from ? sourceOfSdk(from) : from;
  }

  private resolve(): Promise<Resolved> {
    this.resolved ??= (async () => {
      const { region, url, maxAttempts, clockOffsetMs } = await this.source.endpoint();
      this.clockOffset = clockOffsetMs ?? 0;
      const endpoint = new URL(url);
      const [{ BlockHttpPool, abortError }, { BlockSigner }, clock] = await loadSendingModules();
      const signer = new BlockSigner(region, 'ebs');
      const pool = new BlockHttpPool(endpoint.origin, { maxConnections: MAX_CONNECTIONS });
      return { signer, clock, pool, abortError, basePath: endpoint.pathname.replace(/\/+$/, ''), host: endpoint.host, maxAttempts };
    })();
    return this.resolved;
  }

  /**
   * Reads one block into `into` (at least a block long), retrying as the SDK would. Throws the
   * last attempt's error, shaped like the SDK's.
   */
  async getBlock(input: GetBlockInput, into: Buffer, signal?: AbortSignal): Promise<BlockResponse> {
    const r = await this.resolve();
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw r.abortError(signal);
      try {
        const response = await this.once(r, input, into, signal);
        response.$metadata.attempts = attempt;
        return response;
      } catch (error) {
        const kind = retryable(error);
        if (!kind || attempt >= r.maxAttempts || this.destroyed) {
          const meta = (error as Partial<EbsServiceError>).$metadata;
          if (meta) meta.attempts = attempt;
          throw error;
        }
        const base = kind === 'throttling' ? THROTTLING_BACKOFF_BASE_MS : BACKOFF_BASE_MS;
        await sleep(Math.floor(Math.min(MAX_BACKOFF_MS, Math.random() * 2 ** attempt * base)), signal, r.abortError);
      }
    }
  }

  private async once(r: Resolved, input: GetBlockInput, into: Buffer, signal: AbortSignal | undefined): Promise<BlockResponse> {
    const path = `${r.basePath}/snapshots/${encodeURIComponent(input.SnapshotId)}/blocks/${encodeURIComponent(String(input.BlockIndex))}`;
    // Credentials are asked for at every request, as the SDK's signer does: a renewed session is used at once.
    const credentials = await this.source.credentials();
    const offset = this.clockOffset;
    const sentAt = Date.now();
    const signed = r.signer.sign(path, { name: 'blockToken', value: input.BlockToken }, r.host, credentials, new Date(sentAt + offset));
    const answer = await r.pool.get(`${path}?${signed.query}`, signed.headers, into, signal);
    const corrected = this.sampleClock(r.clock, answer.headers, sentAt, offset);
    const requestId = requestIdOf(answer.headers);
    if (answer.errorBody) {
      const error = serviceError(answer.status, answer.headers, answer.errorBody, requestId);
      // As the SDK: a refusal that corrected a skewed clock is retried (its classifier reads this flag).
      if (corrected) error.$metadata.clockSkewCorrected = true;
      throw error;
    }
    const declared = answer.headers['x-amz-data-length'];
    return {
      length: answer.length,
      Checksum: answer.headers['x-amz-checksum'],
      ChecksumAlgorithm: answer.headers['x-amz-checksum-algorithm'],
      DataLength: declared === undefined ? undefined : Number(declared),
      $metadata: { httpStatusCode: answer.status, requestId, attempts: 1 },
    };
  }

  /** As the SDK's signer (aws-clock.ts): AWS's `Date` sets the clock offset. True when it corrected a skewed clock. */
  private sampleClock(clock: AwsClock, headers: Record<string, string | undefined>, sentAt: number, signedWith: number): boolean {
    const offset = clock.offsetFromAnswer(headers['date'], headers['age'], sentAt);
    if (offset === undefined) return false;
    this.clockOffset = offset;
    return clock.correctsSkew(offset, signedWith);
  }

  /** Closes the connections (idle ones do not hold the process open either way). */
  async destroy(): Promise<void> {
    this.destroyed = true;
    const r = await this.resolved?.catch(() => undefined);
    await r?.pool.close().catch(() => undefined);
  }
}

const clients = new WeakMap<EBSClient, EbsBlockClient>();

/** The block client over `sdk`'s settings, one per SDK client (so one connection pool per account and region). */
export function blockClientFor(sdk: EBSClient): EbsBlockClient {
  let client = clients.get(sdk);
  if (!client) {
    client = new EbsBlockClient(sdk);
    clients.set(sdk, client);
  }
  return client;
}
