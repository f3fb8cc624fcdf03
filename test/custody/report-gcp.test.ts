/**
 * A GCP snapshot in the report: counsel reads that no content hash exists for it (Compute Engine
 * offers none) and that it is consistent per disk only — not an invented hash.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { openCase, renderReport } from '../../src/custody/index.js';
import { CONSISTENCY, NO_CONTENT_HASH } from '../../src/providers/gcp/snapshot.js';
import { caseOptions, useScratch } from './helpers.js';

const scratch = useScratch();
const WEB_1 = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';

describe('report: GCP snapshots', () => {
  it('states that no content hash exists and that each disk is its own point in time', async () => {
    const kase = await openCase(caseOptions(scratch));
    await kase.recordArtifact({
      evidenceId: 'ev-0123456789ab',
      kind: 'gce-snapshot',
      source: '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/disks/web-1',
      target: WEB_1,
      cloudIds: { snapshotId: '4711', snapshotName: 'custody-ev-0123456789ab', project: 'custody-forensics', sourceDiskId: '815' },
      details: { storageBytes: '1024', contentHash: NO_CONTENT_HASH, consistency: CONSISTENCY },
    });
    await kase.close({});
    const markdown = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    expect(markdown).toContain('snapshotName=custody-ev-0123456789ab');
    expect(markdown).toContain('content hash: none: Compute Engine offers no content hash');
    expect(markdown).toContain('not consistent with the snapshots of the instance');
  });
});
