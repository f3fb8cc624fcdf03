/** What verify (and resume) report when a case folder does not match its ledger. */
export type ProblemKind =
  | 'ledger-missing'
  | 'partial-line'
  | 'malformed-entry'
  | 'non-canonical-line'
  | 'seq-mismatch'
  | 'broken-link'
  | 'hash-mismatch'
  | 'bad-signature'
  | 'no-pinned-key'
  | 'key-mismatch'
  | 'truncated'
  | 'head-mismatch'
  | 'manifest-missing'
  | 'manifest-invalid'
  | 'manifest-signature'
  | 'manifest-mismatch'
  | 'manifest-stale'
  | 'missing-file'
  | 'changed-file'
  | 'unrecorded-file'
  // a recorded file, or a folder of evidence/, that is there but cannot be read (permissions):
  // not known to be changed, but not checked either
  | 'unreadable'
  | 'recovered-file'
  // a recorded file that matches but has more than one name (a hard link): a warning
  | 'linked-file'
  | 'not-closed'
  | 'leftover-partial'
  | 'lock-present'
  | 'unknown-file'
  // verify --against: the off-machine copy (src/custody/immutable-copy.ts)
  | 'copy-not-recorded'
  | 'copy-location'
  | 'copy-missing'
  | 'copy-changed'
  | 'copy-version'
  | 'copy-unlocked'
  | 'copy-retention-ended';

export interface Problem {
  kind: ProblemKind;
  /** `error` fails verification; `warning` is reported but the case still verifies. */
  severity: 'error' | 'warning';
  /** The `seq` of the entry concerned (as written in the line, which may itself be wrong). */
  entrySeq?: number;
  /** 1-based line of ledger.jsonl. */
  line?: number;
  /** Path relative to the case folder, `/`-separated. */
  path?: string;
  message: string;
}
