/**
 * The lab's own certificate authority, made fresh at lab start: the Azure SDKs refuse bearer
 * tokens and authority hosts over plain http (docs/research/azure.md §10.1), so the loopback
 * Entra and ARM servers speak https with a leaf signed by this CA. The product trusts it the way
 * it would trust a corporate TLS proxy: `NODE_EXTRA_CA_CERTS` (or `azure.caFile`), never a
 * lab-only switch. Built with node:crypto (ECDSA P-256) and a minimal DER writer, so the lab
 * needs no openssl and no extra package.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';

export interface LabTls {
  /** PEM of the CA certificate: what a client adds to its trust store. */
  caPem: string;
  /** PEM of the server certificate and key (127.0.0.1, ::1, localhost). */
  certPem: string;
  keyPem: string;
}

function der(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}
const seq = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => der(0x31, Buffer.concat(items));
const octets = (content: Buffer) => der(0x04, content);
const bool = (value: boolean) => der(0x01, Buffer.from([value ? 0xff : 0]));
const utf8 = (text: string) => der(0x0c, Buffer.from(text, 'utf8'));
const explicit = (n: number, content: Buffer) => der(0xa0 + n, content);

/**
 * A non-negative DER INTEGER of big-endian `bytes`, in its one minimal form: leading zero bytes
 * dropped (a random serial starts with one every 256th time, and OpenSSL refuses the certificate
 * then), and one zero put back when the first byte's high bit would read as a sign.
 */
export function derInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const minimal = bytes.subarray(start);
  return der(0x02, minimal[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [a * 40 + b];
  for (const n of rest) {
    const groups: number[] = [];
    let v = n;
    do {
      groups.unshift(v & 0x7f);
      v >>>= 7;
    } while (v > 0);
    for (let i = 0; i < groups.length - 1; i++) groups[i]! |= 0x80;
    out.push(...groups);
  }
  return der(0x06, Buffer.from(out));
}

function generalizedTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return der(0x18, Buffer.from(text, 'latin1'));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const name = (commonName: string) => seq(set(seq(oid('2.5.4.3'), utf8(commonName))));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

function certificate(options: {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signer: KeyObject;
  ca: boolean;
}): Buffer {
  const now = Date.now();
  const extensions = [
    extension('2.5.29.19', true, seq(...(options.ca ? [bool(true)] : []))), // basicConstraints
    // keyUsage: CA → keyCertSign + cRLSign; leaf → digitalSignature
    extension('2.5.29.15', true, options.ca ? der(0x03, Buffer.from([1, 0x06])) : der(0x03, Buffer.from([7, 0x80]))),
  ];
  if (!options.ca) {
    const san = seq(der(0x82, Buffer.from('localhost')), der(0x87, Buffer.from([127, 0, 0, 1])), der(0x87, Buffer.alloc(16, 0).fill(1, 15)));
    extensions.push(extension('2.5.29.17', false, san));
    extensions.push(extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1')))); // serverAuth
  }
  const tbs = seq(
    explicit(0, der(0x02, Buffer.from([2]))),
    derInteger(randomBytes(16)),
    ECDSA_SHA256,
    name(options.issuer),
    seq(generalizedTime(new Date(now - 60_000)), generalizedTime(new Date(now + 7 * 86_400_000))),
    name(options.subject),
    options.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, { key: options.signer, dsaEncoding: 'der' });
  return seq(tbs, ECDSA_SHA256, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
}

const pem = (label: string, body: Buffer) =>
  `-----BEGIN ${label}-----\n${body.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;

/** A new CA and a loopback server certificate it signed. The CA key is discarded. */
export function createLabTls(): LabTls {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caDer = certificate({ subject: 'cloud-custody lab CA', issuer: 'cloud-custody lab CA', publicKey: ca.publicKey, signer: ca.privateKey, ca: true });
  const leafDer = certificate({ subject: 'localhost', issuer: 'cloud-custody lab CA', publicKey: leaf.publicKey, signer: ca.privateKey, ca: false });
  const caCert = new X509Certificate(caDer);
  const leafCert = new X509Certificate(leafDer);
  // Self-check: a certificate this module cannot verify would fail later with a far vaguer TLS error.
  if (!leafCert.checkIssued(caCert) || !leafCert.verify(caCert.publicKey)) throw new Error('lab TLS: the server certificate does not verify against the lab CA');
  const keyPem = createPrivateKey(leaf.privateKey.export({ type: 'pkcs8', format: 'pem' })).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { caPem: pem('CERTIFICATE', caDer), certPem: pem('CERTIFICATE', leafDer), keyPem };
}
