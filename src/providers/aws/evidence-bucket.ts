/**
 * The evidence bucket: S3 with Object Lock, as the `ImmutableStore` the custody copy writes to
 * (`src/custody/immutable-copy.ts`). Every object goes up with S3's own SHA-256 checksum (S3
 * refuses bytes that do not match it) and an Object Lock retention; large files go up in parts,
 * each part with its own SHA-256, and S3 then keeps a *composite* checksum (SHA-256 of the part
 * digests, `-N`): SHA-256 has no full-object type for multipart uploads, so the part size is
 * recorded to recompute it.
 *
 * Credentials: the forensics account's (the orchestrator's), from the SDK's standard chain;
 * nothing here writes them anywhere.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { CustodyConfig, EvidenceBucketConfig } from '../config.js';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import { abortReason, type ImmutableStore, type RemoteObject, type StoredChecksum, type UploadReceipt, type UploadRequest } from '../../custody/immutable-copy.js';
import { callAws } from './call-aws.js';
import { DEFAULT_RETRY } from './clients.js';
import { retryOnlyRealSkewCorrections } from './sdk-skew.js';

export interface EvidenceBucketOptions {
  bucket: string;
  /** Key prefix of the case: `aws.evidenceBucket.prefix` + case id (no trailing slash). */
  casePrefix: string;
  region: string;
  endpoint?: string;
  multipartThresholdBytes: number;
  partSizeBytes: number;
  /** Default: the SDK's standard chain (the orchestrator's credentials). */
  credentials?: AwsCredentialIdentityProvider;
}

/** `s3://BUCKET/KEY/PREFIX` → bucket and key prefix (no trailing slash). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+?)\/*$/.exec(url);
  if (!match || !match[2] || match[2].startsWith('/')) {
    throw new CustodyError('E_INPUT', `${JSON.stringify(url)} is not an s3://BUCKET/CASE location (for example s3://cloud-custody-evidence-111111111111/IR-2026-0042)`);
  }
  return { bucket: match[1]!, prefix: match[2] };
}

/** The case's key prefix in the configured bucket. */
export function casePrefixFor(bucket: EvidenceBucketConfig, caseId: string): string {
  return `${bucket.prefix}${caseId}`;
}

/** Options for a case's store from the config; `url` (s3://…) overrides bucket and prefix. */
export function evidenceBucketOptions(config: Pick<CustodyConfig, 'aws'>, target: { caseId: string } | { url: string }): EvidenceBucketOptions {
  const configured = config.aws?.evidenceBucket;
  let bucket: string;
  let casePrefix: string;
  if ('url' in target) {
    ({ bucket, prefix: casePrefix } = parseS3Url(target.url));
  } else {
    if (!configured) throw new CustodyError('E_CONFIG', 'aws.evidenceBucket is not configured: there is no bucket to copy the case to');
    bucket = configured.name;
    casePrefix = casePrefixFor(configured, target.caseId);
  }
  const region = configured?.region ?? config.aws?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new CustodyError('E_CONFIG', 'no region for the evidence bucket: set aws.evidenceBucket.region (or aws.region, or AWS_REGION)');
  return {
    bucket,
    casePrefix,
    region,
    ...(config.aws?.endpoints.s3 ? { endpoint: config.aws.endpoints.s3 } : {}),
    multipartThresholdBytes: configured?.multipartThresholdBytes ?? 64 * 1024 * 1024,
    partSizeBytes: configured?.partSizeBytes ?? 16 * 1024 * 1024,
  };
}

function sha256(bytes: Uint8Array): { hex: string; base64: string } {
  const digest = createHash('sha256').update(bytes).digest();
  return { hex: digest.toString('hex'), base64: digest.toString('base64') };
}

/** Absent (HEAD answers 404, or 400 for a version id S3 does not know) rather than an error. */
function isAbsent(error: unknown): boolean {
  const cause = (isCustodyError(error) ? error.cause : error) as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const status = cause?.$metadata?.httpStatusCode;
  return status === 404 || status === 400 || ['NotFound', 'NoSuchKey', 'NoSuchVersion'].includes(cause?.name ?? '');
}

function s3ClientFor(options: EvidenceBucketOptions): S3Client {
  return retryOnlyRealSkewCorrections(new S3Client({
    region: options.region,
    retryMode: DEFAULT_RETRY.mode,
    maxAttempts: DEFAULT_RETRY.maxAttempts,
    // We send and check SHA-256 ourselves; the SDK must not add or demand other checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // An endpoint override (the lab, an emulator) speaks path-style: http://host/BUCKET/KEY.
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  }));
}

