/**
 * One loopback HTTP server for STS, EC2, KMS, S3 (path-style) and the EBS direct read APIs. Routing follows what the SDK puts on the wire:
 * KMS by `X-Amz-Target: TrentService.*`, the others by the service in the SigV4 credential scope
 * (`Credential=AKID/date/region/SERVICE/aws4_request`); the region comes from the scope and the
 * caller from the access key id. Signatures are not verified; their signing time is, against AWS's
 * clock, when a clock skew is set (LabControl.setClockSkew).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallContext, HandlerResult, LabContext } from './context.js';
import { ebsOperationOf, handleEbs } from './ebs-direct.js';
import { handleEc2, isFilteredRequest } from './ec2.js';
import {
  expiredCredentials,
  invalidCredentials,
  LabAwsError,
  missingAuthentication,
  renderError,
  signingTimeRefused,
  type ServiceName,
} from './errors.js';
import { newRequestId } from './ids.js';
import { handleKms } from './kms.js';
import { handleS3, s3OperationOf } from './s3.js';
import { parseQuery, type QueryTree } from './query.js';
import { handleSts } from './sts.js';

interface Scope {
  accessKeyId: string;
  region: string;
  service: string;
}

const SCOPE = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;
/**
 * How far a signing time may be from AWS's clock: 15 minutes for EC2 (its documented window), S3
 * and STS; 5 for KMS (its "Signature expired" answers say "- 5 min.") and for EBS, which says
 * nothing the lab could find (the stricter of the two is modelled).
 */
const SIGNING_WINDOW_MS: Record<ServiceName, number> = { ec2: 15 * 60_000, s3: 15 * 60_000, sts: 15 * 60_000, kms: 5 * 60_000, ebs: 5 * 60_000 };
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** With a clock skew set (LabControl.setClockSkew): refuses a request signed too far from AWS's time. */
function checkSigningTime(lab: LabContext, service: ServiceName, request: IncomingMessage): void {
  const now = lab.control.awsTime();
  if (now === undefined) return;
  // Header-signed requests only: a presigned URL is good until its X-Amz-Expires, which the lab
  // does not model (nothing presigned is sent to it: EKS tokens go to the Kubernetes lab).
  const signed = request.headers['x-amz-date'];
  const parts = typeof signed === 'string' ? AMZ_DATE.exec(signed) : null;
  if (typeof signed !== 'string' || !parts) return;
  const signedAt = Date.UTC(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3]), Number(parts[4]), Number(parts[5]), Number(parts[6]));
  const window = SIGNING_WINDOW_MS[service];
  if (Math.abs(signedAt - now) <= window) return;
  lab.control.refusedForSkew(service);
  throw signingTimeRefused(service, signed, signedAt, now, window);
}

