/**
 * block-signer.ts signs GetSnapshotBlock as the SDK's signer (`@smithy/signature-v4`, configured as
 * the block client configured it) would: the same headers, byte for byte, over requests chosen to
 * reach every rule (path normalisation and escaping, query escaping, session tokens or none,
 * header whitespace, regions, UTC days, a renewed secret after the signing key was cached).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { BlockSigner, canonicalPath } from '../../../src/providers/aws/block-signer.js';
import type { SigningCredentials } from '../../../src/providers/aws/block-signer.js';

async function sdkHeaders(region: string, host: string, path: string, token: string, credentials: SigningCredentials, date: Date): Promise<Record<string, string>> {
  const signer = new SignatureV4({ service: 'ebs', region, credentials, sha256: Sha256, uriEscapePath: true, applyChecksum: false });
  const [hostname, port] = host.split(':');
  const signed = await signer.sign(
    { method: 'GET', protocol: 'https:', hostname: hostname!, ...(port ? { port: Number(port) } : {}), path, query: { blockToken: token }, headers: { host } },
    { signingDate: date },
  );
  return signed.headers as Record<string, string>;
}

/** RFC 3986 escaping from its definition (every UTF-8 byte outside the unreserved set as %XX), independent of the signer's. */
const rfc3986 = (text: string) => [...Buffer.from(text, 'utf8')].map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

const blockPath = (base: string, snapshotId: string, index: number) => `${base}/snapshots/${encodeURIComponent(snapshotId)}/blocks/${index}`;

describe('GetSnapshotBlock signer', () => {
  it('gives the SDK signer\'s headers for requests that reach every rule', async () => {
    const bases = ['', '/prefix', '/a/./b/../c', '//double//slashes', '/ends/', '/sp ace/ü', "/it's/(x)*!"];
    const tokens = ['AAUBA+uAYaU/2p7s=', "f!x*'()~-_.", ' lead and trail ', 'ünï/cödé=+', randomBytes(60).toString('base64'), ''];
    const snapshots = ['snap-0123456789abcdef0', 'snap with/slash', "snap!'()*"];
    // Whitespace the SDK folds (spaces, tabs, line breaks) and whitespace it keeps (a no-break space, a form feed).
    const sessions: Array<string | undefined> = [undefined, 'IQoJb3JpZ2luX2VjE' + randomBytes(200).toString('base64'), '  token \t with   spaces ', '', 'no\u00a0break\u00a0', 'form\ffeed'];
    const hosts = ['ebs.eu-west-1.amazonaws.com', '127.0.0.1:4566', 'ebs-fips.us-gov-west-1.amazonaws.com'];
    const dates = [new Date('2026-12-02T23:59:59.999Z'), new Date('2027-01-01T00:00:00.000Z'), new Date('2024-02-29T12:34:56.789Z')];
    let compared = 0;
    for (const [i, base] of bases.entries()) {
      for (const [j, token] of tokens.entries()) {
        const session = sessions[(i + j) % sessions.length];
        const credentials: SigningCredentials = { accessKeyId: `AKIA${i}${j}`, secretAccessKey: `secret/${i}+${j}`, ...(session !== undefined ? { sessionToken: session } : {}) };
        const region = ['eu-west-1', 'us-gov-west-1', 'cn-north-1'][j % 3]!;
        const host = hosts[(i * 7 + j) % hosts.length]!;
        const date = dates[(i + 2 * j) % dates.length]!;
        const path = blockPath(base, snapshots[(i + j) % snapshots.length]!, i * 1000 + j);
        const ours = new BlockSigner(region).sign(path, { name: 'blockToken', value: token }, host, credentials, date);
        expect(ours.headers).toEqual(await sdkHeaders(region, host, path, token, credentials, date));
        expect(ours.query).toBe(`blockToken=${rfc3986(token)}`);
        compared += 1;
      }
    }
    expect(compared).toBe(bases.length * tokens.length);
  });

  it('signs with a renewed secret and a new day, not with the signing key it cached', async () => {
    const signer = new BlockSigner('eu-west-1');
    const path = blockPath('', 'snap-0aaa', 3);
    const steps: Array<[SigningCredentials, Date]> = [
      [{ accessKeyId: 'AKIAONE', secretAccessKey: 'first', sessionToken: 'one' }, new Date('2026-12-02T23:59:58Z')],
      [{ accessKeyId: 'AKIAONE', secretAccessKey: 'first', sessionToken: 'one' }, new Date('2026-12-02T23:59:59Z')],
      [{ accessKeyId: 'AKIATWO', secretAccessKey: 'second', sessionToken: 'two' }, new Date('2026-12-02T23:59:59Z')],
      [{ accessKeyId: 'AKIATWO', secretAccessKey: 'second', sessionToken: 'two' }, new Date('2026-12-03T00:00:00Z')],
    ];
    const signatures = new Set<string>();
    for (const [credentials, date] of steps) {
      const ours = signer.sign(path, { name: 'blockToken', value: 'tok' }, 'ebs.eu-west-1.amazonaws.com', credentials, date);
      expect(ours.headers).toEqual(await sdkHeaders('eu-west-1', 'ebs.eu-west-1.amazonaws.com', path, 'tok', credentials, date));
      signatures.add(ours.headers.authorization!);
    }
    expect(signatures.size).toBe(steps.length);
  });

  it('normalises paths as the SDK does', () => {
    expect(canonicalPath('/a/./b/../c/')).toBe('/a/c/');
    expect(canonicalPath('/snapshots/snap%2Fx/blocks/1')).toBe('/snapshots/snap%252Fx/blocks/1');
    expect(canonicalPath('/')).toBe('/');
    expect(canonicalPath('/..')).toBe('/');
  });

  it('refuses credentials without a key id or secret instead of signing with "undefined"', () => {
    expect(() => new BlockSigner('eu-west-1').sign('/x', { name: 'blockToken', value: 't' }, 'h', { accessKeyId: 'AKIA' } as SigningCredentials)).toThrow(/not valid/);
  });
});