/** The evidence bucket's Object Lock configuration, as S3 answers it. */
export interface EvidenceBucketLock {
  enabled: boolean;
  defaultRetention?: { mode?: string; days?: number; years?: number };
  requestId?: string;
}

/**
 * Reads the bucket's Object Lock configuration with the orchestrator's credentials: proves the
 * bucket exists, this role reaches it, and copies would be immutable. (S3 has no dry run for a
 * write, so this is as far as a check can go without leaving a locked object behind.)
 */
export async function readEvidenceBucketLock(options: EvidenceBucketOptions): Promise<EvidenceBucketLock> {
  const client = s3ClientFor(options);
  try {
    const { output, requestId } = await callAws('getEvidenceBucketLock', client, new GetObjectLockConfigurationCommand({ Bucket: options.bucket }), {
      resource: `arn:aws:s3:::${options.bucket}`,
    });
    const rule = output.ObjectLockConfiguration?.Rule?.DefaultRetention;
    return {
      enabled: output.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled',
      ...(rule ? { defaultRetention: { ...(rule.Mode ? { mode: rule.Mode } : {}), ...(rule.Days ? { days: rule.Days } : {}), ...(rule.Years ? { years: rule.Years } : {}) } } : {}),
      ...(requestId ? { requestId } : {}),
    };
  } catch (error) {
    const cause = (isCustodyError(error) ? error.cause : error) as { name?: string } | undefined;
    if (cause?.name === 'ObjectLockConfigurationNotFoundError') return { enabled: false };
    throw error;
  } finally {
    client.destroy();
  }
}

/**
 * Opens the evidence bucket of one case.
 *
 * @example
 * const store = openEvidenceBucket(evidenceBucketOptions(config, { caseId: 'IR-2026-0042' }));
 * await copyCase({ caseDir, store, actor: 'alice', keysDir, retention: { mode: 'COMPLIANCE', days: 365 } });
 */
