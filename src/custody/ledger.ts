/**
 * The append-only writer of ledger.jsonl. Appends are serialised through one promise queue; each
 * entry is one write of one line followed by fsync, and the promise resolves only then. The first
 * failed write poisons the ledger: that append and every later one reject with `E_LEDGER`, because
 * a collection whose actions can no longer be recorded must stop.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { LedgerEntry } from '../core/ports.js';
import { CustodyError } from '../core/errors.js';
import { assertNoCredentials } from './credential-guard.js';
import { GENESIS_PREV, entryLine, sealEntry, type UnsealedEntry } from './entry.js';
import { deepFreeze, toJsonData } from './json-data.js';
import type { SigningKey } from './signing-key.js';

export interface LedgerHead {
  seq: number;
  hash: string;
}

export interface OpenLedgerOptions {
  path: string;
  key: SigningKey;
  /** Entries already in the file (a resumed case), verified by the caller. */
  existing?: readonly LedgerEntry[];
  /** Injectable clock for golden tests. */
  now?: () => Date;
}

export class Ledger {
  private readonly all: LedgerEntry[];
  private queue: Promise<unknown> = Promise.resolve();
  private failure: CustodyError | undefined;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly key: SigningKey,
    existing: readonly LedgerEntry[],
    private readonly now: () => Date,
  ) {
    this.all = existing.map((entry) => deepFreeze(structuredClone(entry)));
  }

  /** Opens (creating if needed) the ledger file for appending. Throws `E_LEDGER` if it cannot. */
  static async open(options: OpenLedgerOptions): Promise<Ledger> {
    let handle: FileHandle;
    try {
      handle = await open(options.path, 'a', 0o600);
    } catch (cause) {
      throw new CustodyError('E_LEDGER', `cannot open the ledger ${options.path}: ${(cause as Error).message}`, {
        cause,
        resource: options.path,
      });
    }
    return new Ledger(options.path, handle, options.key, options.existing ?? [], options.now ?? (() => new Date()));
  }

  /**
   * Appends one signed entry and resolves once it is on disk.
   * Rejects with `E_INTERNAL` (nothing written, the ledger stays usable) when `data` is not JSON or
   * holds a credential, and with `E_LEDGER` when the ledger cannot be written (and from then on).
   */
  append(type: string, actor: string, data: Record<string, unknown> = {}, target?: string): Promise<LedgerEntry> {
    let clean: Record<string, unknown>;
    try {
      if (!type) throw new CustodyError('E_INTERNAL', 'a ledger entry needs a type');
      clean = toJsonData(data, 'data') as Record<string, unknown>;
      assertNoCredentials(clean, `${type} data`);
      if (target !== undefined) assertNoCredentials({ target }, `${type} target`);
    } catch (error) {
      return Promise.reject(error);
    }
    const task = this.queue.then(() => this.write(type, actor, clean, target));
    this.queue = task.catch(() => undefined);
    return task;
  }

  /** Every entry, oldest first, including those of earlier runs. Entries are frozen. */
  entries(): readonly LedgerEntry[] {
    return this.all;
  }

  head(): LedgerHead | undefined {
    const last = this.all[this.all.length - 1];
    return last ? { seq: last.seq, hash: last.hash } : undefined;
  }

  /** The error that stopped the ledger, if any. */
  get broken(): CustodyError | undefined {
    return this.failure;
  }

  /** Waits for pending appends, then closes the file. Later appends reject with `E_LEDGER`. */
  async close(): Promise<void> {
    await this.queue;
    if (this.closed) return;
    this.closed = true;
    await this.handle.close().catch(() => undefined);
  }

  private async write(type: string, actor: string, data: Record<string, unknown>, target?: string): Promise<LedgerEntry> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new CustodyError('E_LEDGER', `the ledger ${this.path} is closed; ${type} was not recorded`);
    const head = this.head();
    const unsealed: UnsealedEntry = {
      seq: (head?.seq ?? 0) + 1,
      time: this.now().toISOString(),
      type,
      actor,
      ...(target !== undefined ? { target } : {}),
      data,
      prev: head?.hash ?? GENESIS_PREV,
    };
    const entry = sealEntry(unsealed, this.key);
    const bytes = Buffer.from(entryLine(entry), 'utf8');
    try {
      let offset = 0;
      while (offset < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, offset, bytes.length - offset, null);
        offset += bytesWritten;
      }
      await this.handle.sync();
    } catch (cause) {
      this.failure = new CustodyError(
        'E_LEDGER',
        `cannot write the ledger ${this.path} (${(cause as Error).message}); ${type} (seq ${entry.seq}) was not recorded and collection must stop`,
        { cause, resource: this.path },
      );
      throw this.failure;
    }
    const frozen = deepFreeze(entry);
    this.all.push(frozen);
    return frozen;
  }
}
