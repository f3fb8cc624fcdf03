/** What a `fileFormat: VHD` export of a disk is: its bytes and a fixed-VHD footer (docs/research/azure.md §6.2). */
const COOKIE = Buffer.from('conectix', 'latin1');
const VHD_FOOTER_BYTES = 512;

export function vhdFile(disk: Buffer): Buffer {
  return Buffer.concat([disk, buildFixedVhdFooter(disk.length)]);
}

/** Builds a fixed-disk footer: cookie, version, sizes (offset 40 and 48), disk type 2, checksum. */
export function buildFixedVhdFooter(diskBytes: number): Buffer {
  const footer = Buffer.alloc(VHD_FOOTER_BYTES);
  COOKIE.copy(footer, 0);
  footer.writeUInt32BE(2, 8); // features: reserved bit
  footer.writeUInt32BE(0x00010000, 12); // format version 1.0
  footer.writeBigUInt64BE(0xffffffffffffffffn, 16); // data offset: none for a fixed disk
  footer.write('ccus', 28, 'latin1'); // creator application
  footer.writeBigUInt64BE(BigInt(diskBytes), 40); // original size
  footer.writeBigUInt64BE(BigInt(diskBytes), 48); // current size
  footer.writeUInt32BE(2, 60); // disk type: fixed
  let sum = 0;
  for (const byte of footer) sum += byte;
  footer.writeUInt32BE(~sum >>> 0, 64);
  return footer;
}

