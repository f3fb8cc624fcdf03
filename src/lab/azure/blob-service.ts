/**
 * The lab's Blob Storage: exactly the operations custody's Azure code sends through the unchanged
 * `@azure/storage-blob` client, on path-style URLs (`https://127.0.0.1:PORT/ACCOUNT/CONTAINER/BLOB`,
 * the form the SDK uses for an IP host), held to the Blob service REST description (2026-06-06;
 * test/lab/azure/blob-spec-facts.json, test/lab/azure/blob-contract.test.ts):
 * - Get Blob Properties (HEAD), Get Blob (GET, `x-ms-range`/`Range` → 206 + Content-Range),
 *   Copy Blob (PUT + `x-ms-copy-source`, 202, async: `pending` for a number of reads, then
 *   `success`), Put Blob (block), Put Page, Set Blob Metadata, Delete Blob, Set Blob
 *   Immutability Policy, Delete Blob Immutability Policy, Set Blob Legal Hold;
 * - bearer tokens from the lab's Entra, checked for signature, expiry, audience and the account's
 *   tenant (401 `InvalidAuthenticationInfo` with the `AuthenticationErrorDetail` Storage gives);
 * - every data action decided by `RbacModel` from policies/azure at the blob's scope
 *   (`…/storageAccounts/A/blobServices/default/containers/C/blobs/PATH`): 403
 *   `AuthorizationPermissionMismatch`, the message naming the data action and scope;
 * - disk exports live in an Azure-owned account read only through a SAS the lab signs (HMAC,
 *   `se` expiry, `sp=r`) until ARM's `endGetAccess` revokes it; a Copy Blob whose source is
 *   refused answers `CannotVerifyCopySource` with the source's status;
 * - errors in Storage's XML form (`<Error><Code/><Message/>…</Error>`, `x-ms-error-code`).
 * Not modelled (answered 501): every other operation, copies from outside this service.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallHolds } from '../call-holds.js';
import type { LabBlobHost } from './blob-host.js';
import { blobScope, LabBlobStore, lockOf, LOCK_MESSAGES, newEtag, type LabBlobVersion, type LabContainer, type LabStorageAccount, type LockCode } from './blob-store.js';
import type { RbacModel } from './rbac.js';
import type { LabTokenSigner } from './tokens.js';

export const BLOB_SERVICE_VERSION = '2026-06-06';
const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';
export const BLOB_DATA_ACTIONS = {
  read: `${BLOBS}/read`,
  write: `${BLOBS}/write`,
  add: `${BLOBS}/add/action`,
  delete: `${BLOBS}/delete`,
  superUser: `${BLOBS}/immutableStorage/runAsSuperUser/action`,
} as const;
const STORAGE_AUDIENCES = new Set(['https://storage.azure.com', 'https://storage.azure.com/']);

export interface BlobExchange {
  method: string;
  /** Path without the query (a SAS lives there). */
  path: string;
  operation: string;
  status: number;
  requestId: string;
  clientRequestId?: string;
  principal?: string;
  errorCode?: string;
}

class StorageError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * `If-Unmodified-Since`, as Storage evaluates it: refused (412 ConditionNotMet) when the version's
 * Last-Modified, at the header's whole-second resolution, is later than the date given.
 */
function refuseIfModifiedSince(req: IncomingMessage, v: LabBlobVersion): void {
  const text = req.headers['if-unmodified-since'];
  if (typeof text !== 'string') return;
  const since = Date.parse(text);
  if (Number.isNaN(since)) return;
  if (Math.floor(v.lastModified.getTime() / 1000) * 1000 > since) {
    throw new StorageError(412, 'ConditionNotMet', 'The condition specified using HTTP conditional header(s) is not met.');
  }
}

const notImplemented = (what: string) => new StorageError(501, 'NotImplemented', `The lab's Blob Storage does not implement ${what}.`);

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Something that happens to the evidence container just before the lab serves `operation` on a
 * blob: another party writing to it (`before`), or an error answer — the lab's fault injection.
 */
export interface BlobFault {
  operation: string;
  /** How many matching requests it applies to (then it is spent). */
  times: number;
  before?: (blob: { store: LabBlobStore; container: LabContainer; name: string; now: number }) => void;
  error?: { status: number; code: string; message: string };
}

