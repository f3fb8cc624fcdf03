/**
 * A lean sender for the two EC2 calls every target makes (GetConsoleOutput, CreateSnapshots) and
 * the snapshot waiter's poll (DescribeSnapshots by snapshot id).
 *
 * The SDK spends ~1 ms of CPU on each of these calls, most of it in its schema-driven serde and
 * per-call middleware stack (bench/sdk-calls.ts measures it); at hundreds of targets that was the
 * largest block of the collector's CPU. This sender writes these EC2 Query requests by hand
 * and reads the answers with `parseAwsXml` (./xml-parse.ts: the SDK's XML parser's results, faster). Everything else stays the SDK's, taken
 * from the EC2 client it stands beside: the endpoint (the SDK's endpoint rules, including
 * partitions, FIPS, dual-stack and `AWS_ENDPOINT_URL_EC2`, resolved once), the retry strategy
 * instance (so adaptive rate limiting and throttling back-off are shared with that client's
 * other calls), the error classification, the clock-skew offset, and SigV4 signing
 * (`@smithy/signature-v4`). Errors carry what SDK errors carry (`name` = AWS's error code,
 * `message`, `$metadata.requestId`/`httpStatusCode`/`attempts`), so `callAws` maps them the same.
 *
 * Any command or input field it does not know goes to the SDK client unchanged.
 */
