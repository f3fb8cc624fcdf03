/**
 * The immutable copy of a closed case off this machine: every file of the sealed case uploaded to
 * a write-once store (S3 with Object Lock), each object recorded in the ledger as the store
 * confirmed it; `verify --against` checks the folder against that copy; `fetch-case` restores a
 * folder from it. Cloud-free: the store is a port (`ImmutableStore`), implemented for S3 in
 * `src/providers/aws/evidence-bucket.ts`.
 *
 * Order (docs/ledger-format.md): `case.closed` and the signed manifest seal the case first; the
 * copy uploads the sealed ledger (up to and including `case.closed`), the manifest and every
 * evidence file, then appends one `evidence.copied` per confirmed object and a final
 * `case.copied` (or `copy.failed`) after the seal. Those are the only entries verify accepts after
 * `case.closed`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CustodyError, EXIT, exitCodeForCode, isCustodyError } from '../core/errors.js';
import type { LedgerEntry } from '../core/ports.js';
import { acquireCaseLock } from './case-lock.js';
import { checkChain } from './chain.js';
import { sealIndex } from './copy-records.js';
import { hashFile } from './file-hash.js';
import { EVIDENCE_DIR, LEDGER_FILE, MANIFEST_FILE, REPORT_FILES } from './layout.js';
import { Ledger } from './ledger.js';
import { collectEvidenceItems, type Manifest } from './manifest.js';
import { segmentProblem } from './names.js';
import { evidenceRecordProblem } from './evidence-record.js';
import { quoteUntrusted, showFsError, showGivenPath, showUntrusted } from './untrusted-text.js';
import { credentialText } from './credential-guard.js';
import { withoutUrlCredentials } from '../core/url-credentials.js';
import type { Problem } from './problems.js';
import { readPreviousRun } from './resume.js';
import { resolveSigningKey } from './signing-key.js';
import { verifyCase } from './verify.js';

export type RetentionMode = 'COMPLIANCE' | 'GOVERNANCE';

/** What the store says it holds for one object, exactly as it said it. */
export interface StoredChecksum {
  algorithm: 'SHA256';
  /** As the store returned it: base64 SHA-256, or for a multipart object `base64-N` (composite). */
  value: string;
  /** As the store returned it (`FULL_OBJECT`, `COMPOSITE`); absent when it did not say. */
  type?: string;
  /** Multipart only: how many parts, and the size of every part but the last. */
  parts?: number;
  partSize?: number;
  /**
   * Which answer the value is from: the upload's (PutObject, CompleteMultipartUpload), or, when
   * that carried none (moto's CompleteMultipartUpload), the HeadObject that followed it.
   */
  reportedBy?: 'upload' | 'head';
}

export interface UploadRequest {
  /** Path relative to the case folder (`evidence/<id>/<name>`, `manifest.json`, …). */
  path: string;
  source: { file: string } | { bytes: Uint8Array };
  size: number;
  retention: { mode: RetentionMode; retainUntil: Date };
  /**
   * Cancels the upload at its next request: a multipart upload checks it before each part and, when
   * it is aborted, abandons the parts (no object is made) and throws `E_CANCELLED`. A request
   * already sent is let finish: a PUT cut off mid-way may still leave a locked version in the
   * bucket that no ledger entry records.
   */
  signal?: AbortSignal;
}

export interface UploadReceipt {
  key: string;
  versionId?: string;
  etag?: string;
  checksum: StoredChecksum;
  /** The checksum the store had to return for the bytes that were read and sent. */
  expectedChecksum: string;
  /** SHA-256 (hex) of the bytes read and sent. */
  sentSha256: string;
  requestIds: string[];
}

/** One object version as the store describes it now. */
export interface RemoteObject {
  key: string;
  versionId?: string;
  size?: number;
  checksum?: { value: string; type?: string };
  retention?: { mode?: string; retainUntil?: string };
  requestId?: string;
}

/** A write-once object store holding one case under one prefix. */
export interface ImmutableStore {
  /** `s3://bucket/prefix/CASE` */
  readonly url: string;
  readonly bucket: string;
  /** The object key of a case-relative path. */
  keyFor(path: string): string;
  /** Uploads one object with its retention and the store's own SHA-256; throws a `CustodyError`. */
  upload(request: UploadRequest): Promise<UploadReceipt>;
  /** Describes one version (checksum, retention); undefined when that version does not exist. */
  inspect(path: string, versionId: string): Promise<RemoteObject | undefined>;
  /** The newest version's bytes; throws `E_NOT_FOUND` when there is none. */
  download(path: string): Promise<{ body: AsyncIterable<Uint8Array>; versionId?: string; requestId?: string }>;
}