export interface LabBlobServiceOptions {
  store?: LabBlobStore;
  signer: LabTokenSigner;
  rbac: RbacModel;
  now: () => number;
  /** Reads of a copy's destination that still see `pending` before `success` (default 1). */
  copyReads?: number;
  /** Calls a test holds in flight (`holdNext('Blob_GetProperties')`), served once released. */
  holds?: CallHolds;
}

/** The Azure-owned account the lab's disk exports and boot diagnostics are published in. */
export const EXPORT_ACCOUNT = 'mdexports';

export class LabBlobService implements LabBlobHost {
  readonly copyable = true;
  readonly store: LabBlobStore;
  readonly log: BlobExchange[] = [];
  readonly faults: BlobFault[] = [];
  baseUrl = '';
  copyReads: number;
  private readonly sasKey = randomBytes(32);

  constructor(private readonly options: LabBlobServiceOptions) {
    this.store = options.store ?? new LabBlobStore();
    this.copyReads = options.copyReads ?? 1;
    if (!this.store.accounts.has(EXPORT_ACCOUNT)) this.store.addAccount({ name: EXPORT_ACCOUNT, armId: `/providers/Microsoft.Compute/exports/${EXPORT_ACCOUNT}`, tenant: '', sasOnly: true });
  }

  containerUrl(account: string, container: string): string {
    return `${this.baseUrl}/${account}/${container}`;
  }

  async publish(container: string, name: string, content: Buffer, options: { pageBlob: boolean; expiresOn: Date }): Promise<string> {
    const c = this.store.container(EXPORT_ACCOUNT, container) ?? this.store.addContainer(EXPORT_ACCOUNT, container, false);
    this.store.write(c, name, { type: options.pageBlob ? 'PageBlob' : 'BlockBlob', content, metadata: {} }, this.options.now());
    const path = `/${EXPORT_ACCOUNT}/${container}/${name.split('/').map(encodeURIComponent).join('/')}`;
    const se = options.expiresOn.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return `${this.baseUrl}${path}?sv=${BLOB_SERVICE_VERSION}&sr=b&sp=r&se=${encodeURIComponent(se)}&sig=${encodeURIComponent(this.sign(path, 'r', se))}`;
  }

  /** `endGetAccess` on the export: its SAS stops working at once, as Azure revokes it. */
  revoke(url: string): void {
    const [, container = '', ...rest] = new URL(url).pathname.slice(1).split('/').map((s) => decodeURIComponent(s));
    this.store.container(EXPORT_ACCOUNT, container)?.blobs.delete(rest.join('/'));
  }

  private sign(path: string, sp: string, se: string): string {
    return createHmac('sha256', this.sasKey).update(`${decodeURIComponent(path)}\n${sp}\n${se}`).digest('base64');
  }