import type { Agent as HttpAgent, ClientRequest, IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { request as httpsRequest } from 'node:https';
import { CreateSnapshotsCommand, DescribeSnapshotsCommand, GetConsoleOutputCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type {
  CreateSnapshotsCommandInput,
  CreateSnapshotsCommandOutput,
  DescribeSnapshotsCommandInput,
  DescribeSnapshotsCommandOutput,
  GetConsoleOutputCommandOutput,
  Snapshot,
  SnapshotInfo,
} from '@aws-sdk/client-ec2';
import type { AwsCredentialIdentityProvider, ChecksumConstructor, HashConstructor } from '@aws-sdk/types';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SendsCommands } from './call-aws.js';
import { correctsSkew } from './aws-clock.js';
import { offsetFromAnswer } from '../../core/clock-offset.js';
import { escapeSigV4 } from './block-signer.js';
import { systemClock } from './clock.js';
import { parseAwsXml } from './xml-parse.js';

const API_VERSION = '2016-11-15';

/** RFC 3986 encoding, as the SDK's query serializer writes values (`!'()*` escaped too): SigV4's. */
const encode = escapeSigV4;

type Params = Array<[string, string]>;

/** The query body of a known command, or undefined when it carries a field this sender does not write. */
export function queryBody(command: object): string | undefined {
  let params: Params | undefined;
  if (command instanceof GetConsoleOutputCommand) {
    const { InstanceId, ...rest } = command.input;
    if (Object.keys(rest).length > 0 || !InstanceId) return undefined;
    params = [
      ['Action', 'GetConsoleOutput'],
      ['InstanceId', InstanceId],
    ];
  } else if (command instanceof CreateSnapshotsCommand) {
    params = createSnapshotsParams(command.input);
  } else if (command instanceof DescribeSnapshotsCommand) {
    params = describeSnapshotsParams(command.input);
  }
  if (!params) return undefined;
  params.splice(1, 0, ['Version', API_VERSION]);
  return params.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
}

function createSnapshotsParams(input: CreateSnapshotsCommandInput): Params | undefined {
  const { InstanceSpecification: spec, Description, TagSpecifications, ...rest } = input;
  if (Object.keys(rest).length > 0 || !spec?.InstanceId) return undefined;
  const { InstanceId, ExcludeBootVolume, ExcludeDataVolumeIds, ...restSpec } = spec;
  if (Object.keys(restSpec).length > 0) return undefined;
  const params: Params = [
    ['Action', 'CreateSnapshots'],
    ['InstanceSpecification.InstanceId', InstanceId],
  ];
  if (ExcludeBootVolume !== undefined) params.push(['InstanceSpecification.ExcludeBootVolume', String(ExcludeBootVolume)]);
  (ExcludeDataVolumeIds ?? []).forEach((id, i) => params.push([`InstanceSpecification.ExcludeDataVolumeId.${i + 1}`, id]));
  if (Description !== undefined) params.push(['Description', Description]);
  for (const [s, tagSpec] of (TagSpecifications ?? []).entries()) {
    const { ResourceType, Tags, ...restTagSpec } = tagSpec;
    if (Object.keys(restTagSpec).length > 0) return undefined;
    const prefix = `TagSpecification.${s + 1}`;
    if (ResourceType !== undefined) params.push([`${prefix}.ResourceType`, ResourceType]);
    for (const [t, tag] of (Tags ?? []).entries()) {
      if (tag.Key !== undefined) params.push([`${prefix}.Tag.${t + 1}.Key`, tag.Key]);
      if (tag.Value !== undefined) params.push([`${prefix}.Tag.${t + 1}.Value`, tag.Value]);
    }
  }
  return params;
}

/** The waiter's poll: `Filters` only (the SDK takes anything else). */
function describeSnapshotsParams(input: DescribeSnapshotsCommandInput): Params | undefined {
  const { Filters, ...rest } = input;
  if (Object.keys(rest).length > 0) return undefined;
  const params: Params = [['Action', 'DescribeSnapshots']];
  for (const [f, filter] of (Filters ?? []).entries()) {
    const { Name, Values, ...restFilter } = filter;
    if (Object.keys(restFilter).length > 0) return undefined;
    if (Name !== undefined) params.push([`Filter.${f + 1}.Name`, Name]);
    (Values ?? []).forEach((v, i) => params.push([`Filter.${f + 1}.Value.${i + 1}`, v]));
  }
  return params;
}

type XmlValue = string | XmlObject | XmlValue[];
interface XmlObject {
  [key: string]: XmlValue | undefined;
}

/** The parser gives one child as an object and several as an array; an empty element as ''. */
function items(set: XmlValue | undefined): XmlObject[] {
  if (set === undefined || typeof set === 'string' || Array.isArray(set)) return [];
  const item = set['item'];
  if (item === undefined || item === '') return [];
  return (Array.isArray(item) ? item : [item]).filter((i): i is XmlObject => typeof i === 'object' && !Array.isArray(i));
}

function text(node: XmlObject, key: string): string | undefined {
  const v = node[key];
  return typeof v === 'string' ? v : undefined;
}


type FieldKind = 'string' | 'boolean' | 'number' | 'date' | 'tags';
/** [SDK member, XML element, kind], as the SDK's schema for the shape names them. */
type Fields = ReadonlyArray<readonly [string, string, FieldKind]>;

/** `SnapshotInfo` (CreateSnapshots). */
const SNAPSHOT_INFO: Fields = [
  ['Description', 'description', 'string'],
  ['Tags', 'tagSet', 'tags'],
  ['Encrypted', 'encrypted', 'boolean'],
  ['VolumeId', 'volumeId', 'string'],
  ['State', 'state', 'string'],
  ['VolumeSize', 'volumeSize', 'number'],
  ['StartTime', 'startTime', 'date'],
  ['Progress', 'progress', 'string'],
  ['OwnerId', 'ownerId', 'string'],
  ['SnapshotId', 'snapshotId', 'string'],
  ['OutpostArn', 'outpostArn', 'string'],
  ['SseType', 'sseType', 'string'],
  ['AvailabilityZone', 'availabilityZone', 'string'],
];

/** `Snapshot` (DescribeSnapshots): its state is the element `status`. */
const SNAPSHOT: Fields = [
  ['OwnerAlias', 'ownerAlias', 'string'],
  ['OutpostArn', 'outpostArn', 'string'],
  ['Tags', 'tagSet', 'tags'],
  ['StorageTier', 'storageTier', 'string'],
  ['RestoreExpiryTime', 'restoreExpiryTime', 'date'],
  ['SseType', 'sseType', 'string'],
  ['AvailabilityZone', 'availabilityZone', 'string'],
  ['TransferType', 'transferType', 'string'],
  ['CompletionDurationMinutes', 'completionDurationMinutes', 'number'],
  ['CompletionTime', 'completionTime', 'date'],
  ['FullSnapshotSizeInBytes', 'fullSnapshotSizeInBytes', 'number'],
  ['SnapshotId', 'snapshotId', 'string'],
  ['VolumeId', 'volumeId', 'string'],
  ['State', 'status', 'string'],
  ['StateMessage', 'statusMessage', 'string'],
  ['StartTime', 'startTime', 'date'],
  ['Progress', 'progress', 'string'],
  ['OwnerId', 'ownerId', 'string'],
  ['Description', 'description', 'string'],
  ['VolumeSize', 'volumeSize', 'number'],
  ['Encrypted', 'encrypted', 'boolean'],
  ['KmsKeyId', 'kmsKeyId', 'string'],
  ['DataEncryptionKeyId', 'dataEncryptionKeyId', 'string'],
];

function readShape<T>(item: XmlObject, fields: Fields): T {
  const out: Record<string, unknown> = {};
  for (const [member, xml, kind] of fields) {
    const node = item[xml];
    if (node === undefined) continue;
    if (kind === 'tags') {
      out[member] = items(node).map((t) => ({ Key: text(t, 'key'), Value: text(t, 'value') }));
      continue;
    }
    if (typeof node !== 'string') continue;
    if (kind === 'string') out[member] = node;
    else if (node === '') continue;
    else if (kind === 'boolean') out[member] = node === 'true';
    else if (kind === 'number') out[member] = Number(node);
    else out[member] = new Date(node);
  }
  return out as T;
}

interface Metadata {
  httpStatusCode: number;
  requestId: string | undefined;
  attempts: number;
  totalRetryDelay: number;
  clockSkewCorrected?: true;
}

/** An AWS error answer as SDK errors look to `callAws` and to the SDK's retry classification. */
export interface Ec2QueryError extends Error {
  Code: string;
  $fault: 'client' | 'server';
  $metadata: Metadata;
  $response?: { statusCode: number; headers: Record<string, string | undefined> };
}

function awsError(status: number, headers: IncomingMessage['headers'], body: string): Ec2QueryError {
  let code = `Http${status}`;
  let message = body.slice(0, 300) || `HTTP ${status}`;
  let requestId = headerValue(headers, 'x-amzn-requestid');
  try {
    const parsed = parseAwsXml(body) as XmlObject;
    const response = parsed['Response'];
    if (response && typeof response === 'object' && !Array.isArray(response)) {
      const errors = response['Errors'];
      const error = errors && typeof errors === 'object' && !Array.isArray(errors) ? errors['Error'] : undefined;
      const first = Array.isArray(error) ? error[0] : error;
      if (first && typeof first === 'object' && !Array.isArray(first)) {
        code = text(first, 'Code') ?? code;
        message = text(first, 'Message') ?? message;
      }
      requestId = text(response, 'RequestID') ?? text(response, 'RequestId') ?? requestId;
    }
  } catch {
    // Not XML (a proxy's page, say): the status and the start of the body say what happened.
  }
  const error = new Error(message) as Ec2QueryError;
  error.name = code;
  error.Code = code;
  error.$fault = status >= 500 ? 'server' : 'client';
  error.$metadata = { httpStatusCode: status, requestId, attempts: 1, totalRetryDelay: 0 };
  error.$response = { statusCode: status, headers: { date: headerValue(headers, 'date'), 'retry-after': headerValue(headers, 'retry-after') } };
  return error;
}

function headerValue(headers: IncomingMessage['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

interface Endpoint {
  url: URL;
  headers: Record<string, string>;
}

interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
  $retryLog?: { acquisitionDelay?: number };
}
interface RetryStrategyV2 {
  acquireInitialRetryToken(scope: string): Promise<RetryToken>;
  refreshRetryTokenForRetry(token: RetryToken, info: { errorType: string; error: unknown; retryAfterHint?: Date }): Promise<RetryToken>;
  recordSuccess(token: RetryToken): void;
}

/** What the sender reads from the EC2 client's resolved configuration. */
interface ResolvedEc2Config {
  region: () => Promise<string>;
  /** The SDK's resolved identity provider (memoised, refreshed before expiry). */
  credentials: AwsCredentialIdentityProvider;
  retryStrategy: () => Promise<unknown>;
  systemClockOffset?: number;
  /** The SDK's SHA-256 for SigV4 (node:crypto on Node). */
  sha256: ChecksumConstructor | HashConstructor;
}

export interface Ec2QueryOptions {
  /** The keep-alive agents the SDK clients share. */
  httpAgent: HttpAgent;
  httpsAgent: HttpsAgent;
}

/**
 * Sends GetConsoleOutput, CreateSnapshots and DescribeSnapshots (by filter) itself; every other
 * command goes to `client`.
 *
 * @example
 * const lean = new Ec2QuerySender(ec2, { httpAgent, httpsAgent });
 * const { output, requestId } = await callAws('getConsoleOutput', lean, new GetConsoleOutputCommand({ InstanceId }), { resource: arn });
 */
export class Ec2QuerySender implements SendsCommands {
  private endpoint: Promise<Endpoint> | undefined;
  private signer: Promise<SignatureV4> | undefined;

  constructor(
    private readonly client: EC2Client,
    private readonly options: Ec2QueryOptions,
  ) {}

  private get config(): ResolvedEc2Config {
    return this.client.config as unknown as ResolvedEc2Config;
  }

  async send(command: never, options?: { abortSignal?: AbortSignal }): Promise<unknown> {
    const cmd = command as object;
    const body = queryBody(cmd);
    if (body === undefined) return (this.client.send as (c: object, o?: { abortSignal?: AbortSignal }) => Promise<unknown>)(cmd, options);
    const xml = await this.withRetries(body, options?.abortSignal);
    if (cmd instanceof GetConsoleOutputCommand) return consoleOutput(xml.root, xml.metadata);
    if (cmd instanceof CreateSnapshotsCommand) return createSnapshotsOutput(xml.root, xml.metadata);
    return describeSnapshotsOutput(xml.root, xml.metadata);
  }

  private resolveEndpoint(): Promise<Endpoint> {
    // A copy, as the SDK's endpoint middleware passes one: resolving may note an endpoint from
    // AWS_ENDPOINT_URL_EC2 on the config it is given.
    this.endpoint ??= getEndpointFromInstructions({}, GetConsoleOutputCommand, { ...this.client.config }).then((e) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(e.headers ?? {})) headers[k.toLowerCase()] = v.join(',');
      return { url: e.url, headers };
    });
    return this.endpoint;
  }

  private resolveSigner(): Promise<SignatureV4> {
    this.signer ??= this.config.region().then(
      (region) => new SignatureV4({ service: 'ec2', region, credentials: this.config.credentials, sha256: this.config.sha256 }),
    );
    return this.signer;
  }

  /** The SDK's retry loop (retryMiddleware), with the client's own retry strategy. */
  private async withRetries(body: string, signal: AbortSignal | undefined): Promise<{ root: XmlObject; metadata: Metadata }> {
    signal?.throwIfAborted();
    const strategy = (await this.config.retryStrategy()) as RetryStrategyV2;
    // The strategy's waits end with an abort, as the SDK's retry middleware races them: the first
    // token waits on the adaptive rate limiter (seconds per call after throttling), a retry's on
    // the back-off — a cancelled run must not sit through either for every call it had queued.
    let token = await untilAborted(strategy.acquireInitialRetryToken(''), signal);
    let attempts = 0;
    let totalRetryDelay = 0;
    for (;;) {
      signal?.throwIfAborted();
      try {
        const root = await this.attempt(body, signal);
        strategy.recordSuccess(token);
        return { root, metadata: { httpStatusCode: 200, requestId: text(root, 'requestId'), attempts: attempts + 1, totalRetryDelay } };
      } catch (e) {
        const error = e as Partial<Ec2QueryError>;
        const errorType = isThrottlingError(error as never)
          ? 'THROTTLING'
          : isTransientError(error as never)
            ? 'TRANSIENT'
            : isServerError(error as never)
              ? 'SERVER_ERROR'
              : 'CLIENT_ERROR';
        const retryAfter = error.$response?.headers['retry-after'];
        const hint = retryAfter === undefined ? undefined : retryAfterDate(retryAfter);
        try {
          if (signal?.aborted) throw e;
          token = await untilAborted(strategy.refreshRetryTokenForRetry(token, { error, errorType, ...(hint ? { retryAfterHint: hint } : {}) }), signal);
        } catch (refused) {
          if (refused !== e && signal?.aborted) throw refused;
          if (error.$metadata) {
            error.$metadata.attempts = attempts + 1;
            error.$metadata.totalRetryDelay = totalRetryDelay;
          }
          throw e;
        }
        attempts = token.getRetryCount();
        const delay = token.getRetryDelay();
        totalRetryDelay += (token.$retryLog?.acquisitionDelay ?? 0) + delay;
        if (delay > 0) await systemClock.sleep(delay, signal);
      }
    }
  }

  private async attempt(body: string, signal: AbortSignal | undefined): Promise<XmlObject> {
    const [endpoint, signer] = await Promise.all([this.resolveEndpoint(), this.resolveSigner()]);
    const { url } = endpoint;
    const offset = this.config.systemClockOffset ?? 0;
    const signed = await signer.sign(
      {
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: {},
        headers: {
          ...endpoint.headers,
          host: url.host,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'cloud-custody (ec2-query)',
        },
        body,
      },
      { signingDate: new Date(Date.now() + offset) },
    );
    const sentAt = Date.now();
    const { status, headers, text: answer } = await post(url, signed.headers, body, url.protocol === 'https:' ? this.options.httpsAgent : this.options.httpAgent, signal);
    const corrected = this.sampleClock(headers, sentAt, offset);
    if (status < 200 || status >= 300) {
      const error = awsError(status, headers, answer);
      if (corrected) error.$metadata.clockSkewCorrected = true;
      throw error;
    }
    const parsed = parseAwsXml(answer) as XmlObject;
    const rootName = Object.keys(parsed)[0];
    const root = rootName === undefined ? undefined : parsed[rootName];
    if (!root || typeof root !== 'object' || Array.isArray(root)) throw new Error(`EC2 answered HTTP ${status} with no XML document`);
    return root;
  }

  /** As the SDK's SigV4 signer (aws-clock.ts): AWS's `Date` header sets the client's clock offset. True when it corrected a skewed clock. */
  private sampleClock(headers: IncomingMessage['headers'], sentAt: number, before: number): boolean {
    const offset = offsetFromAnswer(headerValue(headers, 'date'), headers['age'], sentAt);
    if (offset === undefined) return false;
    this.config.systemClockOffset = offset;
    return correctsSkew(offset, before);
  }
}