/** Base64 of a hex SHA-256: how S3 writes a whole-object SHA-256 checksum. */
export function base64OfHex(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/**
 * The composite checksum S3 keeps for a multipart upload with SHA-256: the SHA-256 of the
 * concatenated binary part digests, base64, then `-N` (N parts). Parts are `partSize` bytes,
 * the last one shorter.
 */
export async function compositeSha256(source: { file: string } | { bytes: Uint8Array }, partSize: number): Promise<string> {
  const outer = createHash('sha256');
  let parts = 0;
  if ('bytes' in source) {
    for (let offset = 0; offset < source.bytes.length || parts === 0; offset += partSize) {
      outer.update(createHash('sha256').update(source.bytes.subarray(offset, offset + partSize)).digest());
      parts++;
      if (offset + partSize >= source.bytes.length) break;
    }
  } else {
    let part = createHash('sha256');
    let filled = 0;
    for await (const chunk of createReadStream(source.file)) {
      let data = chunk as Buffer;
      while (data.length > 0) {
        const take = Math.min(partSize - filled, data.length);
        part.update(data.subarray(0, take));
        filled += take;
        data = data.subarray(take);
        if (filled === partSize) {
          outer.update(part.digest());
          parts++;
          part = createHash('sha256');
          filled = 0;
        }
      }
    }
    if (filled > 0 || parts === 0) {
      outer.update(part.digest());
      parts++;
    }
  }
  return `${outer.digest('base64')}-${parts}`;
}

/** The checksum value S3 must hold for these bytes, given how they were uploaded. */
async function expectedChecksumOf(source: { file: string } | { bytes: Uint8Array }, sha256: string, checksum: StoredChecksum): Promise<string> {
  if (checksum.partSize !== undefined && checksum.parts !== undefined) return compositeSha256(source, checksum.partSize);
  return base64OfHex(sha256);
}

/** Compares a store's checksum with the expected one; a composite may come with or without `-N`. */
export function sameChecksum(got: string | undefined, expected: string): boolean {
  if (got === undefined) return false;
  if (got === expected) return true;
  const [gotBase, gotParts] = got.split('-');
  const [expectedBase, expectedParts] = expected.split('-');
  return gotBase === expectedBase && (gotParts === undefined || gotParts === expectedParts);
}

interface CaseObject {
  path: string;
  source: { file: string } | { bytes: Uint8Array };
  sha256: string;
  size: number;
}

interface SealedCase {
  caseId: string;
  entries: LedgerEntry[];
  /** Index of the sealing `case.closed`. */
  seal: number;
  /** ledger.jsonl up to and including `case.closed`: what the copy holds. */
  sealedLedger: Buffer;
}

/** Reads a case's ledger and its sealed prefix; `E_INPUT` when the case is not closed. */
async function readSealedCase(caseDir: string, entries: LedgerEntry[]): Promise<SealedCase> {
  const seal = sealIndex(entries);
  const caseId = String(entries[0]?.data.caseId ?? '');
  if (seal < 0) {
    throw new CustodyError(
      'E_INPUT',
      `case ${showUntrusted(caseId)} in ${showGivenPath(caseDir)} is not closed: only a closed case is copied (finish it with custody collect --case ${showUntrusted(caseId)} --resume ...)`,
      { resource: caseDir },
    );
  }
  const text = await readFile(join(caseDir, LEDGER_FILE));
  // One entry a line: the sealed ledger is the first seal+1 lines, byte for byte.
  let offset = 0;
  for (let line = 0; line <= seal; line++) {
    const end = text.indexOf(0x0a, offset);
    if (end < 0) throw new CustodyError('E_VERIFY', `${LEDGER_FILE} of ${caseDir} ends inside entry ${line + 1}`, { resource: caseDir });
    offset = end + 1;
  }
  return { caseId, entries, seal, sealedLedger: text.subarray(0, offset) };
}

/** Every object of a sealed case, in upload order: the ledger, the manifest, evidence, reports. */
async function caseObjects(caseDir: string, sealed: SealedCase): Promise<CaseObject[]> {
  const ledger = sealed.sealedLedger;
  const objects: CaseObject[] = [
    { path: LEDGER_FILE, source: { bytes: ledger }, sha256: createHash('sha256').update(ledger).digest('hex'), size: ledger.length },
  ];
  const manifestPath = join(caseDir, MANIFEST_FILE);
  objects.push({ path: MANIFEST_FILE, source: { file: manifestPath }, ...(await hashFile(manifestPath)) });
  const { files } = collectEvidenceItems(sealed.entries.slice(0, sealed.seal + 1));
  for (const file of files) {
    // The path comes from the ledger: one a tampered ledger leads out of evidence/ is never read
    // (copy-case verified the case first; verify --against did not).
    const problem = evidenceRecordProblem({ path: file.path, sha256: file.sha256, size: file.size });
    if (problem !== undefined) {
      throw new CustodyError('E_VERIFY', `entry ${file.entrySeq} does not name a valid evidence file: ${problem}; run custody verify ${showUntrusted(caseDir)}`, { resource: caseDir });
    }
    objects.push({ path: file.path, source: { file: join(caseDir, ...file.path.split('/')) }, sha256: file.sha256, size: file.size });
  }
  // Reports are a convenience, not evidence, but a copy of what counsel read is worth keeping.
  for (const name of REPORT_FILES) {
    const path = join(caseDir, name);
    const info = await lstat(path).catch(() => undefined);
    if (info?.isFile()) objects.push({ path: name, source: { file: path }, ...(await hashFile(path)) });
  }
  return objects;
}

/** The latest `evidence.copied` per path after the seal: what the copy holds, as recorded. */
export function copiedRecords(entries: readonly LedgerEntry[]): Map<string, LedgerEntry> {
  const seal = sealIndex(entries);
  const out = new Map<string, LedgerEntry>();
  if (seal < 0) return out;
  for (const entry of entries.slice(seal + 1)) {
    if (entry.type === 'evidence.copied' && typeof entry.data.path === 'string') out.set(entry.data.path, entry);
  }
  return out;
}

export interface CopyCaseOptions {
  caseDir: string;
  store: ImmutableStore;
  /** Who makes the copy: the actor of its ledger entries. */
  actor: string;
  keysDir: string;
  signingKeyFile?: string;
  retention: { mode: RetentionMode; days: number };
  now?: () => Date;
  /** Called after each object is confirmed. */
  onObject?: (path: string, index: number, total: number) => void;
  /**
   * Stops the copy at the next request (`E_CANCELLED`): each object already confirmed stays
   * recorded, the cancel is recorded (`copy.failed`) and copying again uploads only the rest.
   */
  signal?: AbortSignal;
}

export interface CopyCaseResult {
  url: string;
  /** Objects uploaded and confirmed by this run. */
  copied: number;
  /** Objects an earlier run had already copied (same path, same SHA-256). */
  alreadyCopied: number;
  total: number;
  /** The ledger head after `case.copied`. */
  head: { seq: number; hash: string };
  /** The entry that sealed the case (what the copied ledger ends with). */
  sealedHead: { seq: number; hash: string };
}

/**
 * Copies a closed, intact case to the store and records each object as it is confirmed. Refuses
 * an open case (`E_INPUT`) or one that does not verify (`E_VERIFY`, nothing uploaded). A failure
 * is recorded (`copy.failed`) and thrown as `E_COPY` with how to retry (a stop as `E_CANCELLED`;
 * a configuration refusal before anything was sent, such as no AWS credentials, keeps its own
 * code, `E_CONFIG`); running it again copies only what is missing.
 *
 * @example
 * await copyCase({ caseDir, store: await openEvidenceBucket(config, caseId), actor: 'alice',
 *   keysDir, retention: { mode: 'COMPLIANCE', days: 365 } });
 */
export async function copyCase(options: CopyCaseOptions): Promise<CopyCaseResult> {
  const { caseDir, store } = options;
  const now = options.now ?? (() => new Date());
  const ledgerPath = join(caseDir, LEDGER_FILE);
  if (options.signal?.aborted) {
    throw new CustodyError('E_CANCELLED', `the copy to ${store.url} was cancelled before it started (${abortReason(options.signal)}): nothing was copied or recorded`, { resource: caseDir });
  }
  // A copy of a case that does not verify would lock in whatever is wrong with it.
  const check = await verifyCase(caseDir);
  if (!check.ok) {
    throw new CustodyError('E_VERIFY', `${caseDir} does not verify (${check.firstProblem?.message ?? 'see custody verify'}): nothing was copied`, { resource: caseDir });
  }
  const previous = await readPreviousRun(ledgerPath, caseDir);
  if (!previous) throw new CustodyError('E_INPUT', `${caseDir} holds no ledger: it is not a case folder`, { resource: caseDir });
  const sealed = await readSealedCase(caseDir, previous.entries);
  const sealEntry = sealed.entries[sealed.seal]!;
  await assertManifestSeals(caseDir, sealEntry);

  const lock = await acquireCaseLock(caseDir, sealed.caseId);
  let ledger: Ledger | undefined;
  try {
    // Re-read under the lock: another run may have appended since.
    const current = (await readPreviousRun(ledgerPath, caseDir))!;
    const key = await resolveSigningKey({
      caseId: sealed.caseId,
      keysDir: options.keysDir,
      ...(options.signingKeyFile ? { signingKeyFile: options.signingKeyFile } : {}),
      allowCreate: false,
      caseDir,
    });
    if (key.publicKey !== current.publicKey) {
      throw new CustodyError('E_LEDGER', `the signing key ${showGivenPath(key.path)} is not the key case ${showUntrusted(sealed.caseId)} was opened with`, { resource: key.path });
    }
    const objects = await caseObjects(caseDir, sealed);
    const done = copiedRecords(current.entries);
    const todo = objects.filter((o) => done.get(o.path)?.data.sha256 !== o.sha256 || done.get(o.path)?.data.key !== store.keyFor(o.path));
    ledger = await Ledger.open({ path: ledgerPath, key, existing: current.entries, now });
    // Whole seconds: S3 keeps retain-until dates to the second.
    const retainUntil = new Date(Math.floor(now().getTime() / 1000) * 1000 + options.retention.days * 86_400_000);
    let copied = 0;
    for (const object of todo) {
      try {
        if (options.signal?.aborted) {
          throw new CustodyError('E_CANCELLED', `cancelled (${abortReason(options.signal)}) before ${object.path} was uploaded`, { resource: store.keyFor(object.path) });
        }
        const data = await uploadAndConfirm(store, object, { mode: options.retention.mode, retainUntil }, options.signal);
        await ledger.append('evidence.copied', options.actor, data);
      } catch (error) {
        if (isCustodyError(error) && error.code === 'E_LEDGER') throw error;
        // Not a CustodyError: most likely the filesystem's, whose message holds the path as it
        // stands, and the path ends in names a cloud chose (a direction override, a C1 control).
        const failure = isCustodyError(error) ? error : new Error(showFsError(error, caseDir));
        const path = showUntrusted(object.path);
        await ledger.append('copy.failed', options.actor, {
          bucket: store.bucket,
          key: store.keyFor(object.path),
          path: object.path,
          error: isCustodyError(error) ? error.toRecord() : { code: 'E_INTERNAL', message: failure.message },
          copied: done.size + copied,
          remaining: todo.length - copied,
        });
        const cancelled = isCustodyError(error) && error.code === 'E_CANCELLED';
        // Refused before anything was sent (no credentials, bad configuration): a configuration
        // problem keeps its own code (exit 3, as everywhere else), not that of a failed upload.
        const refused = isCustodyError(error) && exitCodeForCode(error.code) === EXIT.BAD_INPUT ? error.code : undefined;
        throw new CustodyError(
          cancelled ? 'E_CANCELLED' : (refused ?? 'E_COPY'),
          cancelled
            ? `the copy to ${store.url} was ${failure.message}: ${copied} object(s) were copied by this run and recorded, ${todo.length - copied} not. The case is closed and intact here. Finish the copy with: custody copy-case ${caseDir}`
            : refused
              ? `the copy to ${store.url} was refused before ${path} was uploaded (nothing was sent): ${failure.message.replace(/\.$/, '')}. The case is closed and intact here; ${copied} object(s) were copied by this run. Once that is fixed, finish the copy with: custody copy-case ${caseDir}`
              : `the copy to ${store.url} failed at ${path}: ${failure.message}. The case is closed and intact here; ${copied} object(s) were copied by this run. Retry with: custody copy-case ${caseDir}`,
          { cause: error, resource: store.keyFor(object.path), ...(isCustodyError(error) && error.requestId ? { requestId: error.requestId } : {}) },
        );
      }
      copied++;
      options.onObject?.(object.path, copied, todo.length);
    }
    const last = await ledger.append('case.copied', options.actor, {
      url: store.url,
      bucket: store.bucket,
      objects: objects.length,
      copiedNow: copied,
      sealedHead: { seq: sealEntry.seq, hash: sealEntry.hash },
      retention: { mode: options.retention.mode, retainUntil: retainUntil.toISOString() },
    });
    return {
      url: store.url,
      copied,
      alreadyCopied: objects.length - todo.length,
      total: objects.length,
      head: { seq: last.seq, hash: last.hash },
      sealedHead: { seq: sealEntry.seq, hash: sealEntry.hash },
    };
  } finally {
    await ledger?.close();
    await lock.release();
  }
}

/** The manifest must name the sealing entry: a copy of an unsealed case would prove nothing. */
async function assertManifestSeals(caseDir: string, sealEntry: LedgerEntry): Promise<void> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(caseDir, MANIFEST_FILE), 'utf8')) as Manifest;
  } catch (cause) {
    throw new CustodyError('E_VERIFY', `${caseDir} has no readable ${MANIFEST_FILE}: run custody verify ${caseDir}`, { cause, resource: caseDir });
  }
  if (manifest.ledgerHead?.seq !== sealEntry.seq || manifest.ledgerHead.hash !== sealEntry.hash) {
    throw new CustodyError('E_VERIFY', `${MANIFEST_FILE} does not seal entry ${sealEntry.seq} (case.closed): run custody verify ${caseDir}`, { resource: caseDir });
  }
}

