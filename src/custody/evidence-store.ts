/**
 * Writes evidence files into `evidence/<evidenceId>/<name>`, hashing and counting while the bytes
 * go to disk (a 50 GiB log is never held in memory), and records each file in the ledger.
 *
 * Files are written under `.partial/` first and linked into place only when complete and synced,
 * so a crash never leaves a half file under its final name. An existing file is never replaced.
 */
import { createHash, hash as oneShotHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArtifactInput, EvidenceContent, EvidenceInput, LedgerEntry, StoredEvidence } from '../core/ports.js';
import { CustodyError } from '../core/errors.js';
import { assertNoCredentials } from './credential-guard.js';
import { hashFile } from './file-hash.js';
import { closeFd, fdatasyncFd, linkPath, openFd, syncDirShared, unlinkPath, writeAllFd } from './fs-util.js';
import { EVIDENCE_DIR, PARTIAL_DIR } from './layout.js';
import { validateSegment } from './names.js';
import { showFsError, showGivenPath, showUntrusted } from './untrusted-text.js';

/** What the store needs from the case: where it is and how to record. */
export interface EvidenceSink {
  caseDir: string;
  record(type: string, data: Record<string, unknown>, target?: string): Promise<LedgerEntry>;
  entries(): readonly LedgerEntry[];
}

export { EVIDENCE_DIR, PARTIAL_DIR } from './layout.js';

const inFlight = new Map<string, Promise<unknown>>();
const TEMP_PREFIX = randomBytes(6).toString('hex');
let tempCounter = 0;

/**
 * Streams `input.content` into the case folder and records `evidence.stored`.
 * If the same file already exists with the same bytes (a resumed run), nothing new is written or
 * recorded unless the earlier run stopped before recording it. Different bytes under the same
 * name are refused with `E_INPUT`: evidence is never overwritten.
 *
 * @example
 * await storeEvidence(sink, { evidenceId, name: 'instance.json', kind: 'instance-description',
 *   source: instanceArn, content: JSON.stringify(description, null, 2) });
 */
export async function storeEvidence(sink: EvidenceSink, input: EvidenceInput): Promise<StoredEvidence> {
  try {
    return await storeValidated(sink, input);
  } catch (error) {
    releaseContent(input.content);
    throw error;
  }
}

/**
 * A stream the store refused or stopped reading is destroyed, so its socket or file is closed now
 * rather than left to the garbage collector (an exec session, a log response, a checkpoint
 * archive). Destroying a stream that was read to the end changes nothing.
 */
function releaseContent(content: EvidenceContent): void {
  if (typeof content === 'string' || content instanceof Uint8Array) return;
  if (typeof (content as { destroy?: unknown }).destroy === 'function') {
    (content as { destroy(): void }).destroy();
    return;
  }
  const iterator = (content as AsyncIterable<unknown>)[Symbol.asyncIterator]?.();
  void iterator?.return?.().catch(() => undefined);
}

async function storeValidated(sink: EvidenceSink, input: EvidenceInput): Promise<StoredEvidence> {
  validateSegment(input.evidenceId, 'evidence id');
  validateSegment(input.name, 'evidence file name');
  // Validated as path segments, yet a cloud's name may still hold a direction override.
  const shown = showUntrusted(`${input.evidenceId}/${input.name}`);
  if (!input.kind) throw new CustodyError('E_INPUT', `evidence ${shown} needs a kind`);
  if (!input.source) throw new CustodyError('E_INPUT', `evidence ${shown} needs a source`);
  // Checked before any byte is written: a refusal after placing the file would leave it unrecorded.
  const { content: _content, ...metadata } = input;
  assertNoCredentials(metadata, `evidence ${input.evidenceId}/${input.name}`);
  const relPath = `${EVIDENCE_DIR}/${input.evidenceId}/${input.name}`;
  const key = join(sink.caseDir, relPath);
  // Two collectors storing the same file at once must not race each other's existence check.
  const previous = inFlight.get(key) ?? Promise.resolve();
  const task = previous.catch(() => undefined).then(() => storeOne(sink, input, relPath));
  inFlight.set(key, task);
  try {
    return await task;
  } finally {
    if (inFlight.get(key) === task) inFlight.delete(key);
  }
}

/** Records `artifact.recorded` for something that lives in a cloud (a snapshot and its copies). */
export async function recordArtifact(sink: EvidenceSink, input: ArtifactInput): Promise<LedgerEntry> {
  validateSegment(input.evidenceId, 'evidence id');
  if (!input.kind) throw new CustodyError('E_INPUT', `artifact ${showUntrusted(input.evidenceId)} needs a kind`);
  if (!input.source) throw new CustodyError('E_INPUT', `artifact ${showUntrusted(input.evidenceId)} needs a source`);
  return sink.record(
    'artifact.recorded',
    {
      evidenceId: input.evidenceId,
      kind: input.kind,
      source: input.source,
      cloudIds: input.cloudIds,
      ...(input.details !== undefined ? { details: input.details } : {}),
    },
    input.target,
  );
}

