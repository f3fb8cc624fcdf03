/**
 * What the case's ledger says about each disk, across runs: which target holds it (the first to
 * preserve it, or ask to) and whether that target finished it (its copy hashed, then sealed).
 *
 * A resumed run needs both before any target claims a disk. The target that holds a disk since
 * an earlier run keeps it: the snapshot or disk restore point it preserved the disk in, the blob
 * it copies into and the read grant it opened are its own (the restore point's blob is named
 * `custody-<ev>-crash`, a snapshot's `custody-<ev>`), so another target taking the disk over
 * would export it a second time. And a disk counts as done for another target only once the
 * ledger shows its copy hashed and sealed, not as soon as a hash was recorded.
 */
import { historyOf } from '../../core/case-history.js';
import { LEDGER_EVENTS } from '../../core/ledger-events.js';
import type { CaseRecorder, LedgerEntry } from '../../core/ports.js';
import type { DiskFacts } from './describe.js';
import { evidenceIdOfBlob } from './export.js';

/** Per evidence id: the holding target, and how far the ledger shows it got. */
export interface DiskLedgerState {
  holder: string;
  /** An `azure-disk-export` artefact (a hashed copy) is recorded. */
  hashed: boolean;
  /** After that hash, the copy's last seal entry is `evidence.sealed` or `seal.skipped`. */
  sealed: boolean;
}

/** The entries that say a target preserved (or asked to preserve) a disk, by its evidence id. */
const PRESERVING = new Set(['snapshot.requested', 'snapshot.adopted', 'artifact.recorded']);

/** Seal entries, by whether they leave the hashed copy sealed as hashed. */
const SEAL_OUTCOMES: Record<string, boolean> = {
  'evidence.sealed': true,
  'seal.skipped': true,
  'seal.failed': false,
  'evidence.overwritten': false,
};

/** Evidence id → what the ledger (earlier runs and this one) says about that disk. */
export function diskLedger(recorder: CaseRecorder): ReadonlyMap<string, DiskLedgerState> {
  return historyOf(recorder).derived('azure.diskLedger', () => new Map<string, DiskLedgerState>(), addEntry);
}

function addEntry(disks: Map<string, DiskLedgerState>, entry: LedgerEntry): void {
  const d = entry.data;
  if (PRESERVING.has(entry.type) && typeof d.evidenceId === 'string' && entry.target) {
    let state = disks.get(d.evidenceId);
    if (!state) disks.set(d.evidenceId, (state = { holder: entry.target, hashed: false, sealed: false }));
    if (entry.type === 'artifact.recorded' && d.kind === 'azure-disk-export') {
      // A hash of a copy: what seals it comes after it.
      state.hashed = true;
      state.sealed = false;
    }
    return;
  }
  const sealed = SEAL_OUTCOMES[entry.type];
  if (sealed === undefined || typeof d.blob !== 'string') return;
  const state = disks.get(evidenceIdOfBlob(d.blob));
  if (state?.hashed) state.sealed = sealed;
}

/** A disk an earlier run of the case asked to snapshot for a target, as its `snapshot.requested` entry names it. */
export interface EarlierSnapshotRequest {
  disk: DiskFacts;
  evidenceId: string;
  /** The snapshot the request named. */
  snapshotId: string;
}

/**
 * The disks `target`'s per-disk snapshot requests named, first request of each evidence id, in
 * ledger order: what a resumed run can still find by the snapshot names the case gave them when
 * the VM itself is gone. The facts are the request's (id, unique id, role, LUN); location and size
 * are not recorded there and are not needed to adopt a snapshot.
 */
export function earlierSnapshotRequests(recorder: CaseRecorder, target: string): EarlierSnapshotRequest[] {
  return historyOf(recorder)
    .firstPerEvidenceId(LEDGER_EVENTS.snapshotRequested, target, (e) => e.data.operation === 'snapshots.createOrUpdate' && typeof e.data.disk === 'string')
    .map(({ data: d }) => ({
      evidenceId: d.evidenceId as string,
      snapshotId: typeof d.snapshotId === 'string' ? d.snapshotId : '',
      disk: {
        id: d.disk as string,
        role: d.role === 'os' ? 'os' : 'data',
        ...(typeof d.lun === 'number' ? { lun: d.lun } : {}),
        ...(typeof d.diskUniqueId === 'string' ? { uniqueId: d.diskUniqueId } : {}),
        location: '',
        raw: {},
      },
    }));
}
