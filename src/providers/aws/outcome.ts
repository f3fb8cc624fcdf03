/** Turns what happened to a target into its outcome: data, with a sentence for humans. */
import type { TargetOutcome } from '../../core/ports.js';
import type { ChainResult } from './volume-chain.js';
import type { StepFailure, TargetRun } from './run.js';

/** Steps whose failure decides that nothing useful was preserved. */
const DECISIVE = ['assume-role', 'describe-instance', 'describe-volume', 'snapshot', 'wait-snapshot', 'reencrypt', 'share', 'forensics-copy', 'lock'];

function decisive(failures: StepFailure[]): StepFailure | undefined {
  for (const step of DECISIVE) {
    const f = failures.find((x) => x.step === step);
    if (f) return f;
  }
  return failures[0];
}

function describeFailure(f: StepFailure): string {
  return `${f.step}${f.volumeId ? ` (${f.volumeId})` : ''}: ${f.error.message}`;
}

export function failedOutcome(run: TargetRun, reason: string, failure?: StepFailure): TargetOutcome {
  const f = failure ?? decisive(run.failures);
  return {
    target: run.target.arn,
    status: 'failed',
    reason,
    ...(f ? { error: f.error.toRecord() } : {}),
    evidenceIds: [...run.evidenceIds],
  };
}

/** What exists in the cloud for a chain that stopped early, in words: its snapshots, by role. */
function existing(chain: ChainResult): string | undefined {
  const ids = chain.cloudIds;
  const parts = [
    ids.snapshotId ? `source snapshot ${ids.snapshotId}` : undefined,
    ids.reencryptedSnapshotId ? `re-encrypted ${ids.reencryptedSnapshotId}` : undefined,
    ids.forensicsSnapshotId ? `forensics copy ${ids.forensicsSnapshotId}` : undefined,
  ].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? `${chain.volumeId}: ${parts.join(', ')} ${parts.length === 1 ? 'exists' : 'exist'}` : undefined;
}

/**
 * collected: every chain done and no step failed; partial: something preserved, something not
 * (a chain that stopped after its snapshot exists counts: the snapshot is evidence, recorded in
 * the manifest); failed: no snapshot exists at all. Notes on volumes (one detached between runs) are part of the reason,
 * even when everything was collected.
 */
export function outcomeOf(run: TargetRun, chains: ChainResult[], noVolumesReason?: string): TargetOutcome {
  const done = chains.filter((c) => c.done);
  const base = { target: run.target.arn, evidenceIds: [...run.evidenceIds] };
  const notes = chains.map((c) => c.note).filter((n): n is string => typeof n === 'string');
  if (chains.length === 0) {
    const f = decisive(run.failures);
    return { ...base, status: 'partial', reason: noVolumesReason ?? 'no volume was snapshotted', ...(f ? { error: f.error.toRecord() } : {}) };
  }
  const exists = chains.filter((c) => !c.done).map(existing).filter((e): e is string => e !== undefined);
  if (done.length === 0 && exists.length === 0) {
    const f = decisive(run.failures);
    const reason = [f ? `no snapshot was preserved: ${describeFailure(f)}` : 'no snapshot was preserved', ...notes].join('; ');
    return { ...base, status: 'failed', reason, ...(f ? { error: f.error.toRecord() } : {}) };
  }
  if (run.failures.length > 0 || done.length < chains.length) {
    const f = decisive(run.failures);
    const missing = chains.filter((c) => !c.done).map((c) => c.volumeId);
    const parts = [`${done.length} of ${chains.length} volumes preserved`];
    if (missing.length > 0) parts.push(`not preserved: ${missing.join(', ')}`);
    if (f) parts.push(describeFailure(f));
    if (exists.length > 0) parts.push(`what exists (in the manifest): ${exists.join('; ')}`);
    // A snapshot whose wait was cut: still being made in AWS, and what a resume does with it.
    parts.push(...run.failures.flatMap((x) => (x.leftInAws !== undefined ? [x.leftInAws] : [])));
    parts.push(...notes);
    return { ...base, status: 'partial', reason: parts.join('; '), ...(f ? { error: f.error.toRecord() } : {}) };
  }
  return { ...base, status: 'collected', ...(notes.length > 0 ? { reason: notes.join('; ') } : {}) };
}