async function storeOne(sink: EvidenceSink, input: EvidenceInput, relPath: string): Promise<StoredEvidence> {
  const finalDir = join(sink.caseDir, EVIDENCE_DIR, input.evidenceId);
  const finalPath = join(finalDir, input.name);
  const partialDir = join(sink.caseDir, PARTIAL_DIR);
  await ensureDir(partialDir);
  // Short and unique: a long evidence id plus a long name would exceed the 255-byte name limit.
  // A random prefix per process and a counter: unique without random bytes for every file.
  const tempPath = join(partialDir, `${TEMP_PREFIX}-${(tempCounter += 1)}-${input.name.slice(0, 40)}.tmp`);

  const { sha256, size } = await writeHashed(tempPath, input.content, relPath).catch(async (error: unknown) => {
    // The partial folder was removed behind our back (ensureDir remembers it as made): make it
    // again once, then let a second failure stand.
    if (!isMissingFolder(error)) throw error;
    ensured.delete(partialDir);
    await ensureDir(partialDir);
    return writeHashed(tempPath, input.content, relPath);
  });
  let placed = false;
  try {
    const evidenceDir = join(sink.caseDir, EVIDENCE_DIR);
    await ensureDir(evidenceDir);
    await ensureDir(finalDir, true);
    placed = await placeFile(tempPath, finalPath).catch(async (error: unknown) => {
      if (!isMissingFolder(error)) throw error;
      ensured.delete(evidenceDir);
      ensured.delete(finalDir);
      madeHere.delete(finalDir);
      await ensureDir(evidenceDir);
      await ensureDir(finalDir, true);
      return placeFile(tempPath, finalPath);
    });
  } finally {
    await unlinkPath(tempPath).catch(() => undefined);
  }
  if (placed) madeHere.get(finalDir)?.set(input.name, sha256);
  if (!placed) {
    const existing = await hashFile(finalPath).catch((cause: unknown) => {
      throw new CustodyError('E_INPUT', `${showUntrusted(relPath)} already exists and cannot be read: ${showFsError(cause, sink.caseDir)}`, {
        cause,
        resource: relPath,
      });
    });
    if (existing.sha256 !== sha256 || existing.size !== size) {
      throw new CustodyError(
        'E_INPUT',
        `${showUntrusted(relPath)} already exists with different content (sha256 ${existing.sha256}, new ${sha256}); evidence is never overwritten, store the new content under another name`,
        { resource: relPath },
      );
    }
    const recorded = sink
      .entries()
      .some((e) => e.type === 'evidence.stored' && e.data.path === relPath && e.data.sha256 === sha256);
    if (recorded) return { evidenceId: input.evidenceId, name: input.name, path: relPath, sha256, size };
    // Same bytes, but the run that wrote them stopped before recording: record them now.
  } else {
    await syncDirShared(finalDir);
  }
  await sink.record(
    'evidence.stored',
    {
      evidenceId: input.evidenceId,
      name: input.name,
      path: relPath,
      kind: input.kind,
      source: input.source,
      sha256,
      size,
      mediaType: input.mediaType ?? guessMediaType(input.name),
      ...(input.cloudIds !== undefined ? { cloudIds: input.cloudIds } : {}),
      ...(input.requestIds !== undefined ? { requestIds: input.requestIds } : {}),
      ...(input.redaction !== undefined ? { redaction: input.redaction } : {}),
    },
    input.target,
  );
  return { evidenceId: input.evidenceId, name: input.name, path: relPath, sha256, size };
}

/** Writes content to `path` (created here, never an existing file), hashing as it goes; the file is fdatasync'd before this resolves. */
async function writeHashed(path: string, content: EvidenceContent, relPath: string): Promise<{ sha256: string; size: number }> {
  let fd: number;
  try {
    fd = await openFd(path, CREATE_NEW, 0o600);
  } catch (cause) {
    throw localWriteError(relPath, cause);
  }
  const write = (bytes: Uint8Array) =>
    writeAllFd(fd, bytes).catch((cause: unknown) => {
      throw localWriteError(relPath, cause);
    });
  let sha256: string;
  let size = 0;
  try {
    const whole = typeof content === 'string' ? Buffer.from(content, 'utf8') : content instanceof Uint8Array ? content : undefined;
    if (whole) {
      // Content in memory (every description and console output): hashed in one shot, written
      // without the async generator a stream needs.
      await write(whole);
      sha256 = oneShotHash('sha256', whole, 'hex');
      size = whole.length;
    } else {
      const hash = createHash('sha256');
      for await (const chunk of chunksOf(content as AsyncIterable<unknown>)) {
        hash.update(chunk);
        size += chunk.length;
        await write(chunk);
      }
      sha256 = hash.digest('hex');
    }
    // fdatasync: the bytes and the length, not the times (cheaper, and all a reader needs).
    await fdatasyncFd(fd).catch((cause: unknown) => {
      throw localWriteError(relPath, cause);
    });
  } catch (error) {
    await closeFd(fd).catch(() => undefined);
    await unlinkPath(path).catch(() => undefined);
    throw error; // a source that failed mid-stream keeps its own error (the collector's to judge)
  }
  await closeFd(fd);
  return { sha256, size };
}