function retryAfterDate(value: string): Date | undefined {
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return new Date(Date.now() + seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : new Date(at);
}

/**
 * What waits on an abort signal (requests in flight, the retry strategy's waits), with one abort
 * listener per signal. Node's `signal` option
 * adds a listener per request, and an EventTarget compares every listener it holds with the new
 * one before adding it: with hundreds of requests in flight on the run's one signal that walk cost
 * ~0.1 ms of CPU per target at 1,000 targets, and more the more targets.
 */
const onAbort = new WeakMap<AbortSignal, Set<() => void>>();

/** Runs `then` when `signal` aborts (one listener per signal); returns what forgets it. */
function whenAborted(signal: AbortSignal, then: () => void): () => void {
  let waiting = onAbort.get(signal);
  if (!waiting) {
    const all = new Set<() => void>();
    waiting = all;
    onAbort.set(signal, all);
    signal.addEventListener(
      'abort',
      () => {
        for (const run of all) run();
        all.clear();
      },
      { once: true },
    );
  }
  const own = waiting;
  own.add(then);
  return () => own.delete(then);
}

/** `promise`, or the AbortError when `signal` aborts first (what `promise` settles to later is dropped). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError(signal));
      return;
    }
    const forget = whenAborted(signal, () => reject(abortError(signal)));
    promise.then(
      (value) => {
        forget();
        resolve(value);
      },
      (error: unknown) => {
        forget();
        reject(error);
      },
    );
  });
}

/** What Node's `signal` option does on abort: the request is destroyed with an `AbortError`. */
function abortError(signal: AbortSignal): Error {
  const error = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string };
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}