  /** Whether a SAS query grants `permission` on a path now (signature, `sp`, `se`). */
  private sasAllows(path: string, query: URLSearchParams, permission: string): { ok: true } | { ok: false; detail: string } {
    const sig = Buffer.from(query.get('sig') ?? '', 'base64');
    const sp = query.get('sp') ?? '';
    const se = query.get('se') ?? '';
    const expected = Buffer.from(this.sign(path, sp, se), 'base64');
    if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) return { ok: false, detail: 'Signature did not match.' };
    if (!sp.includes(permission)) return { ok: false, detail: `The SAS does not grant '${permission}'.` };
    if (!(Date.parse(se) > this.options.now())) return { ok: false, detail: 'Signed expiry time has passed: the SAS is not valid in the current time frame.' };
    return { ok: true };
  }

  private authenticate(req: IncomingMessage, account: LabStorageAccount): string {
    const header = req.headers.authorization ?? '';
    if (!header) throw new StorageError(401, 'NoAuthenticationInformation', 'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.');
    if (!header.startsWith('Bearer ')) throw new StorageError(403, 'AuthenticationFailed', 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.', { AuthenticationErrorDetail: 'The lab accepts bearer tokens only (no account keys).' });
    if (account.sasOnly) throw new StorageError(403, 'AuthorizationFailure', 'This request is not authorized to perform this operation.');
    const claims = this.options.signer.verify(header.slice('Bearer '.length));
    const invalid = (detail: string) => new StorageError(401, 'InvalidAuthenticationInfo', 'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.', { AuthenticationErrorDetail: detail });
    if (!claims) throw invalid('Signature validation failed. Signature verification failed.');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= this.options.now()) throw invalid('Lifetime validation failed. The token is expired.');
    if (typeof claims.aud !== 'string' || !STORAGE_AUDIENCES.has(claims.aud)) throw invalid('Audience validation failed. Audience did not match.');
    if (claims.tid !== account.tenant || claims.iss !== `https://sts.windows.net/${account.tenant}/`) throw invalid('Issuer validation failed. Issuer did not match.');
    return String(claims.oid);
  }

  private authorize(principal: string, action: string, scope: string): void {
    const decision = this.options.rbac.decide(principal, action, scope, true);
    if (!decision.allowed) {
      // Storage's own sentence, then the data action and scope the lab decided (ARM's wording, which custody reads).
      throw new StorageError(403, 'AuthorizationPermissionMismatch', `This request is not authorized to perform this operation using this permission. The client '${principal}' does not have authorization to perform action '${action}' over scope '${scope}'.`);
    }
  }

  /** The node:http(s) request handler. */
  handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://lab.invalid');
    const method = req.method ?? 'GET';
    const requestId = randomUUID();
    const clientRequestId = req.headers['x-ms-client-request-id'] as string | undefined;
    const exchange: BlobExchange = { method, path: url.pathname, operation: 'unknown', status: 0, requestId };
    if (clientRequestId) exchange.clientRequestId = clientRequestId;
    const headers: Record<string, string> = {
      'x-ms-request-id': requestId,
      'x-ms-version': (req.headers['x-ms-version'] as string | undefined) ?? BLOB_SERVICE_VERSION,
      date: new Date(this.options.now()).toUTCString(),
      ...(clientRequestId ? { 'x-ms-client-request-id': clientRequestId } : {}),
    };
    const finish = (status: number, extra: Record<string, string>, body?: Buffer) => {
      exchange.status = status;
      this.log.push(exchange);
      res.writeHead(status, { ...headers, ...extra, ...(body && !extra['content-length'] ? { 'content-length': String(body.length) } : {}) });
      res.end(method === 'HEAD' ? undefined : body);
    };
    try {
      const result = await this.route(req, url, method, exchange);
      finish(result.status, result.headers, result.body);
    } catch (error) {
      const e = error instanceof StorageError ? error : new StorageError(500, 'InternalError', (error as Error).message);
      exchange.errorCode = e.code;
      const extras = Object.entries(e.extra).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('');
      const body = Buffer.from(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${e.code}</Code><Message>${xmlEscape(`${e.message}\nRequestId:${requestId}\nTime:${new Date(this.options.now()).toISOString()}`)}</Message>${extras}</Error>`, 'utf8');
      finish(e.status, { ...e.headers, 'x-ms-error-code': e.code, 'content-type': 'application/xml' }, body);
    }
  };

  private async route(req: IncomingMessage, url: URL, method: string, exchange: BlobExchange): Promise<{ status: number; headers: Record<string, string>; body?: Buffer }> {
    const [accountName = '', containerName = '', ...rest] = url.pathname.slice(1).split('/').map((s) => decodeURIComponent(s));
    const blobName = rest.join('/');
    const account = this.store.accounts.get(accountName);
    if (!account) throw new StorageError(400, 'InvalidUri', `The requested URI does not represent any resource on the server (no account '${accountName}').`);
    if (!blobName) throw notImplemented('container or account operations');
    const comp = url.searchParams.get('comp');
    const versionId = url.searchParams.get('versionid');
    const body = await readBody(req);
    const operation = this.operationOf(method, comp, req);
    exchange.operation = operation ?? 'unknown';
    if (!operation) throw notImplemented(`${method}${comp ? ` ?comp=${comp}` : ''}`);
    await this.options.holds?.heldUntilReleased(operation);

    // Who is asking, and may they: a SAS on Azure-owned accounts (reads only), a token elsewhere.
    let principal: string | undefined;
    if (account.sasOnly) {
      if (operation !== 'Blob_GetProperties' && operation !== 'Blob_Download') throw new StorageError(403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation using this permission.');
      const sas = this.sasAllows(url.pathname, url.searchParams, 'r');
      if (!sas.ok) throw new StorageError(403, 'AuthenticationFailed', 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.', { AuthenticationErrorDetail: sas.detail });
    } else {
      principal = this.authenticate(req, account);
      exchange.principal = principal;
    }
    const container = account.containers.get(containerName);
    if (!container) throw new StorageError(404, 'ContainerNotFound', 'The specified container does not exist.');
    const scope = blobScope(account, containerName, blobName);
    const now = this.options.now();
    const needs = (action: string) => {
      if (principal !== undefined) this.authorize(principal, action, scope);
    };
    const found = () => {
      const v = this.store.version(container, blobName, versionId);
      if (!v) throw new StorageError(404, 'BlobNotFound', 'The specified blob does not exist.');
      return v;
    };
    const refuseIfSealed = (v: LabBlobVersion) => {
      const lock = lockOf(v, now);
      if (lock) throw sealedError(lock);
    };

    const fault = this.faults.find((f) => f.operation === operation && f.times > 0);
    if (fault) {
      fault.times -= 1;
      fault.before?.({ store: this.store, container, name: blobName, now });
      if (fault.error) throw new StorageError(fault.error.status, fault.error.code, fault.error.message);
    }

    switch (operation) {
      case 'Blob_GetProperties':
      case 'Blob_Download': {
        needs(BLOB_DATA_ACTIONS.read);
        const v = found();
        this.advanceCopy(v, now);
        const props = propertyHeaders(v, container, this.store.version(container, blobName) === v);
        if (operation === 'Blob_GetProperties') return { status: 200, headers: { ...props, 'content-length': String(v.content.length) } };
        const range = parseRange((req.headers['x-ms-range'] as string | undefined) ?? req.headers.range, v.content.length);
        if (range === 'invalid') throw new StorageError(416, 'InvalidRange', 'The range specified is invalid for the current size of the resource.', {}, { 'content-range': `bytes */${v.content.length}` });
        if (!range) return { status: 200, headers: props, body: v.content };
        return { status: 206, headers: { ...props, 'content-range': `bytes ${range.start}-${range.end}/${v.content.length}` }, body: v.content.subarray(range.start, range.end + 1) };
      }
      case 'Blob_StartCopyFromURL':
      case 'BlockBlob_Upload': {
        const existing = this.store.version(container, blobName);
        if (existing) needs(BLOB_DATA_ACTIONS.write);
        else if (principal !== undefined && !this.options.rbac.decide(principal, BLOB_DATA_ACTIONS.add, scope, true).allowed) needs(BLOB_DATA_ACTIONS.write);
        const metadata = metadataOf(req);
        if (operation === 'BlockBlob_Upload') {
          const v = this.store.write(container, blobName, { type: 'BlockBlob', content: body, metadata }, now);
          return { status: 201, headers: { etag: v.etag, 'last-modified': v.lastModified.toUTCString(), 'x-ms-version-id': v.versionId, 'x-ms-request-server-encrypted': 'true' } };
        }
        const source = this.copySource(String(req.headers['x-ms-copy-source']));
        const v = this.store.write(container, blobName, { type: source.type, content: Buffer.from(source.content), metadata: Object.keys(metadata).length ? metadata : { ...source.metadata } }, now);
        v.copy = { id: randomUUID(), source: source.url, status: this.copyReads > 0 ? 'pending' : 'success', total: source.content.length, pendingReads: this.copyReads };
        if (v.copy.status === 'success') v.copy.completedOn = new Date(now);
        return { status: 202, headers: { etag: v.etag, 'last-modified': v.lastModified.toUTCString(), 'x-ms-version-id': v.versionId, 'x-ms-copy-id': v.copy.id, 'x-ms-copy-status': v.copy.status } };
      }
      case 'PageBlob_UploadPages': {
        needs(BLOB_DATA_ACTIONS.write);
        const v = found();
        refuseIfSealed(v);
        const range = parseRange((req.headers['x-ms-range'] as string | undefined) ?? req.headers.range, v.content.length);
        if (!range || range === 'invalid' || range.start % 512 !== 0 || (range.end + 1) % 512 !== 0 || body.length !== range.end - range.start + 1) throw new StorageError(416, 'InvalidPageRange', 'The page range specified is invalid.');
        // In place: Put Page makes no new version (versioning-overview, "Versioning on write
        // operations"; docs/research/azure.md §6.3), only a new ETag and Last-Modified.
        body.copy(v.content, range.start);
        v.etag = newEtag();
        v.lastModified = new Date(now);
        return { status: 201, headers: { etag: v.etag, 'last-modified': v.lastModified.toUTCString() } };
      }
      case 'Blob_SetMetadata': {
        needs(BLOB_DATA_ACTIONS.write);
        const v = found();
        refuseIfSealed(v);
        v.metadata = metadataOf(req);
        return { status: 200, headers: { etag: v.etag, 'last-modified': v.lastModified.toUTCString() } };
      }
      case 'Blob_Delete': {
        needs(BLOB_DATA_ACTIONS.delete);
        const deleted = this.store.delete(container, blobName, versionId, now);
        if (!deleted.ok) throw deleted.code === 'BlobNotFound' ? new StorageError(404, 'BlobNotFound', 'The specified blob does not exist.') : sealedError(deleted.code);
        return { status: 202, headers: {} };
      }
      case 'Blob_SetImmutabilityPolicy': {
        needs(BLOB_DATA_ACTIONS.superUser);
        const v = found();
        if (!container.versionLevelWorm) throw new StorageError(409, 'InvalidOperation', 'The container does not have version-level immutability support enabled.');
        // The one condition this operation takes (the REST description's Blob_SetImmutabilityPolicy).
        refuseIfModifiedSince(req, v);
        const untilText = String(req.headers['x-ms-immutability-policy-until-date'] ?? '');
        const until = new Date(untilText);
        if (!untilText || Number.isNaN(until.getTime())) throw new StorageError(400, 'InvalidHeaderValue', 'The value for one of the HTTP headers is not in the correct format.', { HeaderName: 'x-ms-immutability-policy-until-date', HeaderValue: untilText });
        const mode = String(req.headers['x-ms-immutability-policy-mode'] ?? 'Unlocked');
        if (mode !== 'Unlocked' && mode !== 'Locked') throw new StorageError(400, 'InvalidHeaderValue', 'The value for one of the HTTP headers is not in the correct format.', { HeaderName: 'x-ms-immutability-policy-mode', HeaderValue: mode });
        if (until.getTime() <= now) throw new StorageError(400, 'InvalidHeaderValue', 'The immutability policy expiry must be in the future.', { HeaderName: 'x-ms-immutability-policy-until-date', HeaderValue: untilText });
        // A locked policy can be extended, never shortened, never unlocked.
        if (v.immutability?.mode === 'Locked' && (until < v.immutability.until || mode === 'Unlocked')) throw sealedError('BlobImmutableDueToPolicy');
        v.immutability = { until, mode };
        return { status: 200, headers: { 'x-ms-immutability-policy-until-date': until.toUTCString(), 'x-ms-immutability-policy-mode': mode } };
      }
      case 'Blob_DeleteImmutabilityPolicy': {
        needs(BLOB_DATA_ACTIONS.superUser);
        const v = found();
        if (v.immutability?.mode === 'Locked') throw sealedError('BlobImmutableDueToPolicy');
        delete v.immutability;
        return { status: 200, headers: {} };
      }
      case 'Blob_SetLegalHold': {
        needs(BLOB_DATA_ACTIONS.superUser);
        const v = found();
        if (!container.versionLevelWorm) throw new StorageError(409, 'InvalidOperation', 'The container does not have version-level immutability support enabled.');
        const hold = String(req.headers['x-ms-legal-hold'] ?? '').toLowerCase();
        if (hold !== 'true' && hold !== 'false') throw new StorageError(400, 'InvalidHeaderValue', 'The value for one of the HTTP headers is not in the correct format.', { HeaderName: 'x-ms-legal-hold', HeaderValue: hold });
        v.legalHold = hold === 'true';
        return { status: 200, headers: { 'x-ms-legal-hold': String(v.legalHold) } };
      }
      default:
        throw notImplemented(operation);
    }
  }

  private operationOf(method: string, comp: string | null, req: IncomingMessage): string | undefined {
    if (method === 'HEAD' && !comp) return 'Blob_GetProperties';
    if (method === 'GET' && !comp) return 'Blob_Download';
    if (method === 'DELETE' && !comp) return 'Blob_Delete';
    if (method === 'PUT' && !comp && req.headers['x-ms-copy-source']) return req.headers['x-ms-requires-sync'] ? undefined : 'Blob_StartCopyFromURL';
    if (method === 'PUT' && !comp && req.headers['x-ms-blob-type'] === 'BlockBlob') return 'BlockBlob_Upload';
    if (method === 'PUT' && comp === 'page' && req.headers['x-ms-page-write'] === 'update') return 'PageBlob_UploadPages';
    if (method === 'PUT' && comp === 'metadata') return 'Blob_SetMetadata';
    if (method === 'PUT' && comp === 'immutabilityPolicies') return 'Blob_SetImmutabilityPolicy';
    if (method === 'DELETE' && comp === 'immutabilityPolicies') return 'Blob_DeleteImmutabilityPolicy';
    if (method === 'PUT' && comp === 'legalhold') return 'Blob_SetLegalHold';
    return undefined;
  }

  /** Reads a copy source in this service through its SAS, as the service would verify it. */
  private copySource(source: string): { url: string; type: LabBlobVersion['type']; content: Buffer; metadata: Record<string, string> } {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      throw new StorageError(400, 'InvalidHeaderValue', 'The value for one of the HTTP headers is not in the correct format.', { HeaderName: 'x-ms-copy-source' });
    }
    if (`${url.protocol}//${url.host}` !== this.baseUrl) throw notImplemented('copies from outside the lab blob service');
    const [accountName = '', containerName = '', ...rest] = url.pathname.slice(1).split('/').map((s) => decodeURIComponent(s));
    const account = this.store.accounts.get(accountName);
    const sourceFailed = (status: number, code: string, message: string) =>
      new StorageError(status, 'CannotVerifyCopySource', message, { CopySourceStatusCode: String(status), CopySourceErrorCode: code, CopySourceErrorMessage: message });
    const sas = this.sasAllows(url.pathname, url.searchParams, 'r');
    if (!sas.ok) throw sourceFailed(403, 'AuthenticationFailed', `Server failed to authenticate the request. ${sas.detail}`);
    const container = account?.containers.get(containerName);
    const v = container && this.store.version(container, rest.join('/'));
    if (!v) throw sourceFailed(404, 'BlobNotFound', 'The specified blob does not exist.');
    return { url: `${url.origin}${url.pathname}`, type: v.type, content: v.content, metadata: v.metadata };
  }

  private advanceCopy(v: LabBlobVersion, now: number): void {
    if (v.copy?.status !== 'pending') return;
    if (v.copy.pendingReads > 0) {
      v.copy.pendingReads -= 1;
      return;
    }
    v.copy.status = 'success';
    v.copy.completedOn = new Date(now);
  }
}

