/**
 * A managed disk exported with `fileFormat: VHD` is a fixed VHD: the raw disk followed by a
 * 512-byte footer (cookie `conectix`, big-endian current size at offset 48) — docs/research/azure.md
 * §6.2. Evidence wants both hashes: the file as copied (every byte) and the disk (the bytes before
 * the footer), which is what a hash of the disk taken any other way would give.
 */
import { createHash } from 'node:crypto';

export const VHD_FOOTER_BYTES = 512;
const COOKIE = Buffer.from('conectix', 'latin1');

export interface VhdFooter {
  /** The disk's size in bytes as the footer states it. */
  currentSize: bigint;
  /** 2 = fixed, 3 = dynamic, 4 = differencing. */
  diskType: number;
}

/** Parses a VHD footer; undefined when the bytes are not one (no `conectix` cookie). */
export function parseVhdFooter(footer: Uint8Array): VhdFooter | undefined {
  const bytes = Buffer.from(footer.buffer, footer.byteOffset, footer.byteLength);
  if (bytes.length !== VHD_FOOTER_BYTES || !bytes.subarray(0, 8).equals(COOKIE)) return undefined;
  return { currentSize: bytes.readBigUInt64BE(48), diskType: bytes.readUInt32BE(60) };
}

export interface VhdHashes {
  /** SHA-256 of every byte of the file (disk + footer). */
  fileSha256: string;
  fileBytes: number;
  /** SHA-256 of the disk: every byte before the footer. Absent when the file has no footer. */
  diskSha256?: string;
  diskBytes?: number;
  footer?: { currentSize: string; diskType: number; matchesLength: boolean };
}

/**
 * Hashes a VHD stream once, holding back the last 512 bytes so the disk hash can exclude the
 * footer without a second read. Memory stays at one chunk plus 512 bytes.
 */
export async function hashVhdStream(chunks: AsyncIterable<Uint8Array>): Promise<VhdHashes> {
  const file = createHash('sha256');
  const disk = createHash('sha256');
  let tail = Buffer.alloc(0);
  let fileBytes = 0;
  for await (const chunk of chunks) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    file.update(bytes);
    fileBytes += bytes.length;
    const joined = tail.length === 0 ? bytes : Buffer.concat([tail, bytes]);
    const keep = Math.min(VHD_FOOTER_BYTES, joined.length);
    disk.update(joined.subarray(0, joined.length - keep));
    tail = Buffer.from(joined.subarray(joined.length - keep));
  }
  const hashes: VhdHashes = { fileSha256: file.digest('hex'), fileBytes };
  const footer = tail.length === VHD_FOOTER_BYTES ? parseVhdFooter(tail) : undefined;
  if (footer) {
    const diskBytes = fileBytes - VHD_FOOTER_BYTES;
    hashes.diskSha256 = disk.digest('hex');
    hashes.diskBytes = diskBytes;
    hashes.footer = { currentSize: footer.currentSize.toString(), diskType: footer.diskType, matchesLength: footer.currentSize === BigInt(diskBytes) };
  }
  return hashes;
}