/** What an aborted signal says of why (Ctrl-C: "interrupted by the user"). */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
}

async function uploadAndConfirm(
  store: ImmutableStore,
  object: CaseObject,
  retention: { mode: RetentionMode; retainUntil: Date },
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  const receipt = await store.upload({ path: object.path, source: object.source, size: object.size, retention, ...(signal ? { signal } : {}) });
  const key = receipt.key;
  if (receipt.sentSha256 !== object.sha256) {
    throw new CustodyError('E_VERIFY', `${object.path} changed while it was copied (sent sha256 ${receipt.sentSha256}, recorded ${object.sha256})`, { resource: key });
  }
  if (receipt.checksum.value !== '' && !sameChecksum(receipt.checksum.value, receipt.expectedChecksum)) {
    throw new CustodyError('E_CLOUD', `the store holds SHA-256 ${receipt.checksum.value} for ${key}, not ${receipt.expectedChecksum}`, { resource: key });
  }
  if (!receipt.versionId) {
    throw new CustodyError('E_CLOUD', `the bucket gave ${key} no version id: it is not versioned, so it cannot hold Object Lock`, { resource: key });
  }
  // Ask the store what it now holds under that version: the retention is recorded as confirmed,
  // not as requested.
  const stored = await store.inspect(object.path, receipt.versionId);
  if (!stored) throw new CustodyError('E_CLOUD', `${key} version ${receipt.versionId} is not in the bucket right after its upload`, { resource: key });
  const until = stored.retention?.retainUntil;
  if (stored.retention?.mode !== retention.mode || !until || Date.parse(until) < retention.retainUntil.getTime()) {
    throw new CustodyError(
      'E_CLOUD',
      `${key} version ${receipt.versionId} is not locked as asked (${retention.mode} until ${retention.retainUntil.toISOString()}); the bucket reports ${stored.retention?.mode ?? 'no retention'}${until ? ` until ${until}` : ''}: is Object Lock enabled on the bucket?`,
      { resource: key },
    );
  }
  if (!sameChecksum(stored.checksum?.value, receipt.expectedChecksum)) {
    throw new CustodyError('E_CLOUD', `${key} version ${receipt.versionId} reports SHA-256 ${stored.checksum?.value ?? '(none)'}, not ${receipt.expectedChecksum}`, { resource: key });
  }
  const checksum: StoredChecksum =
    receipt.checksum.value !== ''
      ? { ...receipt.checksum, reportedBy: 'upload' }
      : { ...receipt.checksum, value: stored.checksum!.value, ...(stored.checksum!.type ? { type: stored.checksum!.type } : {}), reportedBy: 'head' };
  return {
    path: object.path,
    bucket: store.bucket,
    key,
    versionId: receipt.versionId,
    size: object.size,
    sha256: object.sha256,
    checksum,
    ...(receipt.etag ? { etag: receipt.etag } : {}),
    retention: { mode: stored.retention.mode, retainUntil: until },
    requestIds: [...receipt.requestIds, ...(stored.requestId ? [stored.requestId] : [])],
  };
}