function readScope(request: IncomingMessage, url: URL): Scope | undefined {
  const header = request.headers.authorization;
  const match = header ? SCOPE.exec(header) : undefined;
  if (match) return { accessKeyId: match[1] ?? '', region: match[2] ?? '', service: match[3] ?? '' };
  // Presigned requests (e.g. an EKS token's GetCallerIdentity) carry the scope in the query.
  const credential = url.searchParams.get('X-Amz-Credential');
  const parts = credential?.split('/');
  if (parts && parts.length === 5) return { accessKeyId: parts[0] ?? '', region: parts[2] ?? '', service: parts[3] ?? '' };
  return undefined;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function internalError(service: ServiceName): LabAwsError {
  if (service === 'kms') return new LabAwsError('KMSInternalException', 'An internal error occurred.', 500, 'Receiver');
  if (service === 'sts') return new LabAwsError('InternalFailure', 'An internal error occurred.', 500, 'Receiver');
  return new LabAwsError('InternalError', 'An internal error has occurred.', 500, 'Receiver');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function serve(lab: LabContext, request: IncomingMessage, raw: Buffer, requestId: string): Promise<{ service: ServiceName; result: HandlerResult }> {
  const url = new URL(request.url ?? '/', 'http://lab.invalid');
  const scope = readScope(request, url);
  const service = serviceOf(request);
  const body = service === 's3' || service === 'ebs' ? '' : raw.toString('utf8');
  const kmsTarget = service === 'kms' ? String(request.headers['x-amz-target']).slice('TrentService.'.length) : undefined;
  if (!scope) throw missingAuthentication(service);
  checkSigningTime(lab, service, request);
  if (kmsTarget === undefined && scope.service !== 'sts' && scope.service !== 'ec2' && scope.service !== 's3' && scope.service !== 'ebs') {
    throw new LabAwsError('UnknownService', `The lab does not serve ${scope.service}`, 400);
  }

  let params: QueryTree = {};
  let action: string;
  if (service === 'kms') {
    action = kmsTarget ?? '';
  } else if (service === 's3') {
    action = s3OperationOf(request.method ?? 'GET', url);
  } else if (service === 'ebs') {
    action = ebsOperationOf(request.method ?? 'GET', url);
  } else {
    params = parseQuery(request.method === 'GET' ? url.search.slice(1) : body);
    const named = params.Action;
    if (typeof named !== 'string') throw new LabAwsError('MissingAction', 'The request must contain the parameter Action', 400);
    action = named;
  }

  const { state, control } = lab;
  const credential = state.credentials.get(scope.accessKeyId);
  const account = credential?.principal.account ?? 'unknown';
  const admitted = control.admit({
    service,
    action: `${service}:${action}`,
    account,
    region: scope.region,
    filtered: isFilteredRequest(params),
  });
  const latency = control.latencyFor(`${service}:${action}`);
  if (latency > 0) await sleep(latency);
  await control.heldUntilReleased(`${service}:${action}`);

  if (!credential) throw invalidCredentials(service);
  if (credential.sessionToken !== undefined) {
    const token = request.headers['x-amz-security-token'] ?? url.searchParams.get('X-Amz-Security-Token') ?? undefined;
    if (token !== credential.sessionToken) throw invalidCredentials(service);
  }
  if (credential.expiresAt !== undefined && credential.expiresAt <= state.clock.now()) throw expiredCredentials(service);
  if (admitted) throw admitted;

  const call: CallContext = {
    lab,
    service,
    principal: credential.principal,
    credential,
    account: credential.principal.account,
    region: scope.region,
    requestId,
  };
  if (service === 'kms') return { service, result: await handleKms(call, action, body) };
  if (service === 'sts') return { service, result: await handleSts(call, action, params) };
  if (service === 'ebs') return { service, result: await handleEbs(call, request.method ?? 'GET', url) };
  if (service === 's3') {
    return { service, result: await handleS3(call, { method: request.method ?? 'GET', url, headers: request.headers, body: raw }) };
  }
  return { service, result: await handleEc2(call, action, params) };
}

function serviceOf(request: IncomingMessage): ServiceName {
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith('TrentService.')) return 'kms';
  const match = request.headers.authorization ? SCOPE.exec(request.headers.authorization) : undefined;
  return match?.[3] === 'sts' ? 'sts' : match?.[3] === 's3' ? 's3' : match?.[3] === 'ebs' ? 'ebs' : 'ec2';
}

/** AWS's `Date` when the lab's clock skew is set; otherwise Node dates the answer. */
function dateOf(lab: LabContext): Record<string, string> {
  const now = lab.control.awsTime();
  return now === undefined ? {} : { date: new Date(now).toUTCString() };
}

function send(response: ServerResponse, requestId: string, result: HandlerResult, date: Record<string, string>): void {
  const parts = Array.isArray(result.body) ? result.body : [result.body];
  response.writeHead(result.status ?? 200, {
    ...date,
    'content-type': result.contentType,
    'content-length': parts.reduce((n, part) => n + Buffer.byteLength(part), 0),
    'x-amzn-requestid': requestId,
    // S3 names its request id differently.
    'x-amz-request-id': requestId,
    ...result.headers,
  });
  for (const part of parts.slice(0, -1)) response.write(part);
  response.end(parts.at(-1));
}

export interface AwsLabServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 (port 0: any free port). */
export async function startAwsServer(lab: LabContext, options: { port?: number; host?: string } = {}): Promise<AwsLabServer> {
  const server = createServer((request, response) => {
    const requestId = newRequestId();
    readBody(request)
      .then((body) => serve(lab, request, body, requestId))
      .then(({ result }) => send(response, requestId, result, dateOf(lab)))
      .catch((error: unknown) => {
        const service = serviceOf(request);
        const labError = error instanceof LabAwsError ? error : internalError(service);
        if (!(error instanceof LabAwsError)) process.emitWarning(`cloud-custody lab: ${(error as Error)?.stack ?? String(error)}`);
        const rendered = renderError(service, labError, requestId);
        send(response, requestId, { status: rendered.status, contentType: rendered.contentType, body: rendered.body, ...(rendered.headers ? { headers: rendered.headers } : {}) }, dateOf(lab));
      });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
