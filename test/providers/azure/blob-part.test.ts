/**
 * The blob part of an Azure collection — server-side copy from the export SAS, reads of the copy
 * (whole and ranged), the two hashes — run the same way against Azurite (Microsoft's emulator,
 * nobody here wrote it) and against the lab's own Blob Storage, so each checks the other. Only
 * sealing differs, and the test says how: Azurite answers 501 to immutability policies and legal
 * holds (custody records `seal.failed`, the target is partial); the lab seals and custody records
 * what it confirmed. `npm run test:azurite` runs this file.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { vhdFile } from '../../../src/lab/azure/vhd-export.js';
import { useAzureFixture } from './fixture.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe.each([
  { service: 'Azurite', azurite: true },
  { service: 'the lab Blob Storage', azurite: false },
])('the blob part against $service', ({ azurite }) => {
  // Azurite is a child process: on a loaded machine it takes a while to listen.
  const fx = useAzureFixture({ azurite }, { startTimeoutMs: 90_000 });

  it('copies the disk export server-side, reads it whole and by ranges, hashes disk and file; seals only where the service can', async () => {
    const kase = await fx.openTestCase('IR-BLOB');
    const ctx = fx.run(kase, { consistency: 'per-disk' });
    const disk = fx.lab.estate.ids.vmDataDisk;
    const outcome = await collectAzureTarget(ctx, parseAzureTarget(disk));
    const entries = kase.entries();
    const snapshot = [...fx.lab.estate.world.snapshots.values()].find((s) => s.sourceResourceId === disk)!;
    const file = vhdFile(snapshot.content);

    // Copy: started, then polled until success; the copy is a page blob of the export's size with custody's metadata.
    const completed = entries.find((e) => e.type === 'copy.completed')!;
    expect(completed.data).toMatchObject({ contentLength: file.length, copyProgress: `${file.length}/${file.length}` });
    const blob = ctx.clients.evidence().getBlobClient(String(completed.data.blob));
    const props = await blob.getProperties();
    expect(props).toMatchObject({ blobType: 'PageBlob', contentLength: file.length, copyStatus: 'success', metadata: { caseid: 'IR-BLOB', evidenceid: expect.stringMatching(/^ev-/) } });

    // Reads: whole, a middle range, the footer range, and past the end.
    expect((await readAll((await blob.download(0)).readableStreamBody)).equals(file)).toBe(true);
    const middle = await blob.download(1024, 2048);
    expect(middle.contentRange).toBe(`bytes 1024-3071/${file.length}`);
    expect((await readAll(middle.readableStreamBody)).equals(file.subarray(1024, 3072))).toBe(true);
    const footer = await readAll((await blob.download(file.length - 512)).readableStreamBody);
    expect(footer.subarray(0, 8).toString('latin1')).toBe('conectix');
    await expect(blob.download(file.length + 512)).rejects.toMatchObject({ statusCode: 416 });

    // Hashes of the preserved copy: the disk (without the footer) and the file.
    const hashed = entries.find((e) => e.type === 'evidence.hashed')!;
    expect(hashed.data).toMatchObject({ diskSha256: sha(snapshot.content), fileSha256: sha(file), footer: { matchesLength: true } });
    // …and the ETag of the bytes hashed, as Get Blob answered it (a seal must lock those, not later ones).
    expect(hashed.data.etag).toBe(props.etag);
    // …and their Last-Modified, Storage's own time of them: the seal's If-Unmodified-Since.
    expect(hashed.data.lastModified).toBe(props.lastModified!.toISOString());
    expect(entries.find((e) => e.type === 'seal.requested')!.data.ifUnmodifiedSince).toBe(props.lastModified!.toUTCString());
    // Azurite has no blob versioning (no x-ms-version-id): there the seal can only name the blob.
    if (azurite) expect(hashed.data.versionId).toBeUndefined();
    else expect(hashed.data.versionId).toBe(props.versionId);

    // Storage's clock, from its first answer (Azurite's own Date, or the lab's), named by that answer's request id.
    const storageClock = entries.filter((e) => e.type === 'clock.observed' && e.data.service === 'storage');
    expect(storageClock).toHaveLength(1);
    expect(Math.abs(Number(storageClock[0]!.data.storageClockOffsetMs))).toBeLessThan(1_500);
    expect(storageClock[0]!.data.requestId).toMatch(/\S/);

    if (azurite) {
      expect(outcome.status).toBe('partial');
      expect(String(entries.find((e) => e.type === 'seal.failed')!.data.reason)).toContain('HTTP 501');
      expect(entries.some((e) => e.type === 'evidence.sealed')).toBe(false);
    } else {
      expect(outcome.status, outcome.reason).toBe('collected');
      expect(entries.find((e) => e.type === 'evidence.sealed')!.data).toMatchObject({ mode: 'Unlocked', legalHold: true, versionId: props.versionId, etag: props.etag });
      expect(await blob.getProperties()).toMatchObject({ legalHold: true, immutabilityPolicyMode: 'Unlocked' });
    }
    await kase.close();
  });
});
