/**
 * Opens a case folder for recording: creates it (new case) or re-verifies and continues it
 * (`resume`), and returns the `CaseRecorder` the collectors write through.
 */
import { hostname } from 'node:os';
import { chmod, lstat, mkdir, rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { validateCaseId } from '../core/case-id.js';
import { defaultKeysDir } from '../core/config.js';
import { evidenceFileOnDisk } from '../core/kernel.js';
import { CustodyError } from '../core/errors.js';
import type { ArtifactInput, CaseRecorder, EvidenceInput, LedgerEntry, StoredEvidence } from '../core/ports.js';
import { acquireCaseLock, type CaseLock } from './case-lock.js';
import { closedData, startManifest, writeManifest, type CloseSummary } from './close-case.js';
import { knownEvidenceFile, recordArtifact, storeEvidence } from './evidence-store.js';
import { LEDGER_FILE, PARTIAL_DIR } from './layout.js';
import { ensureConfiguredDir } from './configured-dir.js';
import { syncDir } from './fs-util.js';
import { Ledger, type LedgerHead } from './ledger.js';
import { buildManifest, signManifest, type Manifest } from './manifest.js';
import { findUnrecordedFiles, readPreviousRun, RECOVERED_NOTE, tidyForResume } from './resume.js';
import { refuseInsideCase, resolveSigningKey, type SigningKey } from './signing-key.js';
import { showFsError, showGivenPath } from './untrusted-text.js';

export { LEDGER_FILE } from './layout.js';
export const TOOL_NAME = 'cloud-custody';

export interface OpenCaseOptions {
  /** Folder holding case folders; created if missing. */
  casesDir: string;
  caseId: string;
  /** Who runs this collection (as asserted): every entry of this run names them as actor. */
  analyst: string;
  /**
   * Who the orchestrator's credentials authenticated as (STS GetCallerIdentity), recorded beside
   * the asserted analyst in `case.opened` / `case.resumed`.
   */
  principal?: Principal;
  /** Where per-case keys are kept (default `defaultKeysDir()`); never inside the case folder. */
  keysDir?: string;
  /** Sign with this Ed25519 PKCS#8 PEM instead of a per-case key. */
  signingKeyFile?: string;
  toolVersion: string;
  /** A non-secret summary of the configuration, recorded in `case.opened` / `case.resumed`. */
  config?: Record<string, unknown>;
  /**
   * Continue an existing case. Without it an existing case folder is refused (a typo in a case id
   * must not append to someone else's case); with it a missing case folder is refused.
   */
  resume?: boolean;
  /** Recorded as the host of this run (default: `os.hostname()`). */
  host?: string;
  /** Clock for the ledger (tests). */
  now?: () => Date;
}

export type { CloseSummary } from './close-case.js';

/** An authenticated caller: `{ arn, account, userId }` from STS GetCallerIdentity. */
export interface Principal {
  arn: string;
  account: string;
  userId: string;
}

export interface CloseResult {
  manifest: Manifest;
  manifestPath: string;
  head: LedgerHead;
}

/** The case as returned by `openCase`: the recorder collectors use, plus its lifecycle. */
export interface CaseHandle extends CaseRecorder {
  /** Base64 SPKI DER of the signing key, pinned in `case.opened`. */
  readonly publicKey: string;
  /** SHA-256 (hex) of the public key: print it, keep it, compare it later. */
  readonly fingerprint: string;
  /** Where the private key is kept. */
  readonly keyPath: string;
  /** True when this run continues an existing case. */
  readonly resumed: boolean;
  /** Records `case.closed` with outcome counts and writes the signed manifest.json. */
  close(summary?: CloseSummary): Promise<CloseResult>;
  /**
   * Stops recording without closing the case (an interrupted run, Ctrl-C): pending entries are
   * finished, the file and the lock are released, and the case can be resumed later.
   */
  release(): Promise<void>;
}

/**
 * Opens a new case (`case.opened`) or resumes one (`case.resumed`, after re-verifying the whole
 * ledger and checking the signing key against the pinned one).
 *
 * @example
 * const kase = await openCase({ casesDir: 'cases', caseId: 'IR-2024-001', analyst: 'alice',
 *   toolVersion: '0.1.0' });
 * await kase.storeEvidence({ evidenceId, name: 'instance.json', kind: 'instance-description',
 *   source: arn, content: json });
 * await kase.close({ outcomes });
 */
export async function openCase(options: OpenCaseOptions): Promise<CaseHandle> {
  const caseId = validateCaseId(options.caseId);
  if (typeof options.analyst !== 'string' || !options.analyst.trim()) {
    throw new CustodyError('E_INPUT', 'an analyst is required: every ledger entry names who acted');
  }
  const casesDir = resolve(options.casesDir);
  const caseDir = join(casesDir, caseId);
  const keysDir = resolve(options.keysDir ?? defaultKeysDir());
  // Checked before anything is created: a refused configuration leaves no folder behind.
  if (options.signingKeyFile) await refuseInsideCase(options.signingKeyFile, caseDir, 'signingKeyFile');
  else await refuseInsideCase(keysDir, caseDir, 'keysDir');
  const exists = await lstat(caseDir).then(
    (s) => {
      if (!s.isDirectory()) throw new CustodyError('E_INPUT', `${showGivenPath(caseDir)} exists and is not a case folder`, { resource: caseDir });
      return true;
    },
    () => false,
  );
  if (exists && !options.resume) {
    throw new CustodyError(
      'E_INPUT',
      `case ${caseId} already exists in ${showGivenPath(casesDir)}; pass --resume to continue it, or choose another case id`,
      { resource: caseDir },
    );
  }
  if (!exists && options.resume) {
    throw new CustodyError('E_INPUT', `there is no case ${caseId} in ${showGivenPath(casesDir)} to resume (check the case id)`, {
      resource: caseDir,
    });
  }
  // Folders the configuration names are checked (and made) before the case folder exists, so a
  // bad path is a configuration error that leaves nothing behind.
  if (!options.signingKeyFile) await ensureConfiguredDir(keysDir, 'keysDir', 0o700);
  if (!exists) {
    await ensureConfiguredDir(casesDir, 'casesDir');
    await mkdir(caseDir, { mode: 0o700 }).catch((cause: unknown) => {
      const code = (cause as NodeJS.ErrnoException).code;
      // A casesDir this user may not write in (permissions, a read-only mount) is configuration:
      // nothing was created, so it is not a ledger that stopped a collection (exit 5).
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
        throw new CustodyError('E_CONFIG', `casesDir ${showGivenPath(casesDir)} does not let this user create the case folder ${caseId} (${showFsError(cause, casesDir)}): give a casesDir this user can write in, or change its permissions`, { cause, resource: caseDir });
      }
      throw new CustodyError(
        code === 'EEXIST' ? 'E_INPUT' : 'E_LEDGER',
        `cannot create the case folder ${showGivenPath(caseDir)}: ${showFsError(cause, casesDir)}`,
        { cause, resource: caseDir },
      );
    });
    await chmod(caseDir, 0o700); // mkdir's mode is filtered by the umask
  }

  const lock = await acquireCaseLock(caseDir, caseId);
  try {
    return await startRun({ ...options, caseId }, caseDir, keysDir, lock);
  } catch (error) {
    await lock.release();
    if (!exists) await removeIfUnused(caseDir);
    throw error;
  }
}