export function openEvidenceBucket(options: EvidenceBucketOptions): ImmutableStore & { destroy(): void } {
  const client = s3ClientFor(options);
  const { bucket } = options;
  const keyFor = (path: string) => `${options.casePrefix}/${path}`;
  const where = (key: string) => `s3://${bucket}/${key}`;

  async function putWhole(key: string, bytes: Uint8Array, retention: UploadRequest['retention']): Promise<Omit<UploadReceipt, 'sentSha256'>> {
    const digest = sha256(bytes);
    const { output, requestId } = await callAws(
      'putEvidenceObject',
      client,
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.length,
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: digest.base64,
        ObjectLockMode: retention.mode,
        ObjectLockRetainUntilDate: retention.retainUntil,
      }),
      { resource: where(key) },
    );
    return {
      key,
      ...(output.VersionId ? { versionId: output.VersionId } : {}),
      ...(output.ETag ? { etag: output.ETag } : {}),
      checksum: {
        algorithm: 'SHA256',
        value: output.ChecksumSHA256 ?? '',
        ...(output.ChecksumType ? { type: output.ChecksumType } : {}),
      },
      expectedChecksum: digest.base64,
      requestIds: requestId ? [requestId] : [],
    };
  }

  async function putInParts(key: string, file: string, size: number, retention: UploadRequest['retention'], signal: AbortSignal | undefined): Promise<UploadReceipt> {
    const partSize = options.partSizeBytes;
    const requestIds: string[] = [];
    const started = await callAws(
      'startEvidenceUpload',
      client,
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ChecksumAlgorithm: 'SHA256',
        ObjectLockMode: retention.mode,
        ObjectLockRetainUntilDate: retention.retainUntil,
      }),
      { resource: where(key) },
    );
    if (started.requestId) requestIds.push(started.requestId);
    const uploadId = started.output.UploadId;
    if (!uploadId) throw new CustodyError('E_CLOUD', `S3 started no multipart upload for ${where(key)}`, { resource: where(key) });
    const whole = createHash('sha256');
    const composite = createHash('sha256');
    const parts: Array<{ PartNumber: number; ETag: string; ChecksumSHA256: string }> = [];
    const handle = await open(file, 'r');
    try {
      for (let offset = 0, number = 1; offset < size; offset += partSize, number++) {
        // Between parts, never inside one: the parts are abandoned below, so no object is made.
        if (signal?.aborted) {
          throw new CustodyError('E_CANCELLED', `cancelled (${abortReason(signal)}) after ${number - 1} of ${Math.ceil(size / partSize)} part(s) of ${where(key)}: the multipart upload was abandoned, no object was made`, { resource: where(key) });
        }
        const length = Math.min(partSize, size - offset);
        const buffer = Buffer.alloc(length);
        let read = 0;
        while (read < length) {
          const { bytesRead } = await handle.read(buffer, read, length - read, offset + read);
          if (bytesRead === 0) throw new CustodyError('E_VERIFY', `${file} became shorter while it was copied`, { resource: file });
          read += bytesRead;
        }
        whole.update(buffer);
        const digest = createHash('sha256').update(buffer).digest();
        composite.update(digest);
        const { output, requestId } = await callAws(
          'uploadEvidencePart',
          client,
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: number,
            Body: buffer,
            ContentLength: length,
            ChecksumAlgorithm: 'SHA256',
            ChecksumSHA256: digest.toString('base64'),
          }),
          { resource: `${where(key)} part ${number}` },
        );
        if (requestId) requestIds.push(requestId);
        if (output.ChecksumSHA256 !== undefined && output.ChecksumSHA256 !== digest.toString('base64')) {
          throw new CustodyError('E_CLOUD', `S3 reports SHA-256 ${output.ChecksumSHA256} for part ${number} of ${where(key)}, not ${digest.toString('base64')}`);
        }
        parts.push({ PartNumber: number, ETag: output.ETag ?? '', ChecksumSHA256: digest.toString('base64') });
      }
      const { output, requestId } = await callAws(
        'completeEvidenceUpload',
        client,
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        { resource: where(key) },
      );
      if (requestId) requestIds.push(requestId);
      const checksum: StoredChecksum = {
        algorithm: 'SHA256',
        value: output.ChecksumSHA256 ?? '',
        ...(output.ChecksumType ? { type: output.ChecksumType } : {}),
        parts: parts.length,
        partSize,
      };
      return {
        key,
        ...(output.VersionId ? { versionId: output.VersionId } : {}),
        ...(output.ETag ? { etag: output.ETag } : {}),
        checksum,
        expectedChecksum: `${composite.digest('base64')}-${parts.length}`,
        sentSha256: whole.digest('hex'),
        requestIds,
      };
    } catch (error) {
      // The parts of an unfinished upload are no object; abandon them so they do not linger.
      await callAws('abortEvidenceUpload', client, new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), {
        resource: where(key),
      }).catch(() => undefined);
      throw error;
    } finally {
      await handle.close();
    }
  }

  return {
    url: `s3://${bucket}/${options.casePrefix}`,
    bucket,
    keyFor,
    async upload(request) {
      const key = keyFor(request.path);
      if ('file' in request.source && request.size >= options.multipartThresholdBytes) {
        return putInParts(key, request.source.file, request.size, request.retention, request.signal);
      }
      const bytes = 'bytes' in request.source ? request.source.bytes : await readWhole(request.source.file);
      const receipt = await putWhole(key, bytes, request.retention);
      return { ...receipt, sentSha256: sha256(bytes).hex };
    },
    async inspect(path, versionId): Promise<RemoteObject | undefined> {
      const key = keyFor(path);
      try {
        const { output, requestId } = await callAws(
          'headEvidenceObject',
          client,
          new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, ChecksumMode: 'ENABLED' }),
          { resource: `${where(key)}?versionId=${versionId}` },
        );
        return {
          key,
          ...(output.VersionId ? { versionId: output.VersionId } : {}),
          ...(output.ContentLength !== undefined ? { size: output.ContentLength } : {}),
          ...(output.ChecksumSHA256 ? { checksum: { value: output.ChecksumSHA256, ...(output.ChecksumType ? { type: output.ChecksumType } : {}) } } : {}),
          retention: {
            ...(output.ObjectLockMode ? { mode: output.ObjectLockMode } : {}),
            ...(output.ObjectLockRetainUntilDate ? { retainUntil: output.ObjectLockRetainUntilDate.toISOString() } : {}),
          },
          ...(requestId ? { requestId } : {}),
        };
      } catch (error) {
        if (isAbsent(error)) return undefined;
        throw error;
      }
    },
    async download(path) {
      const key = keyFor(path);
      try {
        const { output, requestId } = await callAws('getEvidenceObject', client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
          resource: where(key),
        });
        if (!output.Body) throw new CustodyError('E_CLOUD', `S3 returned no body for ${where(key)}`);
        return {
          body: output.Body as Readable,
          ...(output.VersionId ? { versionId: output.VersionId } : {}),
          ...(requestId ? { requestId } : {}),
        };
      } catch (error) {
        if (isAbsent(error)) throw new CustodyError('E_NOT_FOUND', `${where(key)} is not in the bucket`, { cause: error, resource: where(key) });
        throw error;
      }
    },
    destroy: () => client.destroy(),
  };
}

async function readWhole(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
