import { createHash, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { recordableClaims } from '../../../src/providers/azure/token-claims.js';
import { hashVhdStream, parseVhdFooter } from '../../../src/providers/azure/vhd.js';
import { buildFixedVhdFooter } from '../../../src/lab/azure/vhd-export.js';
import { createLabTls } from '../../../src/lab/azure/tls.js';

const jwt = (payload: object) => `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2lnbmF0dXJl`;

describe('token claims', () => {
  it('a v1.0 app token yields tenant, object id, appid and expiry, and nothing of the token', () => {
    const token = jwt({ tid: 't-1', oid: 'o-1', appid: 'a-1', ver: '1.0', aud: 'https://management.azure.com', exp: 1_800_000_000, iat: 1_799_996_400 });
    const claims = recordableClaims(token);
    expect(claims).toEqual({
      tenantId: 't-1',
      objectId: 'o-1',
      appId: 'a-1',
      audience: 'https://management.azure.com',
      expiresAt: '2027-01-15T08:00:00.000Z',
      issuedAt: '2027-01-15T07:00:00.000Z',
      version: '1.0',
    });
    expect(JSON.stringify(claims)).not.toContain('c2lnbmF0dXJl');
  });

  it('v2.0 reads azp; scp becomes a list; roles stay absent when missing; an opaque token yields nothing', () => {
    expect(recordableClaims(jwt({ azp: 'a-2', scp: 'user_impersonation read', ver: '2.0' }))).toEqual({ appId: 'a-2', scopes: ['user_impersonation', 'read'], version: '2.0' });
    expect(recordableClaims('opaque-token')).toBeUndefined();
  });
});

async function* chunks(buffer: Buffer, size: number) {
  for (let i = 0; i < buffer.length; i += size) yield buffer.subarray(i, i + size);
}

describe('VHD hashing', () => {
  const disk = Buffer.alloc(256 * 1024 + 4096);
  for (let i = 0; i < disk.length; i += 4096) disk.write(`block ${i}`, i);
  const file = Buffer.concat([disk, buildFixedVhdFooter(disk.length)]);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it.each([1, 511, 512, 513, 65536])('records the file hash and the disk hash without the footer (chunks of %i bytes)', async (size) => {
    const hashes = await hashVhdStream(chunks(file, size));
    expect(hashes).toEqual({
      fileSha256: sha(file),
      fileBytes: file.length,
      diskSha256: sha(disk),
      diskBytes: disk.length,
      footer: { currentSize: String(disk.length), diskType: 2, matchesLength: true },
    });
  });

  it('a file without a footer gets only its file hash', async () => {
    const hashes = await hashVhdStream(chunks(disk, 1000));
    expect(hashes.diskSha256).toBeUndefined();
    expect(hashes.fileSha256).toBe(sha(disk));
    expect(parseVhdFooter(Buffer.alloc(512))).toBeUndefined();
  });
});

describe('lab TLS', () => {
  it('makes a CA and a loopback server certificate that verifies against it', () => {
    const tls = createLabTls();
    const ca = new X509Certificate(tls.caPem);
    const leaf = new X509Certificate(tls.certPem);
    expect(ca.ca).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkHost('localhost')).toBe('localhost');
  });
});
