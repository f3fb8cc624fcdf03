/**
 * The Azure lab's certificate writer encodes serial numbers as DER requires: one minimal form.
 * A random 16-byte serial that starts with a zero byte (1 in 256) was written with it, and
 * OpenSSL refused the lab's certificate ("no start line"), failing whichever test started the lab.
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLabTls, derInteger } from '../../../src/lab/azure/tls.js';

describe('the Azure lab\'s DER integers', () => {
  it('drops leading zero bytes and adds one only before a high bit', () => {
    expect(derInteger(Buffer.from([0x00, 0x12, 0x34]))).toEqual(Buffer.from([0x02, 0x02, 0x12, 0x34]));
    expect(derInteger(Buffer.from([0x00, 0x00, 0x92]))).toEqual(Buffer.from([0x02, 0x02, 0x00, 0x92]));
    expect(derInteger(Buffer.from([0x92, 0x01]))).toEqual(Buffer.from([0x02, 0x03, 0x00, 0x92, 0x01]));
    expect(derInteger(Buffer.from([0x7f]))).toEqual(Buffer.from([0x02, 0x01, 0x7f]));
    expect(derInteger(Buffer.from([0x00, 0x00]))).toEqual(Buffer.from([0x02, 0x01, 0x00]));
  });

  it('makes certificates OpenSSL reads, many times over', () => {
    // Each round is two random serials; 300 rounds meet a leading zero byte about twice.
    for (let i = 0; i < 300; i++) {
      const tls = createLabTls();
      expect(new X509Certificate(tls.certPem).subject).toContain('localhost');
    }
  });
});
