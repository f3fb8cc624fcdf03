/**
 * What is on the lab's disks, for the EBS direct API: each volume has a size, a set of written
 * 512 KiB blocks and real block content derived from a seed (AES-256-CTR keystream blocks with
 * each block's index written in: anyone with the seed can recompute a block — tests hash disks
 * independently this way). Unwritten
 * blocks are zeros and are not listed, as EBS does. Snapshots of a volume (and their copies) hold
 * the volume's disk; lab disks never change, so every snapshot of one volume holds the same bytes.
 */
import { createCipheriv, createHash } from 'node:crypto';
import type { LabState } from './state.js';

export const EBS_BLOCK_SIZE = 512 * 1024;
/** Distinct keystream blocks per disk; every written block is one of them with its own header. */
const BASE_BLOCKS = 64;
/** The per-block header: the block index (bytes 0-3) and the seed's key (bytes 8-39). */
const HEADER_BYTES = 40;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

export interface LabDiskSpec {
  /** Disk size in MiB (default: the volume's size). The demo keeps its disks small so it stays fast. */
  sizeMiB?: number;
  /** Share of blocks written (default 1/64); block 0 is always written. */
  writtenFraction?: number;
  /** Content seed (default: the volume id). */
  seed?: string;
}

export class LabDisk {
  readonly blockCount: number;
  /** Written block indexes, ascending. */
  readonly written: Uint32Array;
  private readonly key: Buffer;
  private readonly checksums = new Map<number, string>();
  private readonly writtenSet: Set<number>;
  private readonly bases: Buffer[] = [];

  constructor(
    readonly seed: string,
    readonly bytes: number,
    writtenFraction: number,
  ) {
    if (bytes <= 0 || bytes % EBS_BLOCK_SIZE !== 0) throw new Error(`lab disk: ${bytes} bytes is not a whole number of 512 KiB blocks`);
    this.blockCount = bytes / EBS_BLOCK_SIZE;
    this.key = createHash('sha256').update(`cloud-custody lab disk ${seed}`).digest();
    const picked: number[] = [];
    const threshold = Math.floor(Math.max(0, Math.min(1, writtenFraction)) * 0x1_0000_0000);
    const pick = createHash('sha256').update(`written ${seed}`).digest();
    for (let i = 0; i < this.blockCount; i++) {
      // A cheap deterministic hash of (seed, i): which blocks are written.
      let h = (pick.readUInt32BE(0) ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
      h = (h ^ (h >>> 16)) >>> 0;
      if (i === 0 || h < threshold) picked.push(i);
    }
    this.written = Uint32Array.from(picked);
    this.writtenSet = new Set(picked);
  }

  /** The volume size as EBS reports it (GiB; a fraction for the lab's small disks). */
  get volumeSizeGiB(): number {
    return this.bytes / GIB;
  }

  isWritten(index: number): boolean {
    return this.writtenSet.has(index);
  }

  /**
   * Block `index`'s bytes (zeros when unwritten): one of 64 keystream blocks made from the seed
   * once, with the block's index and the seed's hash written over its first 40 bytes — unique per
   * block, and a memcpy to serve rather than a cipher run (the lab must not be the bottleneck of
   * a hash benchmark).
   */
  block(index: number, into: Buffer = Buffer.allocUnsafe(EBS_BLOCK_SIZE)): Buffer {
    if (!this.isWritten(index)) return into.fill(0, 0, EBS_BLOCK_SIZE);
    const base = this.bases[index % BASE_BLOCKS] ?? this.makeBase(index % BASE_BLOCKS);
    base.copy(into, 0, 0, EBS_BLOCK_SIZE);
    into.writeUInt32BE(index, 0);
    this.key.copy(into, 8);
    return into;
  }

  /**
   * Block `index` of a written block as two buffers — its own 40-byte header and the rest of its
   * keystream block, shared — so the lab serves it without allocating or copying 512 KiB.
   */
  blockParts(index: number): [Buffer, Buffer] {
    const base = this.bases[index % BASE_BLOCKS] ?? this.makeBase(index % BASE_BLOCKS);
    const head = Buffer.from(base.subarray(0, HEADER_BYTES));
    head.writeUInt32BE(index, 0);
    this.key.copy(head, 8);
    return [head, base.subarray(HEADER_BYTES, EBS_BLOCK_SIZE)];
  }

  private makeBase(slot: number): Buffer {
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(slot, 4);
    const cipher = createCipheriv('aes-256-ctr', this.key, iv);
    const base = cipher.update(Buffer.alloc(EBS_BLOCK_SIZE));
    this.bases[slot] = base;
    return base;
  }

  /** SHA-256 (base64) of a written block, as EBS returns it; computed once per block. */
  checksum(index: number): string {
    let sum = this.checksums.get(index);
    if (sum === undefined) {
      sum = createHash('sha256').update(this.block(index)).digest('base64');
      this.checksums.set(index, sum);
    }
    return sum;
  }
}

const disks = new WeakMap<LabState, Map<string, LabDisk>>();

function registry(state: LabState): Map<string, LabDisk> {
  let map = disks.get(state);
  if (!map) {
    map = new Map();
    disks.set(state, map);
  }
  return map;
}

/** Gives volume `volumeId` its disk (a scenario's `disk`, or a test's). */
export function setVolumeDisk(state: LabState, volumeId: string, sizeGiB: number, spec: LabDiskSpec = {}): LabDisk {
  const bytes = spec.sizeMiB !== undefined ? spec.sizeMiB * MIB : sizeGiB * GIB;
  const disk = new LabDisk(spec.seed ?? volumeId, bytes, spec.writtenFraction ?? 1 / 64);
  registry(state).set(volumeId, disk);
  return disk;
}

/**
 * The disk of `volumeId`: the one it was given, else a default one of the volume's size. Kept
 * after the volume is deleted: its snapshots still hold it.
 */
export function diskOfVolume(state: LabState, volumeId: string, sizeGiB: number): LabDisk {
  return registry(state).get(volumeId) ?? setVolumeDisk(state, volumeId, sizeGiB);
}
