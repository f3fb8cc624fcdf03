/**
 * The case's past as an index, built incrementally as the ledger grows: "was this stored? that
 * artefact recorded? this snapshot requested?" cost O(1) per question and O(1) per new entry,
 * never a scan of the ledger (a case of thousands of targets asks them thousands of times).
 *
 * The index follows the recorder's `entries()` array, which only ever grows: every question first
 * indexes the entries appended since the last one. Providers add their own indexes with
 * `derived()`, folded the same way.
 */
import { LEDGER_EVENTS } from './ledger-events.js';
import type { CaseRecorder, LedgerEntry } from './ports.js';

interface Derived {
  position: number;
  state: unknown;
  add: (state: unknown, entry: LedgerEntry) => void;
}

const NONE: readonly LedgerEntry[] = Object.freeze([]);

export class CaseHistory {
  private position = 0;
  private readonly byType = new Map<string, LedgerEntry[]>();
  private readonly byTypeAndTarget = new Map<string, LedgerEntry[]>();
  /** evidenceId → file name as first asked for (`log.txt`, also for `log.resumed-7.txt`) → recorded name. */
  private readonly stored = new Map<string, Map<string, string>>();
  /** evidenceId → cloud ids of each `artifact.recorded`. */
  private readonly artifacts = new Map<string, Array<Record<string, unknown>>>();
  private readonly derivedIndexes = new Map<string, Derived>();

  constructor(private readonly source: () => readonly LedgerEntry[]) {}

  /** Every entry of `type` (this run's and earlier runs'), oldest first. */
  ofType(type: string): readonly LedgerEntry[] {
    this.sync();
    return this.byType.get(type) ?? NONE;
  }

  /** Every entry of `type` about `target`, oldest first. */
  about(type: string, target: string): readonly LedgerEntry[] {
    this.sync();
    return this.byTypeAndTarget.get(`${type}\u0000${target}`) ?? NONE;
  }

  /**
   * The sequence number of the last entry of `type` about `target` whose `data[field]` is `value`,
   * or -1: which came last of a request and its answer ("asked, and never answered?").
   */
  lastSeqWhere(type: string, target: string, field: string, value: string): number {
    return this.about(type, target).findLast((e) => e.data[field] === value)?.seq ?? -1;
  }

  /**
   * The first entry of `type` about `target` for each evidence id (`data.evidenceId`), in ledger
   * order, among the entries `where` accepts: what earlier runs asked for, once per piece of
   * evidence however often they asked again. Entries without a string evidence id are skipped.
   */
  firstPerEvidenceId(type: string, target: string, where: (entry: LedgerEntry) => boolean = () => true): LedgerEntry[] {
    const first = new Map<string, LedgerEntry>();
    for (const entry of this.about(type, target)) {
      const evidenceId = entry.data.evidenceId;
      if (typeof evidenceId === 'string' && !first.has(evidenceId) && where(entry)) first.set(evidenceId, entry);
    }
    return [...first.values()];
  }

  /**
   * The name under which the case recorded `name` for `evidenceId`: the name itself or a resumed
   * copy of it (`name.resumed-<seq>.ext`), else undefined.
   */
  storedName(evidenceId: string, name: string): string | undefined {
    this.sync();
    return this.stored.get(evidenceId)?.get(name);
  }

  /**
   * Whether an `artifact.recorded` for `evidenceId` carries all of `cloudIds` (any, when omitted).
   * `same` compares a recorded id with the one asked for, where the cloud's ids are not compared
   * exactly (a provider knows how its cloud compares them); by default they must be equal.
   */
  artifactRecorded(evidenceId: string, cloudIds?: Record<string, string>, same: (recorded: unknown, asked: string) => boolean = (r, a) => r === a): boolean {
    this.sync();
    const records = this.artifacts.get(evidenceId);
    if (!records) return false;
    if (!cloudIds) return true;
    return records.some((recorded) => Object.entries(cloudIds).every(([k, v]) => same(recorded[k], v)));
  }

