/**
 * The collection kernel every provider shares: the ledger guard, one way to run a step, record
 * before and after a mutation, and store a file once per case with one resume naming policy.
 * Questions about the case's past go to `historyOf(recorder)` (src/core/case-history.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyOf, resumedName } from './case-history.js';
import { CustodyError, isCustodyError, isStopSignal } from './errors.js';
import { LEDGER_EVENTS } from './ledger-events.js';
import type { ArtifactInput, CaseRecorder, EvidenceInput, LedgerEntry, ProgressSink, StoredEvidence } from './ports.js';

export { isStopSignal } from './errors.js';

/**
 * Wraps a recorder so any failure to write becomes `E_LEDGER` (the stop signal). Applied by core
 * to the recorder every provider gets; wrapping twice changes nothing.
 */
export function guardRecorder(recorder: CaseRecorder): CaseRecorder {
  if ((recorder as Guarded)[GUARDED]) return recorder;
  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (isStopSignal(error)) throw error;
      throw new CustodyError('E_LEDGER', `the case could not record ${what}: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
        resource: recorder.caseDir,
      });
    }
  };
  const guarded: CaseRecorder & Guarded = {
    [GUARDED]: true,
    get caseId() {
      return recorder.caseId;
    },
    get analyst() {
      return recorder.analyst;
    },
    get caseDir() {
      return recorder.caseDir;
    },
    record: (type: string, data?: Record<string, unknown>, target?: string): Promise<LedgerEntry> => guard(type, () => recorder.record(type, data, target)),
    entries: () => recorder.entries(),
    storeEvidence: (input: EvidenceInput): Promise<StoredEvidence> => guard(`evidence ${input.name}`, () => recorder.storeEvidence(input)),
    recordArtifact: (input: ArtifactInput): Promise<LedgerEntry> => guard(`artifact ${input.kind}`, () => recorder.recordArtifact(input)),
    ...(recorder.evidenceFile ? { evidenceFile: (evidenceId: string, name: string) => recorder.evidenceFile!(evidenceId, name) } : {}),
  };
  return guarded;
}

const GUARDED = Symbol('guarded recorder');
interface Guarded {
  readonly [GUARDED]?: true;
}

/** A failed step: kept for the target's outcome. */
export interface StepFailure {
  step: string;
  error: CustodyError;
  /** Provider detail (a volume id) for the outcome's sentence. */
  [detail: string]: unknown;
}

export interface StepRun {
  recorder: CaseRecorder;
  progress: ProgressSink;
  /** The ledger's `target` of the step's entries. */
  key: string;
  failures: StepFailure[];
}

export type StepResult<T> = { ok: true; value: T } | { ok: false; error: CustodyError };

/**
 * `Promise.all` that answers only once every promise has settled, then throws the first failure
 * (in the order given) if any failed. A provider running several chains of one target at once
 * uses it so that when one throws the stop signal, its collect does not return while a sibling
 * still has a cloud call in flight: after a stop nothing of the run may go on calling the cloud
 * unseen (the orchestrator aborts the run's signal, so siblings end at their next wait or call).
 */
export async function allSettledOrThrow<T extends readonly unknown[] | []>(values: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = (await Promise.allSettled(values as readonly unknown[])) as Array<PromiseSettledResult<unknown>>;
  const answers: unknown[] = [];
  for (const result of settled) {
    if (result.status === 'rejected') throw result.reason;
    answers.push(result.value);
  }
  return answers as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/**
 * What a failed step's entry adds from its failure (`runStep`'s `onFailure`): fields only the
 * error tells, e.g. that a snapshot whose wait it cut is still being made. Undefined: nothing.
 */
export type FailureFields = (error: CustodyError) => Record<string, unknown> | undefined;

/**
 * Runs one step of a target. A failure is recorded (`step.failed` with the error record,
 * `extra`, and what `onFailure` makes of the error), kept in `run.failures`, reported as progress
 * and returned; only the stop signal (`E_LEDGER`) propagates. One locked disk never aborts the
 * case. `extra` is what the step is about, fixed when it starts; what only its failure tells comes
 * from `onFailure`, asked once the step failed.
 */
export async function runStep<T>(
  run: StepRun,
  step: string,
  work: () => Promise<T>,
  extra: Readonly<Record<string, unknown>> = {},
  onFailure?: FailureFields,
): Promise<StepResult<T>> {
  const detail = typeof extra.volumeId === 'string' ? { detail: extra.volumeId } : {};
  run.progress({ target: run.key, step, state: 'started', ...detail });
  try {
    const value = await work();
    run.progress({ target: run.key, step, state: 'done', ...detail });
    return { ok: true, value };
  } catch (raw) {
    if (isStopSignal(raw)) throw raw;
    const error = isCustodyError(raw) ? raw : new CustodyError('E_INTERNAL', `unexpected failure: ${(raw as Error)?.message ?? String(raw)}`, { cause: raw });
    const fields = { ...extra, ...addedFields(onFailure, error, extra) };
    run.failures.push({ step, error, ...fields });
    await run.recorder.record(LEDGER_EVENTS.stepFailed, { step, ...fields, error: error.toRecord() }, run.key);
    run.progress({ target: run.key, step, state: 'failed', detail: error.message });
    return { ok: false, error };
  }
}

/**
 * What `onFailure` adds to a failed step's entry: only fields the step does not have (its own ids,
 * `step` and `error` stay what they are). A hook that throws adds nothing: the step's failure is
 * what the ledger must hold, and it is recorded all the same.
 */
function addedFields(onFailure: FailureFields | undefined, error: CustodyError, extra: Readonly<Record<string, unknown>>): Record<string, unknown> {
  let added: Record<string, unknown> | undefined;
  try {
    added = onFailure?.(error);
  } catch {
    return {};
  }
  return Object.fromEntries(Object.entries(added ?? {}).filter(([key]) => key !== 'step' && key !== 'error' && !(key in extra)));
}

/**
 * Records before and after one mutation: `before` is durable before `call` runs, and `after`
 * records what the provider confirmed (its ids, its request id). If the call fails, the failure
 * propagates for the step to record; the `before` entry stays, an honest "asked, not done".
 */
export async function recordMutation<T>(
  recorder: CaseRecorder,
  target: string,
  before: { type: string; data: Record<string, unknown> },
  call: () => Promise<T>,
  after: (result: T) => { type: string; data: Record<string, unknown> },
): Promise<T> {
  await recorder.record(before.type, before.data, target);
  const result = await call();
  const recorded = after(result);
  await recorder.record(recorded.type, recorded.data, target);
  return result;
}

/** What `storeOnce` did: stored now, or found stored by an earlier run of the case. */
export type StoreOnceResult = { status: 'stored'; stored: StoredEvidence } | { status: 'earlier'; name: string };

/**
 * Stores an evidence file once per case, with the one resume naming policy: a file the case
 * already recorded (under its name or a resumed copy's) is not stored again. A file an
 * interrupted run wrote but never recorded (killed in between) is never overwritten: if it holds
 * exactly these bytes it is recorded as it is, otherwise (other bytes, or a stream that cannot be
 * compared before it is read) this run's copy goes under `name.resumed-<seq>.ext`. Decided before
 * the store is called, so "same name, other bytes" is a result here, never an error to catch.
 */
export async function storeOnce(recorder: CaseRecorder, input: EvidenceInput): Promise<StoreOnceResult> {
  const earlier = historyOf(recorder).storedName(input.evidenceId, input.name);
  if (earlier !== undefined) return { status: 'earlier', name: earlier };
  const leftover = evidenceFile(recorder, input.evidenceId, input.name);
  const name = leftover && leftover.sha256 !== digestOf(input.content) ? resumedName(input.name, recorder.entries().length) : input.name;
  return { status: 'stored', stored: await recorder.storeEvidence({ ...input, name }) };
}

/**
 * The name a stream is stored under, decided before it is read (the same policy as `storeOnce`):
 * `name`, or `name.resumed-<seq>.ext` when an interrupted run left an unrecorded file of that name.
 */
export function freshName(recorder: CaseRecorder, evidenceId: string, name: string): string {
  return evidenceFile(recorder, evidenceId, name) ? resumedName(name, recorder.entries().length) : name;
}

function evidenceFile(recorder: CaseRecorder, evidenceId: string, name: string): { sha256: string } | undefined {
  return recorder.evidenceFile ? recorder.evidenceFile(evidenceId, name) : evidenceFileOnDisk(recorder.caseDir, evidenceId, name);
}

/** `CaseRecorder.evidenceFile` by looking in the case folder: the file's SHA-256, or undefined when there is none. */
export function evidenceFileOnDisk(caseDir: string, evidenceId: string, name: string): { sha256: string } | undefined {
  const path = join(caseDir, 'evidence', evidenceId, name);
  if (!existsSync(path)) return undefined;
  try {
    return { sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
  } catch {
    return { sha256: '' };
  }
}

/** SHA-256 of content that can be hashed before it is stored; undefined for a stream (read only once). */
function digestOf(content: EvidenceInput['content']): string | undefined {
  if (typeof content !== 'string' && !(content instanceof Uint8Array)) return undefined;
  return createHash('sha256').update(content).digest('hex');
}
