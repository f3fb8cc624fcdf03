/**
 * KMS key descriptions, cached per key for the run: twenty instances under `aws/ebs` cost one
 * DescribeKey, not twenty. Entries are kept under the id asked for and the key ARN returned.
 */
import { DescribeKeyCommand, type KeyMetadata } from '@aws-sdk/client-kms';
import type { ScopeCaller } from './scope.js';

export interface DescribedKey {
  metadata: KeyMetadata;
  /** What was asked for (key id, key ARN or alias ARN). */
  requested: string;
  requestId: string | undefined;
}

export class KeyDirectory {
  private readonly cache = new Map<string, Promise<DescribedKey>>();

  constructor(private readonly caller: ScopeCaller) {}

  describe(keyId: string): Promise<DescribedKey> {
    let entry = this.cache.get(keyId);
    if (!entry) {
      entry = this.caller
        .kms('describeKey', new DescribeKeyCommand({ KeyId: keyId }), keyId)
        .then(({ output, requestId }) => {
          const metadata: KeyMetadata = output.KeyMetadata ?? { KeyId: keyId };
          const described: DescribedKey = { metadata, requested: keyId, requestId };
          if (metadata.Arn && !this.cache.has(metadata.Arn)) this.cache.set(metadata.Arn, Promise.resolve(described));
          return described;
        });
      // A failure is not cached: the next target may ask again.
      entry.catch(() => this.cache.delete(keyId));
      this.cache.set(keyId, entry);
    }
    return entry;
  }
}

/** Fills `{account}` and `{region}` in a configured key reference. */
export function fillKeyPattern(pattern: string, account: string, region: string): string {
  return pattern.replaceAll('{account}', account).replaceAll('{region}', region);
}
