/**
 * The KMS keys that matter to a target: the keys its volumes are encrypted under (is it the
 * AWS-managed `aws/ebs` key, which cannot be shared?) and the shareable key snapshots are
 * re-encrypted with. Described once per key for the whole run; an instance's keys are a section
 * of its `instance.json`, a volume target's are stored as `kms-keys.json`.
 */
import type { Volume } from '@aws-sdk/client-ec2';
import { fillKeyPattern, type DescribedKey } from './kms-keys.js';
import { runStep, storedBefore, storeEvidenceOnce, type TargetRun } from './run.js';
import { jsonEvidence } from '../../core/redact-json.js';
import { allSettledOrThrow } from '../../core/kernel.js';

/** What DescribeKey answered for a target: its evidence file's section (or file, `kms-keys.json`). */
export interface KeySection {
  api: 'kms:DescribeKey';
  keys: Array<{ requested: string; role: 'shareable' | 'volume'; keyMetadata: DescribedKey['metadata'] }>;
}

/** The keys described. */
export interface KeysDescribed {
  /** The shareable key's description (undefined when it could not be described or is not needed). */
  shareable: DescribedKey | undefined;
  /** The keys described, as written to the case (undefined: none was described). */
  section: KeySection | undefined;
  /** The request ids of the DescribeKey calls behind `section`. */
  requestIds: string[];
}

/** Describes the keys; the caller decides where and when to write them. */
export async function describeKeys(run: TargetRun, volumes: Volume[]): Promise<KeysDescribed> {
  const { target } = run;
  const needShareable = run.aws.transfer !== 'in-place';
  const shareableRef = fillKeyPattern(run.aws.kms.shareableKey, target.account, target.region);
  const volumeKeys = [...new Set(volumes.map((v) => v.KmsKeyId).filter((k): k is string => typeof k === 'string'))];
  const described: DescribedKey[] = [];
  let shareable: DescribedKey | undefined;
  await allSettledOrThrow(
    volumeKeys.map(async (keyId) => {
      const r = await runStep(run, 'describe-key', () => run.scope.keys.describe(keyId), { keyId });
      if (r.ok) described.push(r.value);
    }),
  );
  if (needShareable) {
    const r = await runStep(run, 'describe-shareable-key', () => run.scope.keys.describe(shareableRef), { keyId: shareableRef });
    if (r.ok) {
      shareable = r.value;
      described.push(r.value);
    }
  }
  if (described.length === 0) return { shareable, section: undefined, requestIds: [] };
  // Sorted: the same keys always give the same bytes, whatever order the answers came in.
  const unique = [...new Map(described.map((d) => [d.metadata.Arn ?? d.requested, d])).values()].sort((a, b) =>
    `${a === shareable ? 0 : 1}${a.metadata.Arn ?? a.requested}`.localeCompare(`${b === shareable ? 0 : 1}${b.metadata.Arn ?? b.requested}`),
  );
  return {
    shareable,
    section: {
      api: 'kms:DescribeKey',
      keys: unique.map((d) => ({ requested: d.requested, role: d === shareable ? 'shareable' : 'volume', keyMetadata: d.metadata })),
    },
    requestIds: [...new Set(unique.map((d) => d.requestId).filter((r): r is string => typeof r === 'string'))],
  };
}

/** Stores a volume target's keys as `kms-keys.json` (a failure is a recorded step; only `E_LEDGER` rejects). */
export async function storeKeyDescriptions(run: TargetRun, keys: KeysDescribed): Promise<void> {
  const { section } = keys;
  if (!section || storedBefore(run, run.evidenceId, 'kms-keys.json')) return;
  await runStep(run, 'store-key-descriptions', async () => {
    await storeEvidenceOnce(run, {
      evidenceId: run.evidenceId,
      name: 'kms-keys.json',
      kind: 'kms-key-descriptions',
      source: run.target.arn,
      ...jsonEvidence(section),
      mediaType: 'application/json',
      target: run.target.arn,
      requestIds: keys.requestIds,
    });
  });
}
