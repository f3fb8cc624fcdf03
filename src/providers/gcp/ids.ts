/**
 * Deterministic names for what the provider creates, so a resumed run finds what an interrupted
 * one started and never makes a second: the snapshot's name, its insert `requestId` (a retry
 * with the same id is ignored by Compute once the first succeeded) and its labels.
 */
import { createHash } from 'node:crypto';

/** `custody-ev-0123456789ab`: RFC 1035, unique per case and disk (the evidence id hashes both). */
export function snapshotNameFor(evidenceId: string): string {
  return `custody-${evidenceId.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`;
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