function watchAbort(signal: AbortSignal, req: ClientRequest): void {
  req.once('close', whenAborted(signal, () => req.destroy(abortError(signal))));
}

function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  agent: HttpAgent | HttpsAgent,
  signal: AbortSignal | undefined,
): Promise<{ status: number; headers: IncomingMessage['headers']; text: string }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send({ agent, method: 'POST', hostname: url.hostname, port: url.port || undefined, path: url.pathname, headers }, (res) => {
      res.setEncoding('utf8');
      let data = '';
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: data }));
      res.on('error', reject);
    });
    if (signal) watchAbort(signal, req);
    req.on('error', reject);
    req.end(body);
  });
}

function consoleOutput(root: XmlObject, $metadata: Metadata): GetConsoleOutputCommandOutput {
  const out: GetConsoleOutputCommandOutput = { $metadata };
  const instanceId = text(root, 'instanceId');
  if (instanceId !== undefined) out.InstanceId = instanceId;
  const timestamp = text(root, 'timestamp');
  if (timestamp) out.Timestamp = new Date(timestamp);
  const output = text(root, 'output');
  if (output !== undefined) out.Output = output;
  return out;
}

function createSnapshotsOutput(root: XmlObject, $metadata: Metadata): CreateSnapshotsCommandOutput {
  const out: CreateSnapshotsCommandOutput = { $metadata };
  if (root['snapshotSet'] !== undefined) out.Snapshots = items(root['snapshotSet']).map((i) => readShape<SnapshotInfo>(i, SNAPSHOT_INFO));
  return out;
}

function describeSnapshotsOutput(root: XmlObject, $metadata: Metadata): DescribeSnapshotsCommandOutput {
  const out: DescribeSnapshotsCommandOutput = { $metadata };
  const nextToken = text(root, 'nextToken');
  if (nextToken !== undefined) out.NextToken = nextToken;
  if (root['snapshotSet'] !== undefined) out.Snapshots = items(root['snapshotSet']).map((i) => readShape<Snapshot>(i, SNAPSHOT));
  return out;
}
