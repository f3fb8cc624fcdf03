/**
 * The KMS keys that matter to a target: the keys its volumes are encrypted under (is it the
 * AWS-managed `aws/ebs` key, which cannot be shared?) and the shareable key snapshots are
 * re-encrypted with. Described once per key for the whole run, stored as `kms-keys.json`.
 */
import type { Volume } from '@aws-sdk/client-ec2';
import { fillKeyPattern, type DescribedKey } from './kms-keys.js';
import { jsonEvidence, runStep, storedBefore, storeEvidenceOnce, type TargetRun } from './run.js';

/** The keys described, and how to write them as `kms-keys.json` (undefined: nothing to write). */
export interface KeysDescribed {
  /** The shareable key's description (undefined when it could not be described or is not needed). */
  shareable: DescribedKey | undefined;
  /** Stores `kms-keys.json` (a failure is a recorded step; only `E_LEDGER` rejects). */
  store: (() => Promise<void>) | undefined;
}

/** Describes the keys; the caller decides when to write the file (`store`). */
export async function describeKeys(run: TargetRun, volumes: Volume[]): Promise<KeysDescribed> {
  const { target } = run;
  const needShareable = run.aws.transfer !== 'in-place';
  const shareableRef = fillKeyPattern(run.aws.kms.shareableKey, target.account, target.region);
  const volumeKeys = [...new Set(volumes.map((v) => v.KmsKeyId).filter((k): k is string => typeof k === 'string'))];
  const described: DescribedKey[] = [];
  let shareable: DescribedKey | undefined;
  await Promise.all(
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
  if (described.length === 0 || storedBefore(run, run.evidenceId, 'kms-keys.json')) return { shareable, store: undefined };
  // Sorted: the same keys always give the same file, whatever order the answers came in.
  const unique = [...new Map(described.map((d) => [d.metadata.Arn ?? d.requested, d])).values()].sort((a, b) =>
    `${a === shareable ? 0 : 1}${a.metadata.Arn ?? a.requested}`.localeCompare(`${b === shareable ? 0 : 1}${b.metadata.Arn ?? b.requested}`),
  );
  return { shareable, store: () => storeKeyDescriptions(run, unique, shareable) };
}

async function storeKeyDescriptions(run: TargetRun, unique: DescribedKey[], shareable: DescribedKey | undefined): Promise<void> {
  const { target } = run;
  await runStep(run, 'store-key-descriptions', async () => {
    const requestIds = [...new Set(unique.map((d) => d.requestId).filter((r): r is string => typeof r === 'string'))];
    await storeEvidenceOnce(run, {
      evidenceId: run.evidenceId,
      name: 'kms-keys.json',
      kind: 'kms-key-descriptions',
      source: target.arn,
      content: jsonEvidence({
        api: 'kms:DescribeKey',
        keys: unique.map((d) => ({
          requested: d.requested,
          role: d === shareable ? 'shareable' : 'volume',
          keyMetadata: d.metadata,
        })),
      }),
      mediaType: 'application/json',
      target: target.arn,
      requestIds,
    });
  });
}