  /**
   * The first entry of `type` whose `data[field]` is the string `value` (e.g. the `disk.hashed`
   * of a snapshot: "hashed before?"), from an index kept per type and field.
   */
  firstWhere(type: string, field: string, value: string): LedgerEntry | undefined {
    return this.derived(
      `core.firstWhere\u0000${type}\u0000${field}`,
      () => new Map<string, LedgerEntry>(),
      (first, entry) => {
        const key = entry.type === type ? entry.data[field] : undefined;
        if (typeof key === 'string' && !first.has(key)) first.set(key, entry);
      },
    ).get(value);
  }

  /**
   * A provider's own index over the case, folded entry by entry as the ledger grows (e.g. AWS:
   * which target's chain holds each volume). `key` names it; the first call's `init` and `add` define it.
   */
  derived<T>(key: string, init: () => T, add: (state: T, entry: LedgerEntry) => void): T {
    let index = this.derivedIndexes.get(key);
    if (!index) {
      index = { position: 0, state: init(), add: add as (state: unknown, entry: LedgerEntry) => void };
      this.derivedIndexes.set(key, index);
    }
    const entries = this.source();
    for (; index.position < entries.length; index.position += 1) index.add(index.state, entries[index.position]!);
    return index.state as T;
  }

  private sync(): void {
    const entries = this.source();
    for (; this.position < entries.length; this.position += 1) this.add(entries[this.position]!);
  }

  private add(entry: LedgerEntry): void {
    push(this.byType, entry.type, entry);
    if (entry.target !== undefined) push(this.byTypeAndTarget, `${entry.type}\u0000${entry.target}`, entry);
    const d = entry.data;
    if (entry.type === LEDGER_EVENTS.evidenceStored && typeof d.evidenceId === 'string' && typeof d.name === 'string') {
      let names = this.stored.get(d.evidenceId);
      if (!names) this.stored.set(d.evidenceId, (names = new Map()));
      const asked = askedName(d.name);
      if (!names.has(asked)) names.set(asked, d.name);
      if (!names.has(d.name)) names.set(d.name, d.name);
    } else if (entry.type === LEDGER_EVENTS.artifactRecorded) {
      // Older entries nest the artefact under `artifact`.
      const data = d as { evidenceId?: unknown; cloudIds?: Record<string, unknown>; artifact?: { evidenceId?: unknown; cloudIds?: Record<string, unknown> } };
      const id = data.evidenceId ?? data.artifact?.evidenceId;
      if (typeof id === 'string') {
        let list = this.artifacts.get(id);
        if (!list) this.artifacts.set(id, (list = []));
        list.push(data.cloudIds ?? data.artifact?.cloudIds ?? {});
      }
    }
  }
}

function push(map: Map<string, LedgerEntry[]>, key: string, entry: LedgerEntry): void {
  const list = map.get(key);
  if (list) list.push(entry);
  else map.set(key, [entry]);
}

/** The one resume naming policy: `name.ext` → `name.resumed-<seq>.ext`. */
export function resumedName(name: string, seq: number): string {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : '';
  return `${stem}.resumed-${seq}${ext}`;
}

/** The name a resumed copy was asked for under (`log.resumed-7.txt` → `log.txt`). */
export function askedName(name: string): string {
  return name.replace(/\.resumed-\d+(?=\.[^.]*$|$)/, '');
}

// Keyed by the recorder's entries array (it only grows, and wrappers share it), so every target
// of a case shares one index however its recorder is wrapped.
const histories = new WeakMap<readonly LedgerEntry[], CaseHistory>();

/** The case history of `recorder`'s case, shared by every caller of the same case. */
export function historyOf(recorder: Pick<CaseRecorder, 'entries'>): CaseHistory {
  const entries = recorder.entries();
  let history = histories.get(entries);
  if (!history) {
    history = new CaseHistory(() => recorder.entries());
    histories.set(entries, history);
  }
  return history;
}
