/**
 * The lab's S3: buckets (optionally with Object Lock, which implies versioning), object versions
 * with their SHA-256 checksum and retention, and multipart uploads in progress. Tests may reach
 * in to play what S3 itself would never allow (a version removed, a retention lifted) and check
 * that verify names it.
 */
export interface LabObjectVersion {
  key: string;
  versionId: string;
  body: Buffer;
  etag: string;
  /** As S3 reports it: base64, and `-N` for a composite multipart checksum. */
  checksumSHA256?: string;
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  lockMode?: 'COMPLIANCE' | 'GOVERNANCE';
  /** Lab ms. */
  retainUntil?: number;
  lastModified: number;
}

export interface LabUploadPart {
  body: Buffer;
  etag: string;
  checksumSHA256?: string;
}

export interface LabMultipartUpload {
  uploadId: string;
  key: string;
  checksumAlgorithm?: string;
  lockMode?: 'COMPLIANCE' | 'GOVERNANCE';
  retainUntil?: number;
  parts: Map<number, LabUploadPart>;
}

export interface LabBucket {
  name: string;
  /** The owning account: the bucket policy lets no other account in. */
  account: string;
  region: string;
  objectLock: boolean;
  /** The bucket's default COMPLIANCE retention (GetObjectLockConfiguration); default 365 days. */
  defaultRetentionDays?: number;
  /** Every version of every key, oldest first. */
  objects: Map<string, LabObjectVersion[]>;
  uploads: Map<string, LabMultipartUpload>;
}

export class LabS3Store {
  readonly buckets = new Map<string, LabBucket>();
  private counter = 0;

  createBucket(name: string, options: { account: string; region: string; objectLock?: boolean }): LabBucket {
    const bucket: LabBucket = {
      name,
      account: options.account,
      region: options.region,
      objectLock: options.objectLock ?? false,
      objects: new Map(),
      uploads: new Map(),
    };
    this.buckets.set(name, bucket);
    return bucket;
  }

  /** A fresh opaque id (version ids, upload ids). */
  nextId(prefix: string): string {
    this.counter += 1;
    return `${prefix}${this.counter.toString(36).padStart(6, '0')}${Math.random().toString(36).slice(2, 12)}`;
  }

  /** The newest version of a key, or the named one. */
  version(bucket: LabBucket, key: string, versionId?: string): LabObjectVersion | undefined {
    const versions = bucket.objects.get(key) ?? [];
    return versionId === undefined ? versions[versions.length - 1] : versions.find((v) => v.versionId === versionId);
  }
}
