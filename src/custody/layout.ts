/** Names in a case folder, in one place: the writer, verify and the report must agree on them. */
export const LEDGER_FILE = 'ledger.jsonl';
export const MANIFEST_FILE = 'manifest.json';
export const EVIDENCE_DIR = 'evidence';
/** Where files are written before they are complete: at the case root, outside `evidence/`. */
export const PARTIAL_DIR = '.partial';
/**
 * Where closing writes the manifest before renaming it into place (`.partial/manifest.json.tmp`):
 * made before `case.closed` is appended, so a close that did not finish leaves it behind.
 */
export const MANIFEST_TEMP_FILE = `${PARTIAL_DIR}/${MANIFEST_FILE}.tmp`;
export const LOCK_FILE = '.lock';
/** Derived from the ledger, not evidence: verify ignores them. */
export const REPORT_FILES = ['report.md', 'report.html'] as const;
/** Entry types that record a file under `evidence/`: the store's, and resume's recovery. */
export const FILE_ENTRY_TYPES: ReadonlySet<string> = new Set(['evidence.stored', 'evidence.recovered']);
/** A disk hash's progress while it runs (`collect --hash`; removed once recorded): not evidence. */
export const HASH_PROGRESS_DIR = '.hash-progress';
