// The custody claim for an Azure disk: the sealed blob is the blob whose SHA-256 the ledger
// records. Between the hash read and the seal someone with the storage account's key (a
// colleague, a script, an attacker) writes to the evidence blob; the lab's Blob Storage does it
// just before the seal's first request. The ledger must then never say that copy is sealed as hashed.
import { describe, expect, it } from 'vitest';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { newEtag } from '../../../src/lab/azure/blob-store.js';
import { LAB_EVIDENCE_ACCOUNT, LAB_EVIDENCE_CONTAINER } from '../../../src/lab/azure/scenario.js';
import { useAzureFixture } from './fixture.js';

const fx = useAzureFixture();

const evidence = () => fx.lab.estate.blobStore.container(LAB_EVIDENCE_ACCOUNT, LAB_EVIDENCE_CONTAINER)!;

describe('the evidence blob written to between its hash and its seal', () => {
  it('changed in place in a later second than the hashed Last-Modified (a Put Page): Storage refuses the policy on If-Unmodified-Since, nothing is sealed on the changed bytes, the target is partial', async () => {
    let tampered = '';
    fx.lab.blob!.faults.push({
      operation: 'Blob_SetImmutabilityPolicy',
      times: 1,
      before: ({ container, name, now }) => {
        // As a Put Page two seconds after the copy was written does: new bytes, new ETag, new Last-Modified.
        const version = container.blobs.get(name)!.current!;
        version.content[0] = version.content[0]! ^ 0xff;
        version.etag = newEtag();
        version.lastModified = new Date(now + 2_000);
        tampered = name;
      },
    });
    const kase = await fx.openTestCase('IR-AZ-INPLACE-LATER');
    const outcome = await collectAzureTarget(fx.run(kase, { consistency: 'per-disk' }), parseAzureTarget(fx.lab.estate.ids.vm));
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain(`copy ${tampered} is hashed but not sealed: Storage refused the immutability policy because ${tampered} was modified after`);

    const about = kase.entries().filter((e) => e.data.blob === tampered);
    expect(about.map((e) => e.type).slice(-3)).toEqual(['evidence.hashed', 'seal.requested', 'seal.failed']);
    const hashed = about.find((e) => e.type === 'evidence.hashed')!.data;
    const requested = about.find((e) => e.type === 'seal.requested')!.data;
    const failed = about.find((e) => e.type === 'seal.failed')!.data;
    // The condition is the hashed bytes' own Last-Modified, as Storage answered the hash read.
    expect(typeof hashed.lastModified).toBe('string');
    expect(requested.ifUnmodifiedSince).toBe(new Date(String(hashed.lastModified)).toUTCString());
    expect(failed.error).toMatchObject({ requestId: expect.any(String) });
    expect(String(failed.reason)).toContain('412 ConditionNotMet on If-Unmodified-Since');
    expect(failed.confirmed).toBeUndefined();
    // Storage put nothing on the bytes this case did not hash: no policy, no hold, and the hold was not asked for.
    const now = evidence().blobs.get(tampered)!.current!;
    expect(now.immutability).toBeUndefined();
    expect(now.legalHold).toBe(false);
    const refused = fx.lab.blob!.log.find((x) => x.requestId === (failed.error as { requestId: string }).requestId)!;
    expect([refused.operation, refused.status, refused.errorCode]).toEqual(['Blob_SetImmutabilityPolicy', 412, 'ConditionNotMet']);
    expect(fx.lab.blob!.log.filter((x) => x.operation === 'Blob_SetLegalHold' && x.path.endsWith(tampered))).toEqual([]);

    // The other disk's copy was untouched: sealed, as hashed, under the same condition.
    const sealed = kase.entries().filter((e) => e.type === 'evidence.sealed');
    expect(sealed.map((e) => e.data.blob)).not.toContain(tampered);
    expect(sealed).toHaveLength(1);
    await kase.release();
  });

  it('changed in place within the second of the hashed Last-Modified (If-Unmodified-Since cannot tell): the read-back after the seal does; seal.failed names the blob and both ETags, no evidence.sealed for it, the target is partial', async () => {
    let tampered = '';
    fx.lab.blob!.faults.push({
      operation: 'Blob_SetImmutabilityPolicy',
      times: 1,
      before: ({ container, name }) => {
        const version = container.blobs.get(name)!.current!;
        version.content[0] = version.content[0]! ^ 0xff;
        version.etag = newEtag();
        tampered = name;
      },
    });
    const kase = await fx.openTestCase('IR-AZ-INPLACE');
    const outcome = await collectAzureTarget(fx.run(kase, { consistency: 'per-disk' }), parseAzureTarget(fx.lab.estate.ids.vm));
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain(`copy ${tampered} is hashed but not sealed: the sealed blob is not the copy that was hashed`);

    const about = kase.entries().filter((e) => e.data.blob === tampered);
    expect(about.map((e) => e.type).slice(-3)).toEqual(['evidence.hashed', 'seal.requested', 'seal.failed']);
    const hashed = about.find((e) => e.type === 'evidence.hashed')!.data;
    const failed = about.find((e) => e.type === 'seal.failed')!.data;
    const now = evidence().blobs.get(tampered)!.current!;
    expect(hashed.etag).toMatch(/^"0x8DD/);
    expect(hashed.versionId).toBe(now.versionId);
    expect(failed).toMatchObject({
      blob: tampered,
      hashed: { etag: hashed.etag, versionId: hashed.versionId, contentLength: hashed.fileBytes },
      found: { etag: now.etag, versionId: now.versionId, contentLength: now.content.length },
      confirmed: { mode: 'Unlocked', legalHold: true },
    });
    expect(now.etag).not.toBe(hashed.etag);
    expect(String(failed.reason)).toContain(`its ETag is ${now.etag}, the hashed copy's was ${hashed.etag}`);
    // The read-back's request id is Storage's answer to Get Blob Properties on that version.
    const readBack = failed.readBack as { requestIds: string[] };
    expect(fx.lab.blob!.log.filter((x) => readBack.requestIds.includes(x.requestId)).map((x) => [x.operation, x.status])).toEqual([['Blob_GetProperties', 200]]);

    // The other disk's copy was untouched: sealed, as hashed.
    const sealed = kase.entries().filter((e) => e.type === 'evidence.sealed');
    expect(sealed.map((e) => e.data.blob)).not.toContain(tampered);
    expect(sealed).toHaveLength(1);
    const other = kase.entries().find((e) => e.type === 'evidence.hashed' && e.data.blob === sealed[0]!.data.blob)!.data;
    expect(sealed[0]!.data).toMatchObject({ versionId: other.versionId, etag: other.etag, readBack: { etag: other.etag, versionId: other.versionId, contentLength: other.fileBytes } });
    await kase.release();
  });

  it('overwritten with a new version: the hashed version is the one sealed and kept, evidence.overwritten names the version the blob now reads, the target is partial', async () => {
    let tampered = '';
    fx.lab.blob!.faults.push({
      operation: 'Blob_SetImmutabilityPolicy',
      times: 1,
      before: ({ store, container, name, now }) => {
        store.write(container, name, { type: 'PageBlob', content: Buffer.alloc(1024, 0x41), metadata: {} }, now);
        tampered = name;
      },
    });
    const kase = await fx.openTestCase('IR-AZ-OVERWRITE');
    const outcome = await collectAzureTarget(fx.run(kase, { consistency: 'per-disk' }), parseAzureTarget(fx.lab.estate.ids.vm));
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain(`${tampered} was overwritten after it was hashed`);

    const about = kase.entries().filter((e) => e.data.blob === tampered);
    expect(about.map((e) => e.type).slice(-4)).toEqual(['evidence.hashed', 'seal.requested', 'evidence.sealed', 'evidence.overwritten']);
    const hashed = about.find((e) => e.type === 'evidence.hashed')!.data;
    const blob = evidence().blobs.get(tampered)!;
    const kept = blob.previous.find((v) => v.versionId === hashed.versionId)!;
    // Storage holds the seal on the hashed bytes, and nothing on the bytes written after.
    expect(kept.etag).toBe(hashed.etag);
    expect(kept.legalHold).toBe(true);
    expect(kept.immutability?.mode).toBe('Unlocked');
    expect(blob.current!.legalHold).toBe(false);
    expect(blob.current!.immutability).toBeUndefined();
    expect(about.find((e) => e.type === 'seal.requested')!.data.versionId).toBe(hashed.versionId);
    expect(about.find((e) => e.type === 'evidence.sealed')!.data).toMatchObject({ versionId: hashed.versionId, etag: hashed.etag, legalHold: true, mode: 'Unlocked' });
    expect(about.find((e) => e.type === 'evidence.overwritten')!.data).toMatchObject({
      blob: tampered,
      versionId: hashed.versionId,
      etag: hashed.etag,
      currentVersionId: blob.current!.versionId,
      currentEtag: blob.current!.etag,
    });
    await kase.release();
  });

  it('with a legal hold only (no immutability policy) no If-Unmodified-Since is sent, so seal.requested records none: Set Legal Hold takes no condition', async () => {
    const kase = await fx.openTestCase('IR-AZ-HOLD-ONLY');
    const outcome = await collectAzureTarget(fx.run(kase, { consistency: 'per-disk', immutabilityDays: 0, legalHold: true }), parseAzureTarget(fx.lab.estate.ids.vm));
    expect(outcome.status, outcome.reason).toBe('collected');
    const requested = kase.entries().filter((e) => e.type === 'seal.requested');
    expect(requested).toHaveLength(2);
    for (const entry of requested) {
      expect(typeof kase.entries().find((e) => e.type === 'evidence.hashed' && e.data.blob === entry.data.blob)!.data.lastModified).toBe('string');
      expect(entry.data).toMatchObject({ legalHold: true });
      // The ledger says what was asked: only a hold, and it carried no condition.
      expect(entry.data).not.toHaveProperty('ifUnmodifiedSince');
      expect(fx.lab.blob!.log.filter((x) => x.operation === 'Blob_SetImmutabilityPolicy' && x.path.endsWith(String(entry.data.blob)))).toEqual([]);
    }
    await kase.release();
  });
});