function sealedError(code: LockCode): StorageError {
  return new StorageError(409, code, LOCK_MESSAGES[code]);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function metadataOf(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (name.startsWith('x-ms-meta-') && typeof value === 'string') metadata[name.slice('x-ms-meta-'.length)] = value;
  return metadata;
}

/** `bytes=a-b` or `bytes=a-` against a size: the inclusive range, none, or invalid (416). */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | 'invalid' {
  if (!header) return undefined;
  const match = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!match) return 'invalid';
  const start = Number(match[1]);
  const end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}

function propertyHeaders(v: LabBlobVersion, container: LabContainer, current: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'last-modified': v.lastModified.toUTCString(),
    'x-ms-creation-time': v.createdOn.toUTCString(),
    etag: v.etag,
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    'x-ms-blob-type': v.type,
    'x-ms-server-encrypted': 'true',
    'x-ms-lease-state': 'available',
    'x-ms-lease-status': 'unlocked',
  };
  if (v.type === 'PageBlob') headers['x-ms-blob-sequence-number'] = '0';
  if (container.versionLevelWorm) {
    headers['x-ms-version-id'] = v.versionId;
    headers['x-ms-is-current-version'] = String(current);
  }
  for (const [k, value] of Object.entries(v.metadata)) headers[`x-ms-meta-${k}`] = value;
  if (v.copy) {
    headers['x-ms-copy-id'] = v.copy.id;
    headers['x-ms-copy-source'] = v.copy.source;
    headers['x-ms-copy-status'] = v.copy.status;
    headers['x-ms-copy-progress'] = `${v.copy.status === 'success' ? v.copy.total : 0}/${v.copy.total}`;
    if (v.copy.completedOn) headers['x-ms-copy-completion-time'] = v.copy.completedOn.toUTCString();
  }
  if (v.immutability) {
    headers['x-ms-immutability-policy-until-date'] = v.immutability.until.toUTCString();
    headers['x-ms-immutability-policy-mode'] = v.immutability.mode;
  }
  if (container.versionLevelWorm) headers['x-ms-legal-hold'] = String(v.legalHold);
  return headers;
}
