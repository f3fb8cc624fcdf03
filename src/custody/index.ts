// The chain of custody: case folders, the signed ledger, evidence storage, verify and report.
export { openCase, LEDGER_FILE } from './open-case.js';
export type { OpenCaseOptions, CaseHandle, CloseSummary, CloseResult } from './open-case.js';
export { verifyCase, REPORT_FILES } from './verify.js';
export type { VerifyOptions, VerifyResult } from './verify.js';
export type { Problem, ProblemKind } from './problems.js';
export { renderReport } from './report.js';
export type { ReportResult } from './report.js';
export { canonicalize } from './canonical-json.js';
export type { JsonValue } from './canonical-json.js';
export { hashEntry, GENESIS_PREV } from './entry.js';
export { caseKeyPath, fingerprintOf, publicKeyPem } from './signing-key.js';
export { MANIFEST_FILE } from './manifest.js';
export type { Manifest, ManifestFile, ManifestArtifact } from './manifest.js';