export interface AgainstResult {
  ok: boolean;
  url: string;
  /** Objects found in the store as recorded. */
  checked: number;
  /** Objects of the sealed case the copy must hold (0 when the ledger records no copy to check). */
  objects: number;
  /**
   * Where the ledger records the case's copy (its last `case.copied`, else its `evidence.copied`);
   * null when it records none. Ledger text, without the signature or password it may hold
   * ({@link recordedUrlForResult}).
   */
  recordedUrl: string | null;
  /**
   * One line for the whole result when no object of the case is at `url` (a mistyped URL, another
   * case's copy): `problems` still names each object, this says what they add up to.
   */
  summary?: string;
  problems: Problem[];
  warnings: Problem[];
}

/**
 * Where the ledger records the case's copy: the URL of its last `case.copied`, else the location
 * its `evidence.copied` entries name (their key less the path). Null when it records none.
 */
export function recordedCopyUrl(entries: readonly LedgerEntry[]): string | null {
  const seal = sealIndex(entries);
  if (seal < 0) return null;
  const after = entries.slice(seal + 1);
  const completed = after.filter((e) => e.type === 'case.copied' && typeof e.data.url === 'string').pop();
  if (completed) return String(completed.data.url);
  for (const entry of [...copiedRecords(entries).values()]) {
    const { bucket, key, path } = entry.data as { bucket?: unknown; key?: unknown; path?: unknown };
    if (typeof bucket === 'string' && typeof key === 'string' && typeof path === 'string' && key.endsWith(`/${path}`)) {
      return `s3://${bucket}/${key.slice(0, -path.length - 1)}`;
    }
  }
  return null;
}

