/**
 * What the cloud may still hold that the case did not collect, read back from the ledger for the
 * report: each failed step whose wait was cut (`leftInAws`, `leftInGcp`, `leftInAzure`: the
 * thing was asked for and may still be being made; a resume adopts it) and each read grant left
 * open (`export.left-open`, or a failed revoke's `grantStillOpen`). Only what the ledger records: a later entry of the same target takes
 * a note up only when it names the very id the note's entry recorded (docs/ledger-format.md);
 * otherwise the note stands as recorded in its entry.
 */
import type { LedgerEntry } from '../core/ports.js';
import { errorText, stringOf } from './recorded-fields.js';

export interface LeftInCloudRow {
  seq: number;
  time: string;
  target: string;
  /** The failed step (`wait-snapshot`, `snapshot`, `restore-point`, …), or `export.left-open`. */
  what: string;
  /** The provider's ids the entry records, as `name=value` (a copy step's source said so). */
  ids: string[];
  /** The entry's own sentence: the `leftIn*` note, the left-open grant's `reason`, or the failed revoke's error. */
  note: string;
  /** The later entry that adopted, completed, found FAILED (GCP) or revoked it, when one names the same id. */
  takenUp?: { seq: number; type: string; how: 'adopted' | 'completed' | 'failed' | 'revoked'; detail: string[] };
  /**
   * What a later entry would record to take it up (`adopted or completed`, `revoked`); absent for
   * a step whose taking up the report does not know how to read: the note stands as recorded.
   */
  awaits?: string;
}

/** How many rows there are, and how many of them no later entry took up (the report's summary line, `report --json`). */
export interface LeftInCloudCount {
  total: number;
  stillLeft: number;
}

export function countLeftInCloud(rows: readonly LeftInCloudRow[]): LeftInCloudCount {
  return { total: rows.length, stillLeft: rows.filter((r) => r.takenUp === undefined).length };
}

const LEFT_NOTES = ['leftInAws', 'leftInGcp', 'leftInAzure'] as const;

/** The id fields a left note may carry, in the order the report lists them. */
const ID_FIELDS = ['snapshotName', 'snapshotId', 'copySnapshotId', 'restorePointId', 'volumeId', 'disk', 'source', 'blob', 'copyId', 'grantExpiresOn'];

/**
 * An AWS copy step records its source as `snapshotId`; the copy it left is named by its note, and
 * by `copySnapshotId` in entries written since that field was (older ones lack it).
 */
const AWS_COPY_ROLE: Readonly<Record<string, string>> = { reencrypt: 'reencrypted', 'forensics-copy': 'forensics' };

/** What an entry that takes a note up records of the thing's state, by cloud. */
const STATE_FIELDS = ['state', 'status', 'provisioningState'];

interface Rule {
  /** Entry types that take the note up, and what each says happened. */
  by: Readonly<Record<string, 'adopted' | 'completed' | 'failed' | 'revoked'>>;
  /** Whether `later` names what the note's entry `left` left. */
  names: (later: Record<string, unknown>, left: Record<string, unknown>) => boolean;
  /** Fields of the taking entry the report repeats (the copy's own id: the note's entry lacks it). */
  shows?: string[];
}

/** ARM ids are case-insensitive (Azure answers them in either case); the others are compared exactly. */
const sameArmId = (a: unknown, b: unknown) => typeof a === 'string' && typeof b === 'string' && a !== '' && a.toLowerCase() === b.toLowerCase();
const same = (a: unknown, b: unknown) => typeof a === 'string' && a !== '' && a === b;

const SNAPSHOT_TAKEN = { 'snapshot.adopted': 'adopted', 'snapshot.completed': 'completed' } as const;

