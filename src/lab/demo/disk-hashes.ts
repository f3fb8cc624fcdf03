/**
 * The demo's check that `--hash` did its job: every volume the case preserved (an `ebs-snapshot`
 * artefact with a forensics copy) has a `disk.hashed` entry for that copy. Read from the case's
 * own ledger, after verify has checked its chain and signatures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DiskHashTally {
  preserved: number;
  hashed: number;
  /** Forensics copies without a recorded whole-disk hash. */
  missing: string[];
}

export function tallyDiskHashes(caseDir: string): DiskHashTally {
  const copies = new Set<string>();
  const hashed = new Set<string>();
  for (const line of readFileSync(join(caseDir, 'ledger.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as { type: string; data: Record<string, unknown> };
    if (entry.type === 'artifact.recorded') {
      const ids = (entry.data.cloudIds ?? (entry.data.artifact as { cloudIds?: unknown } | undefined)?.cloudIds) as Record<string, unknown> | undefined;
      if (typeof ids?.forensicsSnapshotId === 'string') copies.add(ids.forensicsSnapshotId);
    } else if (entry.type === 'disk.hashed' && typeof entry.data.snapshotId === 'string') {
      hashed.add(entry.data.snapshotId);
    }
  }
  const missing = [...copies].filter((id) => !hashed.has(id)).sort();
  return { preserved: copies.size, hashed: copies.size - missing.length, missing };
}
