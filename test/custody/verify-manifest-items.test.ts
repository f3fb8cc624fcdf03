/**
 * A manifest signed with the case's own key that lists other evidence than the ledger records
 * (the key holder signed other contents): verify names the first item that differs, so the
 * examiner need not diff the two by hand to learn which file or artefact it is.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { UnsignedManifest } from '../../src/custody/manifest.js';
import { verifyCase, type CaseHandle } from '../../src/custody/index.js';
import { buildClosedCase, resignManifest, unsignedManifestOf, useScratch } from './helpers.js';

// buildClosedCase: 3-4 evidence.stored (instance.json, console-output.log), 7-8 artifact.recorded.
const INSTANCE_JSON = 'evidence/ev-aaaaaaaaaaaa/instance.json';

describe('verify: a signed manifest that lists other evidence than the ledger', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  let manifest: UnsignedManifest;

  const resign = (changed: UnsignedManifest) => resignManifest(kase, changed);
  const mismatch = async () => {
    const result = await verifyCase(kase.caseDir);
    expect(result.problems.map((p) => [p.kind, p.path])).toEqual([['manifest-mismatch', 'manifest.json']]);
    return result.problems[0]!.message;
  };

  beforeEach(async () => {
    kase = await buildClosedCase(scratch);
    manifest = await unsignedManifestOf(kase);
    await resign(manifest);
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
  });

  it('a file listed with another hash is named, with its entry and the fields that differ', async () => {
    await resign({ ...manifest, files: manifest.files.map((f) => (f.path === INSTANCE_JSON ? { ...f, sha256: '0'.repeat(64), size: f.size + 1 } : f)) });
    expect(await mismatch()).toBe(
      `the evidence listed in manifest.json differs from what the ledger records: ${INSTANCE_JSON} is listed otherwise than entry 3 records it (sha256, size)`,
    );
  });

  it('a recorded file left out of the manifest, and one listed that nothing records, are named and counted', async () => {
    const listed = manifest.files.filter((f) => f.path !== INSTANCE_JSON);
    const planted = { ...listed[0]!, path: 'evidence/ev-aaaaaaaaaaaa/planted.bin', name: 'planted.bin' };
    await resign({ ...manifest, files: [...listed, planted] });
    expect(await mismatch()).toBe(
      `the evidence listed in manifest.json differs from what the ledger records: ${INSTANCE_JSON} (entry 3) is not listed in manifest.json (and 1 more difference: evidence/ev-aaaaaaaaaaaa/planted.bin is listed in manifest.json but no ledger entry records it)`,
    );
  });

  it('an artefact left out of the manifest is named by its evidence id, kind and source', async () => {
    await resign({ ...manifest, artifacts: [] });
    expect(await mismatch()).toBe(
      'the evidence listed in manifest.json differs from what the ledger records: the ebs-snapshot artefact of ev-bbbbbbbbbbbb from arn:aws:ec2:us-east-1:222222222222:volume/vol-0123 (entry 8) is not listed in manifest.json',
    );
  });
});