/**
 * The recorded location as the result hands it on (`--json` prints it): ledger text, which a
 * tampered ledger may make a signed URL, so its signature or password is cut (`?…`, `…@`) as the
 * summary cuts it, and a value that still looks like a credential is not handed on at all.
 */
function recordedUrlForResult(recorded: string | null): string | null {
  if (recorded === null) return null;
  const cut = withoutUrlCredentials(recorded);
  return credentialText(cut) === undefined ? cut : showUntrusted(cut);
}

/**
 * The one line for a check where not one object of the case is at `url`: every object was
 * recorded as copied elsewhere, or is not in that bucket under its recorded version. Undefined
 * when any object is there (then each problem is real information and is named on its own).
 */
function nothingThereSummary(caseDir: string, url: string, objects: number, problems: readonly Problem[], recordedUrl: string | null): string | undefined {
  const elsewhere = new Set<string>(['copy-location', 'copy-missing']);
  const paths = new Set(problems.filter((p) => p.path !== undefined && elsewhere.has(p.kind)).map((p) => p.path));
  if (objects < 1 || paths.size < objects) return undefined;
  // The recorded location is ledger text: shown without URL credentials and escaped, and offered as a
  // command only when it is plain text a shell takes as it is.
  const shown = recordedUrl === null ? null : showUntrusted(withoutUrlCredentials(recordedUrl));
  const pasteable = shown !== null && shown === recordedUrl && /^s3:\/\/[\w.\/-]+$/u.test(shown);
  const recorded = shown !== null && recordedUrl !== url ? `the ledger records the case's copy at ${shown}${pasteable ? `: check it with custody verify ${caseDir} --against ${shown}` : ''}` : undefined;
  if (recordedUrl === url && problems.every((p) => p.kind === 'copy-missing' || !elsewhere.has(p.kind))) {
    // Where the ledger says the copy is, and not one recorded version is there: not a typo to fix
    // but a copy gone or altered (or the wrong account, region or endpoint for that bucket).
    return `the ledger records the case's copy at ${url}, and none of its ${objects} recorded object versions is there: the copy was deleted or replaced, or this is not the account, region or endpoint it was made in`;
  }
  if (problems.some((p) => p.kind === 'copy-location')) {
    return `none of the case's ${objects} objects was copied to ${url}: is this the case's copy? ${recorded ?? 'the ledger records no copy of the case there'}`;
  }
  return (
    `none of the case's ${objects} objects is at ${url} under the version the ledger recorded for it: is this the bucket the case was copied to ` +
    `(its account, region or endpoint)?${recorded ? ` ${recorded}` : ''}`
  );
}

