/**
 * S3 in the lab, path-style (`/BUCKET/KEY`), as much as the evidence copy needs: PutObject,
 * multipart uploads (create, upload part, complete, abort), HeadObject, GetObject and
 * GetObjectRetention, with SHA-256 checksums (checked against the bytes, single-part
 * `FULL_OBJECT`, multipart `COMPOSITE` `base64-N`), Object Lock retention and version ids.
 * Every request goes through the Authorizer as the IAM action S3 authorises it as.
 */
import { createHash } from 'node:crypto';
import { authorize, isAllowed, type CallContext, type HandlerResult } from './context.js';
import { LabAwsError } from './errors.js';
import type { LabBucket, LabObjectVersion } from './s3-state.js';
import { escapeXml } from './xml.js';

const MIN_PART_BYTES = 5 * 1024 * 1024;
const DAY_MS = 86_400_000;

export interface S3Request {
  method: string;
  url: URL;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** The S3 operation a request is, named as the SDK command (for faults, latency and counts). */
export function s3OperationOf(method: string, url: URL): string {
  const q = url.searchParams;
  const [, , ...keyParts] = url.pathname.split('/');
  const hasKey = keyParts.join('/') !== '';
  if (method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'PUT' && q.has('uploadId')) return 'UploadPart';
  if (method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
  if (method === 'PUT' && q.has('retention')) return 'PutObjectRetention';
  if (method === 'GET' && q.has('retention')) return 'GetObjectRetention';
  if (method === 'GET' && q.has('object-lock') && !hasKey) return 'GetObjectLockConfiguration';
  if (method === 'PUT' && hasKey) return 'PutObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'DELETE') return 'DeleteObject';
  if (method === 'GET' && !hasKey) return 'ListObjectsV2';
  return 'GetObject';
}

function header(request: S3Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function s3Error(code: string, message: string, status: number): LabAwsError {
  return new LabAwsError(code, message, status);
}

function sha256Base64(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

function md5Etag(bytes: Uint8Array): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`;
}

/** `aws-chunked` bodies (streamed uploads with a trailing checksum): data, and the trailers. */
function decodeChunked(body: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const chunks: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    offset = lineEnd + 2;
    if (!Number.isFinite(size) || size === 0) {
      for (const line of body.subarray(offset).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      break;
    }
    chunks.push(body.subarray(offset, offset + size));
    offset += size + 2;
  }
  return { data: Buffer.concat(chunks), trailers };
}

/** The payload and the SHA-256 checksum the client sent with it (header or trailer). */
function payloadOf(request: S3Request): { data: Buffer; checksum?: string } {
  const encoding = header(request, 'content-encoding') ?? '';
  const streaming = (header(request, 'x-amz-content-sha256') ?? '').startsWith('STREAMING-');
  if (encoding.includes('aws-chunked') || streaming) {
    const { data, trailers } = decodeChunked(request.body);
    const checksum = header(request, 'x-amz-checksum-sha256') ?? trailers['x-amz-checksum-sha256'];
    return { data, ...(checksum ? { checksum } : {}) };
  }
  const checksum = header(request, 'x-amz-checksum-sha256');
  return { data: request.body, ...(checksum ? { checksum } : {}) };
}

function retentionOf(call: CallContext, request: S3Request): { mode?: 'COMPLIANCE' | 'GOVERNANCE'; retainUntil?: number } {
  const mode = header(request, 'x-amz-object-lock-mode');
  const until = header(request, 'x-amz-object-lock-retain-until-date');
  if (mode === undefined && until === undefined) return {};
  if (mode !== 'COMPLIANCE' && mode !== 'GOVERNANCE') throw s3Error('InvalidArgument', 'Unknown wormMode directive.', 400);
  const retainUntil = until === undefined ? Number.NaN : Date.parse(until);
  if (Number.isNaN(retainUntil)) throw s3Error('InvalidArgument', 'x-amz-object-lock-retain-until-date must be a date', 400);
  if (retainUntil <= call.lab.state.clock.now()) throw s3Error('InvalidArgument', 'The retain until date must be in the future!', 400);
  return { mode, retainUntil };
}

/** Condition keys of a request that sets a retention (`s3:object-lock-*`). */
function retentionContext(call: CallContext, retention: { mode?: string; retainUntil?: number }): Record<string, string> {
  if (!retention.mode || retention.retainUntil === undefined) return {};
  return {
    's3:object-lock-mode': retention.mode,
    's3:object-lock-remaining-retention-days': String(Math.ceil((retention.retainUntil - call.lab.state.clock.now()) / DAY_MS)),
  };
}

function ok(headers: Record<string, string> = {}, body: string | Buffer = '', contentType = 'application/xml', status = 200): HandlerResult {
  return { status, contentType, body, headers };
}

function xml(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

function versionHeaders(version: LabObjectVersion, withChecksum: boolean, withRetention: boolean): Record<string, string> {
  return {
    etag: version.etag,
    'x-amz-version-id': version.versionId,
    'last-modified': new Date(version.lastModified).toUTCString(),
    ...(withChecksum && version.checksumSHA256 ? { 'x-amz-checksum-sha256': version.checksumSHA256 } : {}),
    ...(withChecksum && version.checksumType ? { 'x-amz-checksum-type': version.checksumType } : {}),
    ...(withRetention && version.lockMode ? { 'x-amz-object-lock-mode': version.lockMode } : {}),
    ...(withRetention && version.retainUntil !== undefined
      ? { 'x-amz-object-lock-retain-until-date': new Date(version.retainUntil).toISOString() }
      : {}),
  };
}

/** Serves one S3 request (path-style). */
export async function handleS3(call: CallContext, request: S3Request): Promise<HandlerResult> {
  const { state } = call.lab;
  const segments = request.url.pathname.split('/').slice(1);
  const bucketName = decodeURIComponent(segments[0] ?? '');
  const key = segments.slice(1).map(decodeURIComponent).join('/');
  const bucket = state.s3.buckets.get(bucketName);
  if (!bucket) throw s3Error('NoSuchBucket', 'The specified bucket does not exist', 404);
  const objectArn = `arn:aws:s3:::${bucket.name}/${key}`;
  // The evidence bucket's policy: no other account reaches it, whatever its own IAM allows.
  if (bucket.account !== call.account) {
    throw s3Error('AccessDenied', `User: ${call.principal.arn} is not authorized to perform this action on resource: ${objectArn} with an explicit deny in a resource-based policy`, 403);
  }
  // The lab is plain HTTP on loopback, standing in for S3's TLS endpoint.
  const transport = { 'aws:SecureTransport': 'true' };
  const operation = s3OperationOf(request.method, request.url);
  const q = request.url.searchParams;

  switch (operation) {
    case 'PutObject': {
      const retention = retentionOf(call, request);
      await authorize(call, 's3:PutObject', [{ resource: objectArn, context: transport }]);
      if (retention.mode) await authorize(call, 's3:PutObjectRetention', [{ resource: objectArn, context: { ...transport, ...retentionContext(call, retention) } }]);
      const { data, checksum } = payloadOf(request);
      if (retention.mode && !bucket.objectLock) throw s3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration', 400);
      if (retention.mode && !checksum && !header(request, 'content-md5')) {
        throw s3Error('InvalidRequest', 'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters', 400);
      }
      if (checksum !== undefined && checksum !== sha256Base64(data)) {
        throw s3Error('BadDigest', 'The SHA256 you specified did not match the calculated checksum.', 400);
      }
      const version = store(call, bucket, key, data, {
        ...(checksum ? { checksumSHA256: checksum, checksumType: 'FULL_OBJECT' as const } : {}),
        ...retention,
      });
      return ok({
        etag: version.etag,
        ...(bucket.objectLock ? { 'x-amz-version-id': version.versionId } : {}),
        ...(version.checksumSHA256 ? { 'x-amz-checksum-sha256': version.checksumSHA256, 'x-amz-checksum-type': 'FULL_OBJECT' } : {}),
      });
    }
    case 'CreateMultipartUpload': {
      const retention = retentionOf(call, request);
      await authorize(call, 's3:PutObject', [{ resource: objectArn, context: transport }]);
      if (retention.mode) await authorize(call, 's3:PutObjectRetention', [{ resource: objectArn, context: { ...transport, ...retentionContext(call, retention) } }]);
      if (retention.mode && !bucket.objectLock) throw s3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration', 400);
      const algorithm = header(request, 'x-amz-checksum-algorithm');
      if (algorithm !== undefined && algorithm !== 'SHA256') throw s3Error('InvalidRequest', `The lab only keeps SHA256 checksums, not ${algorithm}`, 400);
      const uploadId = state.s3.nextId('upl-');
      bucket.uploads.set(uploadId, {
        uploadId,
        key,
        ...(algorithm ? { checksumAlgorithm: algorithm } : {}),
        ...(retention.mode ? { lockMode: retention.mode } : {}),
        ...(retention.retainUntil !== undefined ? { retainUntil: retention.retainUntil } : {}),
        parts: new Map(),
      });
      return ok(
        algorithm ? { 'x-amz-checksum-algorithm': algorithm, 'x-amz-checksum-type': 'COMPOSITE' } : {},
        xml(
          `<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${escapeXml(bucket.name)}</Bucket>` +
            `<Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
        ),
      );
    }
    case 'UploadPart': {
      await authorize(call, 's3:PutObject', [{ resource: objectArn, context: transport }]);
      const upload = bucket.uploads.get(q.get('uploadId') ?? '');
      if (!upload || upload.key !== key) throw s3Error('NoSuchUpload', 'The specified upload does not exist.', 404);
      const number = Number(q.get('partNumber'));
      if (!Number.isInteger(number) || number < 1 || number > 10000) throw s3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', 400);
      const { data, checksum } = payloadOf(request);
      if (upload.checksumAlgorithm === 'SHA256' && checksum === undefined) {
        throw s3Error('InvalidRequest', 'The upload was created using a SHA256 checksum. The part must carry one too.', 400);
      }
      if (checksum !== undefined && checksum !== sha256Base64(data)) {
        throw s3Error('BadDigest', 'The SHA256 you specified did not match the calculated checksum.', 400);
      }
      const etag = md5Etag(data);
      upload.parts.set(number, { body: data, etag, ...(checksum ? { checksumSHA256: checksum } : {}) });
      return ok({ etag, ...(checksum ? { 'x-amz-checksum-sha256': checksum } : {}) });
    }
    case 'CompleteMultipartUpload': {
      await authorize(call, 's3:PutObject', [{ resource: objectArn, context: transport }]);
      const uploadId = q.get('uploadId') ?? '';
      const upload = bucket.uploads.get(uploadId);
      if (!upload || upload.key !== key) throw s3Error('NoSuchUpload', 'The specified upload does not exist.', 404);
      const listed = [...request.body.toString('utf8').matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => {
        const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(m[1] ?? '')?.[1];
        return { number: Number(field('PartNumber')), etag: field('ETag')?.replaceAll('&quot;', '"'), checksum: field('ChecksumSHA256') };
      });
      if (listed.length === 0) throw s3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);
      const bodies: Buffer[] = [];
      const digests: Buffer[] = [];
      listed.forEach((item, index) => {
        const part = upload.parts.get(item.number);
        if (!part || (item.etag !== undefined && item.etag !== part.etag)) {
          throw s3Error('InvalidPart', 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.', 400);
        }
        if (index > 0 && item.number <= listed[index - 1]!.number) throw s3Error('InvalidPartOrder', 'The list of parts was not in ascending order.', 400);
        if (index < listed.length - 1 && part.body.length < MIN_PART_BYTES) throw s3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', 400);
        if (upload.checksumAlgorithm === 'SHA256' && item.checksum !== part.checksumSHA256) {
          throw s3Error('InvalidPart', `The checksum of part ${item.number} does not match the one it was uploaded with.`, 400);
        }
        bodies.push(part.body);
        if (part.checksumSHA256) digests.push(Buffer.from(part.checksumSHA256, 'base64'));
      });
      const composite = upload.checksumAlgorithm === 'SHA256' ? `${sha256Base64(Buffer.concat(digests))}-${listed.length}` : undefined;
      const data = Buffer.concat(bodies);
      const version = store(call, bucket, key, data, {
        ...(composite ? { checksumSHA256: composite, checksumType: 'COMPOSITE' as const } : {}),
        ...(upload.lockMode ? { mode: upload.lockMode } : {}),
        ...(upload.retainUntil !== undefined ? { retainUntil: upload.retainUntil } : {}),
        etag: `"${createHash('md5').update(Buffer.concat(listed.map((i) => Buffer.from((i.etag ?? '').replaceAll('"', ''), 'hex')))).digest('hex')}-${listed.length}"`,
      });
      bucket.uploads.delete(uploadId);
      return ok(
        bucket.objectLock ? { 'x-amz-version-id': version.versionId } : {},
        xml(
          `<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>/${escapeXml(bucket.name)}/${escapeXml(key)}</Location>` +
            `<Bucket>${escapeXml(bucket.name)}</Bucket><Key>${escapeXml(key)}</Key><ETag>${escapeXml(version.etag)}</ETag>` +
            (composite ? `<ChecksumSHA256>${composite}</ChecksumSHA256><ChecksumType>COMPOSITE</ChecksumType>` : '') +
            `</CompleteMultipartUploadResult>`,
        ),
      );
    }
    case 'AbortMultipartUpload': {
      await authorize(call, 's3:AbortMultipartUpload', [{ resource: objectArn, context: transport }]);
      if (!bucket.uploads.delete(q.get('uploadId') ?? '')) throw s3Error('NoSuchUpload', 'The specified upload does not exist.', 404);
      return ok({}, '', 'application/xml', 204);
    }
    case 'HeadObject':
    case 'GetObject': {
      const versionId = q.get('versionId') ?? undefined;
      await authorize(call, versionId === undefined ? 's3:GetObject' : 's3:GetObjectVersion', [{ resource: objectArn, context: transport }]);
      const version = state.s3.version(bucket, key, versionId);
      if (!version) {
        if (versionId !== undefined) throw s3Error('NoSuchVersion', 'The specified version does not exist.', 404);
        throw s3Error('NoSuchKey', 'The specified key does not exist.', 404);
      }
      // S3 shows the retention only to callers allowed to read it.
      const seesRetention = await isAllowed(call, 's3:GetObjectRetention', objectArn, transport);
      const headers = versionHeaders(version, header(request, 'x-amz-checksum-mode') === 'ENABLED', seesRetention);
      if (operation === 'HeadObject') return ok({ ...headers, 'content-length': String(version.body.length) }, '', 'application/octet-stream');
      return ok(headers, version.body, 'application/octet-stream');
    }
    case 'GetObjectRetention': {
      await authorize(call, 's3:GetObjectRetention', [{ resource: objectArn, context: transport }]);
      const version = state.s3.version(bucket, key, q.get('versionId') ?? undefined);
      if (!version) throw s3Error('NoSuchKey', 'The specified key does not exist.', 404);
      if (!version.lockMode || version.retainUntil === undefined) {
        throw s3Error('NoSuchObjectLockConfiguration', 'The specified object does not have a ObjectLock configuration', 404);
      }
      return ok(
        {},
        xml(
          `<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>${version.lockMode}</Mode>` +
            `<RetainUntilDate>${new Date(version.retainUntil).toISOString()}</RetainUntilDate></Retention>`,
        ),
      );
    }
    case 'GetObjectLockConfiguration': {
      const bucketArn = `arn:aws:s3:::${bucket.name}`;
      await authorize(call, 's3:GetBucketObjectLockConfiguration', [{ resource: bucketArn, context: transport }]);
      if (!bucket.objectLock) {
        throw s3Error('ObjectLockConfigurationNotFoundError', 'Object Lock configuration does not exist for this bucket', 404);
      }
      // The forensics template's bucket: Object Lock on, a COMPLIANCE default retention.
      return ok(
        {},
        xml(
          '<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled>' +
            `<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>${bucket.defaultRetentionDays ?? 365}</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
        ),
      );
    }
    default:
      // DeleteObject, PutObjectRetention, ListObjectsV2, …: authorised first, so a denial is
      // what the caller sees, as in S3; an allowed one the lab does not serve.
      await authorize(call, `s3:${operation}`, [{ resource: objectArn, context: transport }]);
      throw s3Error('NotImplemented', `The lab does not implement ${operation}`, 501);
  }
}

function store(
  call: CallContext,
  bucket: LabBucket,
  key: string,
  body: Buffer,
  extra: { checksumSHA256?: string; checksumType?: 'FULL_OBJECT' | 'COMPOSITE'; mode?: 'COMPLIANCE' | 'GOVERNANCE'; retainUntil?: number; etag?: string },
): LabObjectVersion {
  const versions = bucket.objects.get(key) ?? [];
  const version: LabObjectVersion = {
    key,
    versionId: bucket.objectLock ? call.lab.state.s3.nextId('v') : 'null',
    body,
    etag: extra.etag ?? md5Etag(body),
    ...(extra.checksumSHA256 ? { checksumSHA256: extra.checksumSHA256 } : {}),
    ...(extra.checksumType ? { checksumType: extra.checksumType } : {}),
    ...(extra.mode ? { lockMode: extra.mode } : {}),
    ...(extra.retainUntil !== undefined ? { retainUntil: extra.retainUntil } : {}),
    lastModified: call.lab.state.clock.now(),
  };
  // Without versioning a key holds one object; with Object Lock every write is a new version.
  bucket.objects.set(key, bucket.objectLock ? [...versions, version] : [version]);
  return version;
}
