/**
 * The progress of one disk hash, kept in the case folder (`.hash-progress/<snapshot>.jsonl`) so a
 * run killed mid-disk continues from the last recorded block range: one line per written block
 * hashed (index, EBS checksum, request id), and a range line `{"upTo":N}` once blocks 0..N-1 are
 * hashed (and, with an image, synced to it). Lines past the last range line are dropped on resume.
 * The file becomes the block-hash list evidence when the hash is done, and is then removed.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The same name as `HASH_PROGRESS_DIR` in src/custody/layout.ts (providers do not import custody). */
export const HASH_PROGRESS_DIR = '.hash-progress';

export interface Geometry {
  snapshotId: string;
  volumeBytes: number;
  blockSize: number;
}

export interface ResumePoint {
  /** Blocks before this one were hashed by an earlier run. */
  nextBlock: number;
  /** Checksums (base64) of the written blocks before `nextBlock`, as EBS gave them then. */
  written: Map<number, string>;
}

export interface BlockLine {
  index: number;
  checksum: string;
  requestId: string | undefined;
}

export interface BlockLog {
  /** Where an earlier run stopped, for this geometry; undefined = start at block 0. */
  resumeFor(geometry: Geometry): Promise<ResumePoint | undefined>;
  /** A written block was handed to the hash (in disk order). */
  block(line: BlockLine): void;
  /** Blocks 0..upTo-1 are hashed: durable once this resolves. */
  range(upTo: number): Promise<void>;
  /** Every written block's line, in disk order. */
  lines(): AsyncIterable<BlockLine>;
  /** The hash is recorded: the progress is no longer needed. */
  finish(): Promise<void>;
}

type Parsed = { kind: 'header'; geometry: Geometry } | { kind: 'block'; line: BlockLine } | { kind: 'range'; upTo: number };

function parseLine(text: string): Parsed | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (typeof v.snapshotId === 'string' && typeof v.volumeBytes === 'number' && typeof v.blockSize === 'number') {
      return { kind: 'header', geometry: { snapshotId: v.snapshotId, volumeBytes: v.volumeBytes, blockSize: v.blockSize } };
    }
    if (typeof v.i === 'number' && typeof v.c === 'string') return { kind: 'block', line: { index: v.i, checksum: v.c, requestId: typeof v.r === 'string' ? v.r : undefined } };
    if (typeof v.upTo === 'number') return { kind: 'range', upTo: v.upTo };
  } catch {
    // A line cut by a kill: everything after the last range line is dropped anyway.
  }
  return undefined;
}

function blockText(line: BlockLine): string {
  return `${JSON.stringify({ i: line.index, c: line.checksum, ...(line.requestId ? { r: line.requestId } : {}) })}\n`;
}

/**
 * Progress files open in this process, per progress folder. Disks of one case hash together: the
 * folder may only go with the last of them, or a disk starting between another's `rmdir` and its
 * own `open` finds no folder (ENOENT) and fails. One process holds a case, so a count is exact.
 */
const openLogs = new Map<string, number>();
/** A folder's removal in flight: a log starting meanwhile waits for it before making the folder. */
const removing = new Map<string, Promise<void>>();

/** The progress file of one snapshot in a case folder. */
export class FileBlockLog implements BlockLog {
  private file: FileHandle | undefined;
  private pending: string[] = [];
  private readonly path: string;
  private readonly dir: string;
  private holdsDir = false;

  constructor(caseDir: string, snapshotId: string) {
    this.dir = join(caseDir, HASH_PROGRESS_DIR);
    this.path = join(this.dir, `${snapshotId}.jsonl`);
  }

  async resumeFor(geometry: Geometry): Promise<ResumePoint | undefined> {
    if (!this.holdsDir) {
      this.holdsDir = true;
      openLogs.set(this.dir, (openLogs.get(this.dir) ?? 0) + 1);
    }
    await removing.get(this.dir);
    await mkdir(this.dir, { recursive: true });
    const text = await readFile(this.path, 'utf8').catch(() => undefined);
    let point: ResumePoint | undefined;
    if (text !== undefined) {
      let header: Geometry | undefined;
      const seen: BlockLine[] = [];
      let upTo = 0;
      for (const raw of text.split('\n')) {
        const p = raw ? parseLine(raw) : undefined;
        if (!p) continue;
        if (p.kind === 'header') header = p.geometry;
        else if (p.kind === 'block') seen.push(p.line);
        else upTo = Math.max(upTo, p.upTo);
      }
      const same = header && header.snapshotId === geometry.snapshotId && header.volumeBytes === geometry.volumeBytes && header.blockSize === geometry.blockSize;
      if (same && upTo > 0) {
        const kept = seen.filter((l) => l.index < upTo).sort((a, b) => a.index - b.index);
        point = { nextBlock: upTo, written: new Map(kept.map((l) => [l.index, l.checksum])) };
        // Rewritten to exactly what stands, so nothing past the range is ever listed twice.
        const body = [JSON.stringify(geometry), ...kept.map((l) => blockText(l).trimEnd()), JSON.stringify({ upTo })].join('\n') + '\n';
        await this.replace(body);
      }
    }
    if (!point) await this.replace(`${JSON.stringify(geometry)}\n`);
    this.file = await open(this.path, 'a');
    return point;
  }

  private async replace(body: string): Promise<void> {
    const temp = `${this.path}.new`;
    const f = await open(temp, 'w');
    try {
      await f.writeFile(body);
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(temp, this.path);
  }

  block(line: BlockLine): void {
    this.pending.push(blockText(line));
  }

  async range(upTo: number): Promise<void> {
    if (!this.file) throw new Error('hash progress used before resumeFor');
    this.pending.push(`${JSON.stringify({ upTo })}\n`);
    const text = this.pending.join('');
    this.pending = [];
    await this.file.write(text);
    await this.file.sync();
  }

  async *lines(): AsyncIterable<BlockLine> {
    const seen = new Set<number>();
    const input = createReadStream(this.path, { encoding: 'utf8' });
    try {
      for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
        const p = raw ? parseLine(raw) : undefined;
        if (p?.kind !== 'block' || seen.has(p.line.index)) continue;
        seen.add(p.line.index);
        yield p.line;
      }
    } finally {
      input.destroy();
    }
  }

  async finish(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
    await rm(this.path, { force: true });
    // The folder goes with the last progress file this process has open in it.
    if (this.release() === 0) {
      const removed = rmdir(this.dir).catch(() => undefined);
      removing.set(this.dir, removed);
      await removed;
      if (removing.get(this.dir) === removed) removing.delete(this.dir);
    }
  }

  async close(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
    this.release();
  }

  /** Stops holding the folder; how many logs still hold it. */
  private release(): number {
    if (!this.holdsDir) return openLogs.get(this.dir) ?? 0;
    this.holdsDir = false;
    const left = (openLogs.get(this.dir) ?? 1) - 1;
    if (left === 0) openLogs.delete(this.dir);
    else openLogs.set(this.dir, left);
    return left;
  }
}

/** Progress kept in memory only (the benchmark; a hash that need not survive a kill). */
export class MemoryBlockLog implements BlockLog {
  private readonly all: BlockLine[] = [];
  async resumeFor(): Promise<undefined> {
    return undefined;
  }
  block(line: BlockLine): void {
    this.all.push(line);
  }
  async range(): Promise<void> {}
  async *lines(): AsyncIterable<BlockLine> {
    yield* this.all;
  }
  async finish(): Promise<void> {}
}
