import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { CustodyError } from './errors.js';

const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1');
const endpoint = z.url({ message: 'must be a URL such as http://127.0.0.1:4566' });

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

const awsSchema = z
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
      .optional(),
    /** Endpoint overrides (the lab, emulators). `AWS_ENDPOINT_URL_*` variables also work. */
    /** Default of `--hash`: a whole-disk SHA-256 of every preserved snapshot. */
    hash: z.boolean().default(false),
    endpoints: z
      .object({ sts: endpoint.optional(), ec2: endpoint.optional(), kms: endpoint.optional(), ebs: endpoint.optional(), s3: endpoint.optional() })
      .default({}),
    /** An S3 bucket with Object Lock: closing a case copies the case folder there (see docs/deploy-aws.md). */
    evidenceBucket: evidenceBucketSchema.optional(),
    /** How long to wait for a snapshot to complete before recording a timeout. */
    snapshotTimeoutSeconds: z.number().int().min(1).default(6 * 3600),
  })
  .strict();

const clusterSchema = z
  .object({
    /** A kubeconfig file and context (defaults: $KUBECONFIG / ~/.kube/config, current context). */
    kubeconfig: z.string().optional(),
    context: z.string().optional(),
    /** An EKS cluster reached with a token minted from the collector role in `account`. */
    eks: z.object({ name: z.string().min(1), account: accountId, region }).strict().optional(),
    /** API server URL (required with `eks`). */
    server: z.url().optional(),
    caFile: z.string().optional(),
    skipTLSVerify: z.boolean().optional(),
    /** Where the nodes run, to snapshot them: the AWS account and region of the node instances. */
    nodeAccount: accountId.optional(),
    nodeRegion: region.optional(),
    /**
     * `--retrieve-checkpoint`: the namespace the helper pod that copies a checkpoint archive off
     * the node runs in (it mounts the node's checkpoint folder read-only, so the namespace must
     * admit hostPath volumes), and the image it runs (pin it by digest).
     */
    forensicsNamespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name').optional(),
    helperImage: z.string().min(1).optional(),
  })
  .strict();

const configSchema = z
  .object({
    /** Where case folders are created. Relative paths are relative to the config file. */
    casesDir: z.string().min(1).default('cases'),
    /** Where generated signing keys are kept (mode 0600), outside the case folders. */
    keysDir: z.string().min(1).optional(),
    /** An existing Ed25519 private key (PEM, PKCS#8) to sign ledgers with. */
    signingKeyFile: z.string().min(1).optional(),
    /** The analyst, when not given with --analyst; otherwise the caller identity. */
    analyst: z.string().min(1).optional(),
    concurrency: z
      .object({
        /** Targets collected at once in one account and region. */
        perScope: z.number().int().min(1).max(100).default(10),
        /** Targets collected at once overall. */
        total: z.number().int().min(1).max(1000).default(64),
      })
      .default({ perScope: 10, total: 64 }),
    aws: awsSchema.optional(),
    kubernetes: z.object({ clusters: z.record(z.string(), clusterSchema) }).strict().optional(),
  })
  .strict();

export type CustodyConfig = z.infer<typeof configSchema>;
export type AwsConfig = z.infer<typeof awsSchema>;
export type EvidenceBucketConfig = z.infer<typeof evidenceBucketSchema>;
export type ClusterConfig = z.infer<typeof clusterSchema>;

/**
 * Validates a parsed config object. Throws `E_CONFIG` naming every bad field
 * (`aws.allowedAccounts[1]: must be a 12-digit AWS account id`).
 */
export function parseConfig(raw: unknown, source = 'config'): CustodyConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path
        .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
        .join('');
      return `${path || '(top level)'}: ${issue.message}`;
    });
    throw new CustodyError('E_CONFIG', `invalid ${source}:\n  ${problems.join('\n  ')}`, { resource: source });
  }
  return result.data;
}

/** Reads and validates a JSON config file; relative paths in it are resolved against its folder. */
export function loadConfigFile(path: string): CustodyConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CustodyError('E_CONFIG', `cannot read config file ${path}: ${(cause as Error).message}`, {
      cause,
      resource: path,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new CustodyError('E_CONFIG', `config file ${path} is not valid JSON: ${(cause as Error).message}`, {
      cause,
      resource: path,
    });
  }
  const config = parseConfig(raw, `config file ${path}`);
  const base = dirname(resolve(path));
  return resolveConfigPaths(config, base);
}

export function resolveConfigPaths(config: CustodyConfig, base: string): CustodyConfig {
  const abs = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(base, p));
  return {
    ...config,
    casesDir: abs(config.casesDir) ?? resolve(base, 'cases'),
    keysDir: abs(config.keysDir),
    signingKeyFile: abs(config.signingKeyFile),
  };
}

/** Default keys folder: outside any case folder, private to the user. */
export function defaultKeysDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'cloud-custody', 'keys');
}
