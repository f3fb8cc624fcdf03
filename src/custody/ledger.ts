/**
 * The append-only writer of ledger.jsonl, with group commit.
 *
 * Each `append` is sealed at once, in call order: its seq is the next one and its `prev` is the
 * hash of the entry appended just before it, whether or not that one is on disk yet. Sealed
 * entries wait in a queue; one flush at a time writes every queued line with one write and one
 * fsync, then resolves all of them. So an append's promise resolves only once its own bytes are
 * fsync'd, but 200 collectors recording at once share fsyncs instead of waiting for one each.
 *
 * The first failed flush poisons the ledger: every append of that flush, every append queued
 * behind it and every later one reject with `E_LEDGER`, because a collection whose actions can no
 * longer be recorded must stop.
 */
import { constants } from 'node:fs';
import type { LedgerEntry } from '../core/ports.js';
import { CustodyError } from '../core/errors.js';
import { assertNoCredentials } from './credential-guard.js';
import { entryData } from './entry-data.js';
import { GENESIS_PREV, sealEntryLine } from './entry.js';
import { closeFd, fdatasyncFd, openFd, sizeOfFd, truncateFd, writeAllFd } from './fs-util.js';
import { deepFreeze, toJsonData } from './json-data.js';
import type { SigningKey } from './signing-key.js';
import { showFsError, showGivenPath } from './untrusted-text.js';

export interface LedgerHead {
  seq: number;
  hash: string;
}

/** The file operations the ledger needs; injectable so tests can count and hold fsyncs. */
export interface LedgerFile {
  /** Writes all of `bytes` at the end of the file; one that fails leaves none of them there. */
  write(bytes: Uint8Array): Promise<void>;
  /** Makes everything written so far durable (fsync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenLedgerOptions {
  path: string;
  key: SigningKey;
  /** Entries already in the file (a resumed case), verified by the caller. */
  existing?: readonly LedgerEntry[];
  /** Injectable clock for golden tests. */
  now?: () => Date;
  /** Opens the file for appending (default `openLedgerFile`); tests wrap it to watch fsyncs. */
  openFile?: (path: string) => Promise<LedgerFile>;
}

/** Opens `path` for appending (created `0600` if missing). */
export async function openLedgerFile(path: string): Promise<LedgerFile> {
  // Node's callback API, not node:fs/promises: half the main-thread CPU per call (fs-util.ts).
  const fd = await openFd(path, APPEND, 0o600);
  // The length after the last complete write. A write that fails part way (a full disk takes what
  // fits, then ENOSPC) is cut back to it: half a line at the end would stop the case from being
  // resumed or verified, and the entries it held were refused, so none of them may stay.
  let length = await sizeOfFd(fd).catch(async (cause: unknown) => {
    await closeFd(fd).catch(() => undefined);
    throw cause;
  });
  return {
    write: async (bytes: Uint8Array) => {
      try {
        await writeAllFd(fd, bytes);
      } catch (error) {
        await truncateFd(fd, length)
          .then(() => fdatasyncFd(fd))
          .catch(() => undefined); // the write's own error is the one to report
        throw error;
      }
      length += bytes.length;
    },
    // fdatasync: the appended bytes and the new length, without the inode's times (as a database
    // log does); what a reader of the file needs after a crash is all made durable.
    sync: () => fdatasyncFd(fd),
    close: () => closeFd(fd),
  };
}

/**
 * `a`: write only, at the end, created if missing; never through a symlink (where the platform has
 * O_NOFOLLOW). Resume refuses a ledger that is not a regular file before opening it; this closes
 * the gap between that check and the open, so entries never land in a file outside the case.
 */
const APPEND = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | (constants.O_NOFOLLOW ?? 0);

/** A sealed entry waiting for the flush that makes it durable. */
interface Queued {
  entry: LedgerEntry;
  /** Its line in ledger.jsonl, rendered when it was sealed. */
  line: string;
  resolve(entry: LedgerEntry): void;
  reject(error: CustodyError): void;
}

