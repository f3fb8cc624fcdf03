/**
 * Deterministic names for what the provider creates, so a resumed run finds what an interrupted
 * one started and never makes a second: the snapshot's name, its insert `requestId` (a retry
 * with the same id is ignored by Compute once the first succeeded) and its labels.
 */
import { createHash } from 'node:crypto';

/**
 * `custody-ev-0123456789ab`: RFC 1035, unique per case and disk (the evidence id hashes both).
 * A later attempt, after the snapshot under the earlier name ended FAILED (which is kept, never
 * deleted, so its name stays taken), is `custody-ev-0123456789ab-2`, `-3`, …: 26 characters at
 * most for any attempt below 1000, well within Compute's 63, still ending in a digit.
 */
export function snapshotNameFor(evidenceId: string, attempt = 1): string {
  const base = `custody-${evidenceId.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`;
  return attempt === 1 ? base : `${base}-${attempt}`;
}

/** The insert's request id of one attempt: the first keeps the id it always had. */
export function snapshotRequestIdFor(caseId: string, evidenceId: string, attempt = 1): string {
  // A new attempt needs its own id: Compute answers a repeated request id with the first
  // request's operation (the FAILED snapshot) and creates nothing.
  return requestIdFor(caseId, evidenceId, attempt === 1 ? 'snapshots.insert' : `snapshots.insert#${attempt}`);
}

/** A name-based (version 5 layout) UUID from the case and evidence id; never the zero UUID. */
export function requestIdFor(caseId: string, evidenceId: string, purpose = 'snapshots.insert'): string {
  const bytes = createHash('sha1').update(`cloud-custody\n${purpose}\n${caseId}\n${evidenceId}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Label values allow lowercase letters, digits, `_` and `-` (63 at most): the case id is
 * lowered and other characters become `_`. The exact case id goes in the description.
 */
export function labelValueOf(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63);
}

export function snapshotLabelsFor(caseId: string, evidenceId: string): Record<string, string> {
  return { 'custody-case': labelValueOf(caseId), 'custody-evidence': labelValueOf(evidenceId) };
}