/**
 * Checks a case folder against its copy: every object of the sealed case was recorded as copied
 * to this location, is in the store under the recorded version, with the SHA-256 the store
 * reported at upload (which must also be the local bytes'), and still under the recorded
 * retention. Run it after the offline verify, which it does not replace.
 */
export async function verifyAgainstCopy(caseDir: string, store: ImmutableStore, now: () => Date = () => new Date()): Promise<AgainstResult> {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const fail = (p: Omit<Problem, 'severity'>) => problems.push({ severity: 'error', ...p });
  let checked = 0;
  let objectCount = 0;
  const chain = checkChain(await readFile(join(caseDir, LEDGER_FILE), 'utf8').catch(() => ''));
  const recordedUrl = recordedCopyUrl(chain.entries);
  const result = (): AgainstResult => {
    const summary = nothingThereSummary(caseDir, store.url, objectCount, problems, recordedUrl);
    return { ok: problems.length === 0, url: store.url, checked, objects: objectCount, recordedUrl: recordedUrlForResult(recordedUrl), ...(summary ? { summary } : {}), problems, warnings };
  };
  if (sealIndex(chain.entries) < 0) {
    fail({ kind: 'copy-not-recorded', path: LEDGER_FILE, message: 'the case is not closed, so it has no copy to check against' });
    return result();
  }
  const sealed = await readSealedCase(caseDir, chain.entries);
  const records = copiedRecords(chain.entries);
  if (records.size === 0) {
    fail({
      kind: 'copy-not-recorded',
      path: LEDGER_FILE,
      message:
        `the ledger records no copy after case.closed (no evidence.copied entry): copy it with custody copy-case ${caseDir}; ` +
        'a folder restored with custody fetch-case has none (its ledger ends at case.closed as sealed): check the folder the copy was made from',
    });
    return result();
  }
  const objects = (await caseObjects(caseDir, sealed)).filter((o) => !(REPORT_FILES as readonly string[]).includes(o.path));
  objectCount = objects.length;
  for (const object of objects) {
    // Ledger text (the paths the ledger records, where and under what version it says each was
    // copied), and what the store answers, are shown as verify shows untrusted text: escaped,
    // and never a credential.
    const path = showUntrusted(object.path);
    const record = records.get(object.path);
    if (!record) {
      fail({ kind: 'copy-not-recorded', path: object.path, message: `${path} is not recorded as copied (no evidence.copied entry for it)` });
      continue;
    }
    const d = record.data as { key?: string; bucket?: string; versionId?: string; checksum?: StoredChecksum; retention?: { mode?: string; retainUntil?: string } };
    const key = store.keyFor(object.path);
    if (d.bucket !== store.bucket || d.key !== key) {
      const location = `s3://${showUntrusted(String(d.bucket))}/${showUntrusted(String(d.key))}`;
      fail({ kind: 'copy-location', entrySeq: record.seq, path: object.path, message: `${path} was copied to ${location} (entry ${record.seq}), not to ${store.url}` });
      continue;
    }
    const checksum = d.checksum;
    // The local bytes as they are now, not as the ledger says they were.
    const localSha256 = 'file' in object.source ? (await hashFile(object.source.file).catch(() => undefined))?.sha256 : object.sha256;
    const localExpected = checksum && localSha256 ? await expectedChecksumOf(object.source, localSha256, checksum) : undefined;
    if (!checksum || !localExpected || !sameChecksum(checksum.value, localExpected)) {
      fail({ kind: 'copy-changed', entrySeq: record.seq, path: object.path, message: `${path} here does not match the SHA-256 recorded for its copy in entry ${record.seq}` });
      continue;
    }
    const remote = await store.inspect(object.path, String(d.versionId ?? ''));
    const shownKey = showUntrusted(key);
    const version = showUntrusted(String(d.versionId));
    if (!remote) {
      fail({ kind: 'copy-missing', entrySeq: record.seq, path: object.path, message: `${shownKey} version ${version} (entry ${record.seq}) is not in the bucket` });
      continue;
    }
    if (remote.versionId !== undefined && remote.versionId !== d.versionId) {
      fail({ kind: 'copy-version', entrySeq: record.seq, path: object.path, message: `${shownKey} answers with version ${showUntrusted(remote.versionId)}, entry ${record.seq} recorded ${version}` });
      continue;
    }
    if (!sameChecksum(remote.checksum?.value, localExpected)) {
      fail({
        kind: 'copy-changed',
        entrySeq: record.seq,
        path: object.path,
        message: `${shownKey} version ${version} reports SHA-256 ${remote.checksum ? showUntrusted(remote.checksum.value) : '(none)'}, recorded ${showUntrusted(String(checksum.value))} (entry ${record.seq})`,
      });
      continue;
    }
    const recordedUntil = Date.parse(d.retention?.retainUntil ?? '');
    const remoteUntil = Date.parse(remote.retention?.retainUntil ?? '');
    if (!remote.retention?.mode || remote.retention.mode !== d.retention?.mode || Number.isNaN(remoteUntil) || remoteUntil < recordedUntil) {
      fail({
        kind: 'copy-unlocked',
        entrySeq: record.seq,
        path: object.path,
        message:
          `${shownKey} version ${version} is held ${remote.retention?.mode ? showUntrusted(remote.retention.mode) : 'without retention'}${remote.retention?.retainUntil ? ` until ${showUntrusted(remote.retention.retainUntil)}` : ''}, ` +
          `recorded ${showUntrusted(String(d.retention?.mode))} until ${showUntrusted(String(d.retention?.retainUntil))} (entry ${record.seq})`,
      });
      continue;
    }
    if (remoteUntil <= now().getTime()) {
      warnings.push({
        severity: 'warning',
        kind: 'copy-retention-ended',
        entrySeq: record.seq,
        path: object.path,
        message: `the retention of ${shownKey} (entry ${record.seq}) ended on ${showUntrusted(String(remote.retention.retainUntil))}: it is no longer locked`,
      });
    }
    checked++;
  }
  return result();
}