/** `wx`: write only, created here, never an existing file. */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/** A streamed source's chunks as bytes (text as UTF-8). */
async function* chunksOf(content: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
  for await (const chunk of content) {
    if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8');
    else if (chunk instanceof Uint8Array) yield chunk;
    else throw new CustodyError('E_INTERNAL', `evidence content yielded a ${typeof chunk}, not bytes or text`);
  }
}

/** Links the complete temp file into place without ever replacing an existing file. */
async function placeFile(tempPath: string, finalPath: string): Promise<boolean> {
  try {
    await linkPath(tempPath, finalPath);
    return true;
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
      throw localWriteError(finalPath, cause);
    }
  }
  // Filesystems without hard links: check, then rename (not atomic against a racing writer, but
  // writers of one path are serialised in this process).
  if (await exists(finalPath)) return false;
  await rename(tempPath, finalPath).catch((cause: unknown) => {
    throw localWriteError(finalPath, cause);
  });
  return true;
}

// Folders this process has made (or found): every stored file needs three, and a mkdir each was
// a measurable share of the collector's CPU at 1,000 targets. A folder removed behind our back is
// made again by the caller that trips over it (placeFile, the partial-file retry above).
const ensured = new Set<string>();

// A folder being made: a second file for it waits for the same mkdir instead of racing it (two
// files of one target are stored together), so the folder is remembered as made before either
// file is placed in it.
const making = new Map<string, Promise<void>>();

/** Syncs the parent of every folder `mkdir -p` made, from `first` (the outermost) down to `last`. */
async function syncNewFolders(first: string, last: string): Promise<void> {
  const parents: string[] = [];
  for (let folder = last; ; folder = dirname(folder)) {
    parents.push(dirname(folder));
    if (folder === first || dirname(folder) === folder) break;
  }
  await Promise.all(parents.map((parent) => syncDirShared(parent)));
}

/**
 * Makes `path` (and its parents) unless this process did already. With `remember`, a folder this
 * call created is remembered as made here (`knownEvidenceFile`), before any caller goes on.
 */
async function ensureDir(path: string, remember = false): Promise<void> {
  if (ensured.has(path)) return;
  let made = making.get(path);
  if (!made) {
    made = mkdir(path, { recursive: true, mode: 0o700 }).then(
      async (created) => {
        // A new folder's own name lives in its parent: synced (shared with other new folders of
        // the same parent) before any file placed in it is recorded, or a crash could lose the
        // folder, and with it files the ledger says are stored.
        if (created !== undefined) await syncNewFolders(created, path);
        if (ensured.size >= 10_000) ensured.clear();
        ensured.add(path);
        if (remember && created !== undefined) rememberMade(path);
      },
      (cause: unknown) => {
        throw localWriteError(path, cause);
      },
    );
    const settled = made.finally(() => making.delete(path));
    settled.catch(() => undefined); // each caller awaits `made` and sees its failure
    making.set(path, made);
  }
  await made;
}

// Evidence folders this process created, each with the files it placed there (name → sha256).
// Nothing else writes into a case folder while its lock is held, so a name this process did not
// place in a folder it created is not there: the kernel's "did an interrupted run leave this
// file?" needs no look at the disk (a synchronous stat per stored file was 2-3 % of the main
// thread at 1,000 targets). Folders that existed before (a resumed case) are looked at on disk.
const madeHere = new Map<string, Map<string, string>>();

function rememberMade(folder: string): void {
  if (madeHere.size >= 10_000) madeHere.clear(); // forgetting only sends the question to the disk
  madeHere.set(folder, new Map());
}

/**
 * What this process knows of `evidence/<evidenceId>/<name>` in `caseDir`: its SHA-256 when this
 * process placed it, `absent` when the folder is one this process created and the file is not
 * among those it placed, `unknown` otherwise (look on disk).
 */
export function knownEvidenceFile(caseDir: string, evidenceId: string, name: string): { sha256: string } | 'absent' | 'unknown' {
  const placed = madeHere.get(join(caseDir, EVIDENCE_DIR, evidenceId));
  if (!placed) return 'unknown';
  const sha256 = placed.get(name);
  return sha256 === undefined ? 'absent' : { sha256 };
}

function isMissingFolder(error: unknown): boolean {
  const cause = error instanceof CustodyError ? error.cause : error;
  return (cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function localWriteError(what: string, cause: unknown): CustodyError {
  // The case folder is the custody record: if it cannot be written, collection must stop. Its
  // path ends in names a cloud chose (evidence ids, file names), so it is shown escaped.
  return new CustodyError('E_LEDGER', `cannot write ${showGivenPath(what)} in the case folder: ${showFsError(cause)}`, {
    cause,
    resource: what,
  });
}

const MEDIA_TYPES: Record<string, string> = {
  json: 'application/json',
  jsonl: 'application/x-ndjson',
  log: 'text/plain',
  txt: 'text/plain',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  png: 'image/png',
  jpg: 'image/jpeg',
  tar: 'application/x-tar',
  gz: 'application/gzip',
};

function guessMediaType(name: string): string {
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : '';
  return MEDIA_TYPES[ext] ?? 'application/octet-stream';
}