/** A new case that failed before its first entry leaves nothing behind (so no --resume is needed). */
async function removeIfUnused(caseDir: string): Promise<void> {
  const ledgerPath = join(caseDir, LEDGER_FILE);
  const size = await lstat(ledgerPath).then((s) => s.size, () => 0);
  if (size > 0) return;
  await rm(ledgerPath, { force: true });
  await rmdir(join(caseDir, PARTIAL_DIR)).catch(() => undefined);
  await rmdir(caseDir).catch(() => undefined); // only if empty: never remove anything else
}

async function startRun(options: OpenCaseOptions, caseDir: string, keysDir: string, lock: CaseLock): Promise<CaseHandle> {
  const ledgerPath = join(caseDir, LEDGER_FILE);
  const previous = await readPreviousRun(ledgerPath, caseDir);
  const key = await resolveSigningKey({
    caseId: options.caseId,
    keysDir,
    ...(options.signingKeyFile ? { signingKeyFile: options.signingKeyFile } : {}),
    allowCreate: previous === undefined,
    caseDir,
  });
  if (previous && previous.publicKey !== key.publicKey) {
    // The ledger is fine; the configuration points at the wrong key: bad configuration (exit 3).
    throw new CustodyError(
      'E_CONFIG',
      `the signing key ${showGivenPath(key.path)} (fingerprint ${key.fingerprint}) is not the key this case was opened with (fingerprint ${previous.fingerprint}); resume with the key that signed the case`,
      { resource: key.path },
    );
  }

  const ledger = await Ledger.open({ path: ledgerPath, key, existing: previous?.entries ?? [], ...(options.now ? { now: options.now } : {}) });
  const run = {
    analyst: options.analyst,
    // Only what was authenticated: without an aws section there is no caller identity to record.
    ...(options.principal ? { principal: { arn: options.principal.arn, account: options.principal.account, userId: options.principal.userId } } : {}),
    tool: { name: TOOL_NAME, version: options.toolVersion },
    host: options.host ?? hostname(),
    ...(options.config !== undefined ? { config: options.config } : {}),
  };
  try {
    if (!previous) {
      await ledger.append('case.opened', options.analyst, {
        caseId: options.caseId,
        keyAlgorithm: 'Ed25519',
        publicKey: key.publicKey,
        keyFingerprint: key.fingerprint,
        keyOrigin: key.origin === 'file' ? 'signingKeyFile' : 'per-case key',
        ...run,
      });
      await syncDir(caseDir);
    } else {
      const housekeeping = await tidyForResume(caseDir);
      // Only an interrupted run leaves placed-but-unrecorded files: those are recorded as
      // recovered. A closed case has none of its own, so an unrecorded file there was put in
      // after the close: it is named in case.resumed, never recovered, and verify keeps failing.
      const unrecorded = await findUnrecordedFiles(caseDir, previous.entries);
      const recovered = previous.closed ? [] : unrecorded;
      await ledger.append('case.resumed', options.analyst, {
        caseId: options.caseId,
        previousHead: previous.head,
        wasClosed: previous.closed,
        ...housekeeping,
        ...(recovered.length > 0 ? { recoveredFiles: recovered.map((f) => f.path) } : {}),
        ...differencesFromOpening(previous.entries, options.analyst, options.principal ?? null),
        ...(previous.closed && unrecorded.length > 0
          ? { unrecordedAfterClose: unrecorded.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })) }
          : {}),
        ...run,
      });
      await Promise.all(
        recovered.map(({ target, ...file }) =>
          ledger.append('evidence.recovered', options.analyst, { ...file, note: RECOVERED_NOTE }, target),
        ),
      );
    }
  } catch (error) {
    await ledger.close();
    throw error;
  }
  return createHandle(options, caseDir, key, ledger, lock, previous !== undefined);
}

