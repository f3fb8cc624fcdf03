/**
 * Collecting one target: skip it when an earlier run of the case finished it, call its provider,
 * turn a thrown failure into an outcome, retry a retryable failure, and record how it ended.
 */
import { CustodyError, isStopSignal } from './errors.js';
import { guardRecorder } from './kernel.js';
import { failedOutcome } from './outcomes.js';
import type { EarlierCollection } from './earlier-runs.js';
import type { CaseRecorder, CollectOptions, ProgressEvent, ProgressSink, Provider, ProviderContext, TargetOutcome } from './ports.js';
import { targetKey } from './targets.js';
import type { Target } from './targets.js';

export interface TargetRunContext {
  recorder: CaseRecorder;
  progress: ProgressSink;
  options: CollectOptions;
  signal: AbortSignal;
  /** More attempts allowed after a retryable failure, and the first pause (doubling). */
  retry: { attempts: number; delayMs: number };
  /** Targets an earlier run of this case collected, with their evidence ids and follow-ups. */
  previouslyCollected: ReadonlyMap<string, EarlierCollection>;
  /** Frees the target's admission slot once its request phase is over (see `ProviderContext`). */
  requested?: () => void;
  /** The run's background lane (see `ProviderContext.background`). */
  background?: <T>(work: () => Promise<T>) => Promise<T>;
}

/**
 * Collects one target and records `target.completed` (or `target.skipped` when an earlier run
 * finished it). Throws only when the ledger fails: the whole run must stop then.
 */
export async function collectTarget(target: Target, provider: Provider, run: TargetRunContext): Promise<TargetOutcome> {
  const { recorder, progress, signal, retry } = run;
  const key = targetKey(target);
  const earlier = run.previouslyCollected.get(key);
  if (earlier) {
    const followUps = earlier.followUps.map(targetKey);
    await recorder.record(
      'target.skipped',
      { reason: 'collected by an earlier run of this case', evidenceIds: earlier.evidenceIds, ...(followUps.length > 0 ? { followUps } : {}) },
      key,
    );
    progress({ target: key, step: 'collect', state: 'done', detail: 'already collected by an earlier run' });
    // Its follow-ups are taken up again: an earlier run may have been cut off before finishing them.
    return {
      target: key,
      status: 'collected',
      reason: 'collected by an earlier run of this case',
      evidenceIds: earlier.evidenceIds,
      ...(earlier.followUps.length > 0 ? { followUps: earlier.followUps } : {}),
    };
  }
  for (let attempt = 1; ; attempt += 1) {
    if (signal.aborted) return interruptedOutcome(key);
    progress({ target: key, step: 'collect', state: 'started', ...(attempt > 1 ? { detail: `attempt ${attempt}` } : {}) });
    const outcome = await attemptOnce(target, provider, key, run);
    const delayMs = retry.delayMs * 2 ** (attempt - 1);
    if (attempt <= retry.attempts && shouldRetry(outcome) && !signal.aborted) {
      // The provider resumes from what this case already holds (deterministic evidence ids,
      // snapshots found by their tags), so another attempt never takes anything twice.
      await recorder.record('target.requeued', { attempt, ...endingOf(outcome), delayMs }, key);
      progress({ target: key, step: 'collect', state: 'waiting', detail: `retrying in ${Math.round(delayMs / 1000)} s: ${outcome.reason ?? outcome.status}` });
      if (await sleep(delayMs, signal)) continue;
    }
    // Follow-ups are recorded with the ending, so a resumed run finds them even if this run is
    // interrupted before it admits them.
    const followUps = (outcome.followUps ?? []).map(targetKey);
    await recorder.record(
      'target.completed',
      {
        ...endingOf(outcome),
        evidenceIds: outcome.evidenceIds,
        ...(followUps.length > 0 ? { followUps } : {}),
        ...(attempt > 1 ? { attempts: attempt } : {}),
      },
      key,
    );
    progress({ target: key, step: 'collect', state: outcome.status === 'collected' ? 'done' : 'failed', detail: outcome.reason ?? outcome.status });
    return { ...outcome, target: key };
  }
}

async function attemptOnce(target: Target, provider: Provider, key: string, run: TargetRunContext): Promise<TargetOutcome> {
  let outcome: TargetOutcome;
  try {
    const ctx = contextFor(run.recorder, run.progress, run.options, run.signal, key);
    outcome = await provider.collect(target, {
      ...ctx,
      ...(run.requested ? { requested: run.requested } : {}),
      ...(run.background ? { background: run.background } : {}),
    });
  } catch (error) {
    if (isStopSignal(error)) throw error;
    outcome = run.signal.aborted && !(error instanceof CustodyError) ? interruptedOutcome(key) : failedOutcome(key, error);
  }
  // An outcome that carries the stop signal stops the run as if it had been thrown.
  if (outcome.error?.code === 'E_LEDGER') {
    throw new CustodyError('E_LEDGER', String(outcome.reason ?? outcome.error.message ?? 'the ledger could not be written'));
  }
  return outcome;
}

function endingOf(outcome: TargetOutcome): Record<string, unknown> {
  return {
    status: outcome.status,
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
  };
}

function shouldRetry(outcome: TargetOutcome): boolean {
  return (outcome.status === 'failed' || outcome.status === 'partial') && outcome.error?.retryable === true;
}

/** Waits `ms`; resolves false at once if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The outcome of a target the run never got to (it was interrupted first). */
export function interruptedOutcome(key: string): TargetOutcome {
  return { target: key, status: 'skipped', reason: 'the collection was interrupted before this target ran', evidenceIds: [] };
}

/** The context a provider gets; its progress events are attributed to `target`. */
export function contextFor(
  recorder: CaseRecorder,
  progress: ProgressSink,
  options: CollectOptions,
  signal: AbortSignal,
  target: string | undefined,
): ProviderContext {
  const sink: ProgressSink =
    target === undefined ? progress : (event: ProgressEvent) => progress(event.target ? event : { ...event, target });
  // The ledger guard, applied by core to every provider: any failure to record is the stop signal.
  return { recorder: guardRecorder(recorder), progress: sink, options, signal };
}