/** Removes `from` and the folders above it up to `top`, each only if empty: never anything else. */
async function removeEmptyFolders(from: string, top: string): Promise<void> {
  for (let dir = from; ; dir = dirname(dir)) {
    if (!(await rmdir(dir).then(() => true, () => false)) || dir === top || dirname(dir) === dir) return;
  }
}

export interface FetchCaseResult {
  dir: string;
  objects: Array<{ path: string; versionId?: string; requestId?: string }>;
}

/**
 * Restores a case folder from its copy into `dir`, which must not exist (nothing is ever
 * overwritten). Downloads the ledger, the manifest and every evidence file the ledger records,
 * into a temporary folder beside `dir` that is renamed at the end. Verify the result offline.
 */
export async function fetchCase(store: ImmutableStore, dir: string): Promise<FetchCaseResult> {
  const target = resolve(dir);
  if (await lstat(target).then(() => true, () => false)) {
    throw new CustodyError('E_INPUT', `${showGivenPath(target)} already exists; fetch-case never overwrites: choose a new --dir`, { resource: target });
  }
  const temp = `${target}.fetching`;
  // The first folder this made above the target (undefined when they all existed): a failed
  // fetch removes them again, so a mistyped URL leaves nothing behind.
  // A --dir this user cannot write in (read-only media, another user's folder) is bad input, said
  // as such; only a temp folder that is already there can be another fetch's.
  const cannotCreate = (cause: unknown): CustodyError =>
    (cause as NodeJS.ErrnoException).code === 'EEXIST'
      ? new CustodyError('E_INPUT', `cannot create ${showGivenPath(temp)} (${showFsError(cause)}): is another fetch running? remove it if not`, { cause, resource: temp })
      : new CustodyError('E_INPUT', `cannot create the folder for --dir ${showGivenPath(target)} (${showFsError(cause)}): give a --dir this user can write`, { cause, resource: target });
  const madeParent = await mkdir(dirname(target), { recursive: true }).catch((cause: unknown) => {
    throw cannotCreate(cause);
  });
  await mkdir(temp, { mode: 0o700 }).catch((cause: unknown) => {
    throw cannotCreate(cause);
  });
  const objects: FetchCaseResult['objects'] = [];
  try {
    const fetchOne = async (path: string) => {
      const { body, versionId, requestId } = await store.download(path);
      const file = join(temp, ...path.split('/'));
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const handle = await open(file, 'wx', 0o600);
      try {
        for await (const chunk of body) await handle.write(chunk);
        await handle.sync();
      } finally {
        await handle.close();
      }
      objects.push({ path, ...(versionId ? { versionId } : {}), ...(requestId ? { requestId } : {}) });
    };
    await fetchOne(LEDGER_FILE);
    await fetchOne(MANIFEST_FILE);
    const chain = checkChain(await readFile(join(temp, LEDGER_FILE), 'utf8'));
    for (const file of collectEvidenceItems(chain.entries).files) {
      const parts = file.path.split('/');
      // Paths come from a downloaded ledger: never let one point outside the folder.
      if (parts.length !== 3 || parts[0] !== EVIDENCE_DIR || parts.slice(1).some((p) => segmentProblem(p) !== undefined)) {
        throw new CustodyError('E_VERIFY', `the copied ledger names an unsafe evidence path ${quoteUntrusted(file.path) ?? showUntrusted(file.path)}`, { resource: file.path });
      }
      await fetchOne(file.path);
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    if (madeParent) await removeEmptyFolders(dirname(target), madeParent);
    throw error;
  }
  return { dir: target, objects };
}
