/**
 * Ledger event types that code reads back (resume, the case history, custody's manifest): one
 * constant each, so a reader and the writer cannot drift apart. docs/ledger-format.md describes
 * every entry.
 */
export const LEDGER_EVENTS = {
  caseOpened: 'case.opened',
  caseResumed: 'case.resumed',
  caseClosed: 'case.closed',
  collectionStarted: 'collection.started',
  /** One scope of a selector searched (src/core/selector-search.ts). */
  selectorSearched: 'selector.searched',
  /** The orchestrator's: the targets a whole selector came to. */
  selectorResolved: 'selector.resolved',
  /** The orchestrator's: a whole selector's search failed (its provider threw). */
  selectorFailed: 'selector.failed',
  selectorRefused: 'selector.refused',
  targetDiscovered: 'target.discovered',
  targetCompleted: 'target.completed',
  targetSkipped: 'target.skipped',
  evidenceStored: 'evidence.stored',
  artifactRecorded: 'artifact.recorded',
  stepFailed: 'step.failed',
  changeRequested: 'change.requested',
  changeApplied: 'change.applied',
  snapshotRequested: 'snapshot.requested',
  snapshotAdopted: 'snapshot.adopted',
  snapshotFailed: 'snapshot.failed',
  snapshotLocked: 'snapshot.locked',
  checkpointCreated: 'checkpoint.created',
  diskHashStarted: 'disk.hash.started',
  diskHashed: 'disk.hashed',
  diskHashesCompared: 'disk.hashes.compared',
} as const;

export type LedgerEventType = (typeof LEDGER_EVENTS)[keyof typeof LEDGER_EVENTS];
