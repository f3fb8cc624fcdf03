/**
 * Container logs for the lab: a few literal lines, or a large log generated on the fly (never
 * held in memory) so tests can check that collection streams.
 */

export interface LabLogLine {
  /** RFC 3339 with nanoseconds, as the kubelet prefixes with `timestamps=true`. */
  time: string;
  text: string;
}

export type LabLog = { lines: LabLogLine[] } | { generatedBytes: number; startTime?: string };

const DEFAULT_START = Date.parse('2026-11-26T03:00:00.000Z');

function nanoTime(ms: number, index: number): string {
  const iso = new Date(ms).toISOString(); // …T03:00:00.123Z
  const nanos = String(index % 1_000_000).padStart(6, '0');
  return `${iso.slice(0, -1)}${nanos}Z`;
}

/** Line `index` of a generated log: deterministic, so a test can recompute the expected bytes. */
export function generatedLogLine(index: number, timestamps: boolean, startMs = DEFAULT_START): string {
  const text = `level=info msg="GET /api/items/${index % 9973} 200" bytes=${(index * 7919) % 65536} req=${index.toString(16).padStart(8, '0')}`;
  return timestamps ? `${nanoTime(startMs + Math.floor(index / 10), index)} ${text}\n` : `${text}\n`;
}

/**
 * The chunks of a generated log of at least `bytes` bytes (whole lines), about 64 KiB each.
 * Used by the server to stream and by tests to recompute the expected digest.
 */
export function* generateLogChunks(bytes: number, timestamps: boolean, startTime?: string): Generator<string> {
  const startMs = startTime ? Date.parse(startTime) : DEFAULT_START;
  let written = 0;
  let index = 0;
  while (written < bytes) {
    let chunk = '';
    while (chunk.length < 65_536 && written + chunk.length < bytes) {
      chunk += generatedLogLine(index, timestamps, startMs);
      index += 1;
    }
    written += chunk.length;
    yield chunk;
  }
}

/** Literal lines rendered as the kubelet would. */
export function renderLogLines(lines: readonly LabLogLine[], timestamps: boolean): string {
  return lines.map((line) => (timestamps ? `${line.time} ${line.text}\n` : `${line.text}\n`)).join('');
}

const ARCHIVE_BLOCK = 64 * 1024;
let filler: Buffer | undefined;

/**
 * The bytes of a lab checkpoint archive (not a real tar): 64 KiB blocks, each stamped with the
 * archive path and its index, so a test can recompute the expected digest.
 */
export function* generateArchiveChunks(path: string, bytes: number): Generator<Buffer> {
  filler ??= Buffer.from(Array.from({ length: ARCHIVE_BLOCK }, (_, i) => (i * 2654435761) >>> 24));
  for (let offset = 0, index = 0; offset < bytes; offset += ARCHIVE_BLOCK, index += 1) {
    const block = Buffer.from(filler.subarray(0, Math.min(ARCHIVE_BLOCK, bytes - offset)));
    block.write(`checkpoint ${path} block ${index}\n`.slice(0, block.length), 0, 'utf8');
    yield block;
  }
}
