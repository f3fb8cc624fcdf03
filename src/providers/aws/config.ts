/**
 * The `aws` section of the config file (zod): the registry makes it optional and composes it
 * with the other providers' sections (src/providers/config.ts).
 */
import { z } from 'zod';
import { credentialFreeUrl } from '../../core/config.js';
import { awsAccountId as accountId, awsRegion as region } from '../shared/aws-names.js';

const endpoint = z.url({ message: 'must be a URL such as http://127.0.0.1:4566' }).superRefine(credentialFreeUrl);

const MIB = 1024 * 1024;
/** S3 refuses parts smaller than 5 MiB (except the last) and larger than 5 GiB. */
const partBytes = z.number().int().min(5 * MIB, 'must be at least 5 MiB (5242880): S3 refuses smaller parts').max(5 * 1024 * MIB);

/** Default Object Lock retention of the copy: one year, like the forensics template's bucket default. */
export const DEFAULT_RETENTION_DAYS = 365;

const evidenceBucketSchema = z
  .object({
    /** The bucket's name (it must have Object Lock enabled). */
    name: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
    /** Where the bucket is (default: `aws.region`). */
    region: region.optional(),
    /** Prepended to every key: `PREFIX` + `CASE/…` (no leading slash; end it with `/` for a folder). */
    prefix: z
      .string()
      .max(512)
      .regex(/^(?!\/)[A-Za-z0-9!_.*'()\/-]*$/, 'must be an S3 key prefix without a leading slash')
      .default(''),
    retention: z
      .object({
        /** COMPLIANCE: nobody, not even the root user, can shorten or remove it. */
        mode: z.enum(['COMPLIANCE', 'GOVERNANCE']).default('COMPLIANCE'),
        days: z.number().int().min(1).max(36500).default(DEFAULT_RETENTION_DAYS),
      })
      .strict()
      .default({ mode: 'COMPLIANCE', days: DEFAULT_RETENTION_DAYS }),
    /** Files at least this large go up in parts (multipart upload). */
    multipartThresholdBytes: partBytes.default(64 * MIB),
    partSizeBytes: partBytes.default(16 * MIB),
  })
  .strict();

export const awsConfigSection = z
  .object({
    /** The account the orchestrator runs in; snapshots are copied here. */
    forensicsAccount: accountId,
    /** The forensics account's region: where copies land. */
    region,
    /** Regions a tag selector searches in every allowed account. Defaults to [region]. */
    regions: z.array(region).min(1).optional(),
    /**
     * The collector role in each target account: a role name, or an ARN pattern with
     * `{account}` (e.g. `arn:aws:iam::{account}:role/forensics/CloudCustodyCollector`).
     */
    collectorRole: z.string().min(1).default('CloudCustodyCollector'),
    externalId: z.string().min(2).max(1224).optional(),
    /** STS session length; role chaining caps it at 3600. */
    sessionDurationSeconds: z.number().int().min(900).max(3600).default(900),
    /** Pass an inline session policy that narrows the session to the target's ARNs. */
    narrowSessionPolicy: z.boolean().default(true),
    /** Only these accounts may be collected from. */
    allowedAccounts: z.array(accountId).min(1),
    /** The tag that marks a workload as collectable (the collector policy requires it). */
    collectionTag: z
      .object({ key: z.string().min(1).max(128), value: z.string().max(256) })
      .strict()
      .default({ key: 'ForensicsEnabled', value: 'true' }),
    kms: z
      .object({
        /**
         * Key in each target account that snapshots under `aws/ebs` are re-encrypted with before
         * sharing (the `aws/ebs` key cannot be shared). `{account}` and `{region}` are filled in.
         */
        shareableKey: z.string().min(1).default('arn:aws:kms:{region}:{account}:alias/cloud-custody-share'),
        /** The forensics account's key for the copies it keeps. */
        forensicsKey: z.string().min(1).optional(),
      })
      .strict()
      .default({ shareableKey: 'arn:aws:kms:{region}:{account}:alias/cloud-custody-share' }),
    /** copy: into the forensics account; share: share only; in-place: leave the snapshot where it is. */
    transfer: z.enum(['copy', 'share', 'in-place']).default('copy'),
    /** Lock the forensics copies (EC2 LockSnapshot, compliance mode). */
    lock: z
      .object({
        mode: z.literal('compliance').default('compliance'),
        durationDays: z.number().int().min(1).max(36500),
        coolOffHours: z.number().int().min(1).max(72).optional(),
      })
      .strict()
      .optional(),
    /** Default of `--hash`: a whole-disk SHA-256 of every preserved snapshot. */
    hash: z.boolean().default(false),
    /** Endpoint overrides (the lab, emulators). `AWS_ENDPOINT_URL_*` variables also work. */
    endpoints: z
      .object({ sts: endpoint.optional(), ec2: endpoint.optional(), kms: endpoint.optional(), ebs: endpoint.optional(), s3: endpoint.optional() })
      .strict()
      .default({}),
    /** An S3 bucket with Object Lock: closing a case copies the case folder there (see docs/deploy-aws.md). */
    evidenceBucket: evidenceBucketSchema.optional(),
    /** How long to wait for a snapshot to complete before recording a timeout. */
    snapshotTimeoutSeconds: z.number().int().min(1).default(6 * 3600),
    /**
     * The pause before a snapshot's first DescribeSnapshots poll, from which the polls back off
     * to 30 s (default 1000, DEFAULT_WAIT in snapshot-waiter.ts). Lower only for a lab whose
     * snapshots finish in milliseconds; no default here, so a config without it records none.
     */
    snapshotPollMs: z.number().int().min(10).max(60_000).optional(),
  })
  .strict();

export type AwsConfig = z.infer<typeof awsConfigSection>;
export type EvidenceBucketConfig = z.infer<typeof evidenceBucketSchema>;