/** How a later entry takes up a note, by the note's cloud and step; none: the note stands as recorded. */
function ruleFor(entry: LedgerEntry): Rule | undefined {
  const d = entry.data;
  const step = stringOf(d.step);
  if (isOpenGrant(entry)) return { by: { 'export.revoked': 'revoked' }, names: (later, left) => sameArmId(later.source, left.source) };
  if (d.leftInAws !== undefined) {
    if (step === 'wait-snapshot') return { by: SNAPSHOT_TAKEN, names: (later, left) => same(later.snapshotId, left.snapshotId) };
    const role = step ? AWS_COPY_ROLE[step] : undefined;
    // The copy's own id, where the entry records it: only the adoption of that very copy takes it up.
    if (role && typeof d.copySnapshotId === 'string') return { by: { 'snapshot.adopted': 'adopted' }, names: (later, left) => same(later.snapshotId, left.copySnapshotId) };
    // Without it, found again by the case's tags: the adoption names the copy's source and role, as the step did.
    if (role) return { by: { 'snapshot.adopted': 'adopted' }, names: (later, left) => later.role === role && same(later.sourceSnapshotId, left.snapshotId), shows: ['snapshotId'] };
    return undefined;
  }
  // A GCP snapshot a resume found FAILED is settled: kept in GCP, nothing is being made under that
  // name any more, and the resume took the next name (its own entries say so).
  if (d.leftInGcp !== undefined) {
    return step === 'snapshot' ? { by: { ...SNAPSHOT_TAKEN, 'snapshot.failed': 'failed' }, names: (later, left) => same(later.snapshotName, left.snapshotName) } : undefined;
  }
  if (d.leftInAzure !== undefined) {
    if (step === 'snapshot') return { by: SNAPSHOT_TAKEN, names: (later, left) => sameArmId(later.snapshotId, left.snapshotId) };
    if (step === 'restore-point' || step === 'adopt-restore-point') {
      return { by: { 'restorepoint.adopted': 'adopted', 'restorepoint.completed': 'completed' }, names: (later, left) => sameArmId(later.restorePointId, left.restorePointId) };
    }
  }
  return undefined;
}

/** A grant the ledger says may still be open: left open, or its revoke failed (Azure `grantStillOpen`). */
function isOpenGrant(entry: LedgerEntry): boolean {
  return entry.type === 'export.left-open' || (entry.type === 'step.failed' && entry.data.grantStillOpen === true);
}

/** The entry's left note: a failed step's `leftIn*` sentence, a left-open grant's reason, a failed revoke's error. */
function noteOf(entry: LedgerEntry): string | undefined {
  if (entry.type === 'export.left-open') return stringOf(entry.data.reason) ?? '(no reason recorded)';
  if (entry.type !== 'step.failed') return undefined;
  if (entry.data.grantStillOpen === true) return errorText(entry.data, '(no error recorded)');
  for (const field of LEFT_NOTES) {
    const note = entry.data[field];
    if (note !== undefined && note !== null) return stringOf(note) ?? JSON.stringify(note);
  }
  return undefined;
}

function idsOf(entry: LedgerEntry): string[] {
  const copyStep = entry.data.leftInAws !== undefined && AWS_COPY_ROLE[stringOf(entry.data.step) ?? ''] !== undefined;
  return ID_FIELDS.flatMap((field) => {
    const value = stringOf(entry.data[field]);
    if (value === undefined) return [];
    return [`${field}=${value}${copyStep && field === 'snapshotId' ? " (the copy's source)" : ''}`];
  });
}

/**
 * Every left note in ledger order, each with the first later entry of its target that adopted,
 * completed or revoked what it names. A note written again after that (a resume's wait cut
 * again) is a row of its own.
 */
export function leftInCloudRows(entries: readonly LedgerEntry[]): LeftInCloudRow[] {
  const rows: LeftInCloudRow[] = [];
  entries.forEach((entry, index) => {
    const note = noteOf(entry);
    if (note === undefined) return;
    const rule = ruleFor(entry);
    const taker = rule
      ? entries.slice(index + 1).find((later) => later.target === entry.target && rule.by[later.type] !== undefined && rule.names(later.data, entry.data))
      : undefined;
    rows.push({
      seq: entry.seq,
      time: entry.time,
      target: entry.target ?? '',
      what: entry.type === 'export.left-open' ? entry.type : stringOf(entry.data.step) ?? '',
      ids: idsOf(entry),
      note,
      ...(rule ? { awaits: inWords([...new Set(Object.values(rule.by))]) } : {}),
      ...(taker && rule
        ? {
            takenUp: {
              seq: taker.seq,
              type: taker.type,
              how: rule.by[taker.type]!,
              detail: [...(rule.shows ?? []), ...STATE_FIELDS].flatMap((field) => {
                const value = stringOf(taker.data[field]);
                return value === undefined ? [] : [`${field} ${value}`];
              }),
            },
          }
        : {}),
    });
  });
  return rows;
}

/** `a`, `a or b`, `a, b or c`. */
function inWords(words: readonly string[]): string {
  return words.length <= 2 ? words.join(' or ') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}