export class Ledger {
  /** Durable entries only: an entry appears here once its flush has completed. */
  private readonly all: LedgerEntry[];
  /** The last sealed entry, durable or queued: the next append chains to it. */
  private tail: LedgerHead | undefined;
  private queued: Queued[] = [];
  private flushing = false;
  private drained: Promise<void> = Promise.resolve();
  private failure: CustodyError | undefined;
  private closing = false;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly file: LedgerFile,
    private readonly key: SigningKey,
    existing: readonly LedgerEntry[],
    private readonly now: () => Date,
  ) {
    this.all = existing.map((entry) => deepFreeze(structuredClone(entry)));
    const last = this.all[this.all.length - 1];
    this.tail = last ? { seq: last.seq, hash: last.hash } : undefined;
  }

  /** Opens (creating if needed) the ledger file for appending. Throws `E_LEDGER` if it cannot. */
  static async open(options: OpenLedgerOptions): Promise<Ledger> {
    let file: LedgerFile;
    try {
      file = await (options.openFile ?? openLedgerFile)(options.path);
    } catch (cause) {
      throw new CustodyError('E_LEDGER', `cannot open the ledger ${showGivenPath(options.path)}: ${showFsError(cause)}`, {
        cause,
        resource: options.path,
      });
    }
    return new Ledger(options.path, file, options.key, options.existing ?? [], options.now ?? (() => new Date()));
  }

  /**
   * Appends one signed entry and resolves once it is on disk (written and fsync'd).
   * Rejects with `E_INTERNAL` (nothing written, no seq used, the ledger stays usable) when `data`
   * is not JSON or holds a credential, and with `E_LEDGER` when the ledger cannot be written (and
   * from then on) or is closed.
   */
  append(type: string, actor: string, data: Record<string, unknown> = {}, target?: string): Promise<LedgerEntry> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) {
      return Promise.reject(new CustodyError('E_LEDGER', `the ledger ${showGivenPath(this.path)} is closed; ${type} was not recorded`));
    }
    let entry: LedgerEntry;
    let line: string;
    try {
      if (!type) throw new CustodyError('E_INTERNAL', 'a ledger entry needs a type');
      // One walk converts, scans and canonicalises the data (entry-data.ts); what it declines
      // takes the careful walks, which refuse with the errors they always gave.
      const fast = entryData(data);
      let clean: Record<string, unknown>;
      if (fast) clean = fast.value;
      else {
        clean = toJsonData(data, 'data') as Record<string, unknown>;
        assertNoCredentials(clean, `${type} data`);
      }
      if (target !== undefined) assertNoCredentials({ target }, `${type} target`);
      ({ entry, line } = sealEntryLine(
        {
          seq: (this.tail?.seq ?? 0) + 1,
          time: this.now().toISOString(),
          type,
          actor,
          ...(target !== undefined ? { target } : {}),
          data: clean,
          prev: this.tail?.hash ?? GENESIS_PREV,
        },
        this.key,
        fast?.text,
      ));
    } catch (error) {
      return Promise.reject(error);
    }
    this.tail = { seq: entry.seq, hash: entry.hash };
    return new Promise<LedgerEntry>((resolve, reject) => {
      this.queued.push({ entry, line, resolve, reject });
      this.startFlushing();
    });
  }

  /** Every durable entry, oldest first, including those of earlier runs. Entries are frozen. */
  entries(): readonly LedgerEntry[] {
    return this.all;
  }

  /** The last durable entry. */
  head(): LedgerHead | undefined {
    const last = this.all[this.all.length - 1];
    return last ? { seq: last.seq, hash: last.hash } : undefined;
  }

  /** The error that stopped the ledger, if any. */
  get broken(): CustodyError | undefined {
    return this.failure;
  }

  /**
   * Refuses further appends, waits until every entry already appended is flushed (or refused),
   * then closes the file. Later appends reject with `E_LEDGER`.
   */
  async close(): Promise<void> {
    this.closing = true;
    while (this.flushing) await this.drained;
    if (this.closed) return;
    this.closed = true;
    await this.file.close().catch(() => undefined);
  }

  private startFlushing(): void {
    if (this.flushing) return; // the flush in flight picks the new entry up when it is done
    this.flushing = true;
    this.drained = this.drain();
  }

  /** Flushes batches until the queue is empty. Never rejects: failures go to the appenders. */
  private async drain(): Promise<void> {
    for (;;) {
      const batch = this.queued;
      if (batch.length === 0) {
        // Cleared in the same synchronous step as the emptiness check, so an append arriving
        // after it starts a new drain instead of waiting for this finished one.
        this.flushing = false;
        return;
      }
      this.queued = [];
      try {
        await this.file.write(Buffer.from(batch.map((q) => q.line).join(''), 'utf8'));
        await this.file.sync();
      } catch (cause) {
        this.failure = this.flushError(batch, cause);
        const refused = [...batch, ...this.queued];
        this.queued = [];
        this.flushing = false;
        for (const q of refused) q.reject(this.failure);
        return;
      }
      for (const q of batch) {
        const frozen = deepFreeze(q.entry);
        this.all.push(frozen);
        q.resolve(frozen);
      }
    }
  }

  private flushError(batch: readonly Queued[], cause: unknown): CustodyError {
    const first = batch[0]!.entry;
    const last = batch[batch.length - 1]!.entry;
    const what =
      batch.length === 1
        ? `${first.type} (seq ${first.seq}) was`
        : `entries ${first.seq}..${last.seq} (${[...new Set(batch.map((q) => q.entry.type))].join(', ')}) were`;
    return new CustodyError(
      'E_LEDGER',
      `cannot write the ledger ${showGivenPath(this.path)} (${showFsError(cause)}); ${what} not recorded and collection must stop`,
      { cause, resource: this.path },
    );
  }
}
