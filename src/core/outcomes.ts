import { CustodyError, EXIT, isCustodyError } from './errors.js';
import type { ErrorCode } from './errors.js';
import type { OutcomeStatus, TargetOutcome } from './ports.js';

export interface OutcomeSummary {
  total: number;
  collected: number;
  partial: number;
  failed: number;
  skipped: number;
}

/** Counts outcomes by status. */
export function summarizeOutcomes(outcomes: readonly TargetOutcome[]): OutcomeSummary {
  const summary: OutcomeSummary = { total: outcomes.length, collected: 0, partial: 0, failed: 0, skipped: 0 };
  for (const outcome of outcomes) summary[outcome.status] += 1;
  return summary;
}

// Failures that say the request itself was wrong (not the cloud): refused before any cloud call.
const INPUT_CODES: ReadonlySet<string> = new Set<ErrorCode>(['E_INPUT', 'E_CONFIG', 'E_ACCOUNT_NOT_ALLOWED', 'E_UNSUPPORTED']);

/** The error code recorded on an outcome, if any. */
export function outcomeErrorCode(outcome: TargetOutcome): string | undefined {
  const code = outcome.error?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The exit code a run's outcomes deserve: 0 when every target was collected, 2 when every one
 * failed (3 when every one was refused as bad input), 1 otherwise — some collected, partial, or
 * skipped by an interruption. A run with no target at all is bad input.
 */
export function exitCodeForOutcomes(outcomes: readonly TargetOutcome[]): number {
  if (outcomes.length === 0) return EXIT.BAD_INPUT;
  const summary = summarizeOutcomes(outcomes);
  if (summary.collected === summary.total) return EXIT.OK;
  if (summary.failed === summary.total) {
    const allRefused = outcomes.every((o) => INPUT_CODES.has(outcomeErrorCode(o) ?? ''));
    return allRefused ? EXIT.BAD_INPUT : EXIT.FAILED;
  }
  return EXIT.PARTIAL;
}

/** Turns anything thrown by a provider into the failed outcome that records it. */
export function failedOutcome(target: string, error: unknown, status: OutcomeStatus = 'failed'): TargetOutcome {
  const custody = toCustodyError(error);
  return { target, status, reason: custody.message, error: custody.toRecord(), evidenceIds: [] };
}

/** Keeps a `CustodyError` as is; wraps anything else as `E_INTERNAL`, keeping its message. */
export function toCustodyError(error: unknown): CustodyError {
  if (isCustodyError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CustodyError('E_INTERNAL', message || 'unexpected error', { cause: error });
}