/**
 * How this run's analyst and principal differ from the case's opening run: a resume by someone
 * else is recorded as such (`differsFromOpened: { analyst?: {opened, now}, principal?: {opened, now} }`).
 */
function differencesFromOpening(entries: readonly LedgerEntry[], analyst: string, principal: Principal | null): Record<string, unknown> {
  const opened = entries.find((e) => e.type === 'case.opened');
  if (!opened) return {};
  const differs: Record<string, unknown> = {};
  const openedAnalyst = typeof opened.data.analyst === 'string' ? opened.data.analyst : opened.actor;
  if (openedAnalyst !== analyst) differs.analyst = { opened: openedAnalyst, now: analyst };
  const openedPrincipal = (opened.data.principal ?? null) as { arn?: unknown } | null;
  const openedArn = typeof openedPrincipal?.arn === 'string' ? openedPrincipal.arn : null;
  const nowArn = principal?.arn ?? null;
  if (openedArn !== nowArn) differs.principal = { opened: openedArn, now: nowArn };
  return Object.keys(differs).length > 0 ? { differsFromOpened: differs } : {};
}

function createHandle(
  options: OpenCaseOptions,
  caseDir: string,
  key: SigningKey,
  ledger: Ledger,
  lock: CaseLock,
  resumed: boolean,
): CaseHandle {
  const analyst = options.analyst;
  let ended = false;
  const record = (type: string, data: Record<string, unknown> = {}, target?: string): Promise<LedgerEntry> =>
    ledger.append(type, analyst, data, target);
  const sink = { caseDir, record, entries: () => ledger.entries() };

  return {
    caseId: options.caseId,
    analyst,
    caseDir,
    publicKey: key.publicKey,
    fingerprint: key.fingerprint,
    keyPath: key.path,
    resumed,
    record,
    entries: () => ledger.entries(),
    storeEvidence: (input: EvidenceInput): Promise<StoredEvidence> => storeEvidence(sink, input),
    // What the store knows first (folders it made hold only what it placed), the disk otherwise.
    evidenceFile(evidenceId: string, name: string): { sha256: string } | undefined {
      const known = knownEvidenceFile(caseDir, evidenceId, name);
      if (known === 'unknown') return evidenceFileOnDisk(caseDir, evidenceId, name);
      return known === 'absent' ? undefined : known;
    },
    recordArtifact: (input: ArtifactInput): Promise<LedgerEntry> => recordArtifact(sink, input),
    async close(summary: CloseSummary = {}): Promise<CloseResult> {
      if (ended) throw new CustodyError('E_INTERNAL', `case ${options.caseId} is already closed or released`);
      ended = true;
      try {
        await startManifest(caseDir);
        await record('case.closed', closedData(summary, ledger.entries()));
        const manifest = signManifest(buildManifest(options.caseId, key.publicKey, ledger.entries()), key);
        const manifestPath = await writeManifest(caseDir, manifest);
        return { manifest, manifestPath, head: manifest.ledgerHead };
      } finally {
        await ledger.close();
        await lock.release();
      }
    },
    async release(): Promise<void> {
      if (ended) return;
      ended = true;
      await ledger.close();
      await lock.release();
    },
  };
}
