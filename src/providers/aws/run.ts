/**
 * One target's collection run: its context, and `runStep`, which turns a failed step into a
 * `step.failed` ledger entry and a remembered failure instead of an exception. Only a ledger
 * failure escapes (as `E_LEDGER`): if the case cannot be written, collection must stop.
 */
import type { AwsConfig } from '../config.js';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import type {
  ArtifactInput,
  CaseRecorder,
  CollectOptions,
  EvidenceInput,
  LedgerEntry,
  ProgressSink,
  StoredEvidence,
} from '../../core/ports.js';
import type { AwsInstanceTarget, AwsVolumeTarget } from './targets.js';
import type { CollectorSessions } from './credentials.js';
import type { ResourceDirectory } from './describe.js';
import type { KeyDirectory } from './kms-keys.js';
import type { Semaphore } from './limits.js';
import type { ScopeCaller } from './scope.js';
import type { CaseSnapshotIndex } from './snapshot-index.js';
import type { SnapshotWaiter } from './snapshot-waiter.js';
import type { VolumePlan } from './volume-plan.js';

export interface TargetScope {
  caller: ScopeCaller;
  /** Pending snapshots in this account and region (EC2 allows 100). */
  pendingSnapshots: Semaphore;
  /** Copies in flight into this account and region (EC2 allows 20). */
  copies: Semaphore;
  directory: ResourceDirectory;
  snapshots: CaseSnapshotIndex;
  waiter: SnapshotWaiter;
  keys: KeyDirectory;
}

export interface ForensicsScope {
  caller: ScopeCaller;
  copies: Semaphore;
  snapshots: CaseSnapshotIndex;
  waiter: SnapshotWaiter;
}

export interface StepFailure {
  step: string;
  error: CustodyError;
  volumeId?: string;
}

export interface TargetRun<T extends AwsInstanceTarget | AwsVolumeTarget = AwsInstanceTarget | AwsVolumeTarget> {
  target: T;
  caseId: string;
  /** The target's evidence id (instance or volume). */
  evidenceId: string;
  recorder: CaseRecorder;
  progress: ProgressSink;
  options: CollectOptions;
  signal: AbortSignal;
  aws: AwsConfig;
  sessions: CollectorSessions;
  scope: TargetScope;
  forensics: () => ForensicsScope;
  volumes: VolumePlan;
  failures: StepFailure[];
  evidenceIds: Set<string>;
}

/**
 * Wraps a recorder so any failure to write becomes `E_LEDGER`, which nothing below catches.
 * One exception: `storeEvidence` refusing its input (`E_INPUT`, e.g. a name that already holds
 * other bytes) is passed through for the caller to handle.
 */
export function guardRecorder(recorder: CaseRecorder): CaseRecorder {
  const guard = async <T>(what: string, fn: () => Promise<T>, passInputErrors = false): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (isCustodyError(error) && (error.code === 'E_LEDGER' || (passInputErrors && error.code === 'E_INPUT'))) throw error;
      throw new CustodyError('E_LEDGER', `the case could not record ${what}: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
        resource: recorder.caseDir,
      });
    }
  };
  return {
    get caseId() {
      return recorder.caseId;
    },
    get analyst() {
      return recorder.analyst;
    },
    get caseDir() {
      return recorder.caseDir;
    },
    record: (type: string, data?: Record<string, unknown>, target?: string): Promise<LedgerEntry> =>
      guard(type, () => recorder.record(type, data, target)),
    entries: () => recorder.entries(),
    storeEvidence: (input: EvidenceInput): Promise<StoredEvidence> =>
      guard(`evidence ${input.name}`, () => recorder.storeEvidence(input), true),
    recordArtifact: (input: ArtifactInput): Promise<LedgerEntry> => guard(`artifact ${input.kind}`, () => recorder.recordArtifact(input)),
  };
}

export function isLedgerError(error: unknown): boolean {
  return isCustodyError(error) && error.code === 'E_LEDGER';
}

function asCustodyError(error: unknown): CustodyError {
  if (isCustodyError(error)) return error;
  return new CustodyError('E_INTERNAL', `unexpected failure: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

export type StepResult<T> = { ok: true; value: T } | { ok: false; error: CustodyError };

/**
 * Runs one step. On failure: records `step.failed` (with the error record and `extra`), remembers
 * it for the outcome, reports progress, and returns `{ ok: false }`. Ledger failures propagate.
 */
export async function runStep<T>(
  run: TargetRun,
  step: string,
  fn: () => Promise<T>,
  extra: Record<string, unknown> = {},
): Promise<StepResult<T>> {
  const target = run.target.arn;
  run.progress({ target, step, state: 'started', ...(extra.volumeId ? { detail: String(extra.volumeId) } : {}) });
  try {
    const value = await fn();
    run.progress({ target, step, state: 'done', ...(extra.volumeId ? { detail: String(extra.volumeId) } : {}) });
    return { ok: true, value };
  } catch (raw) {
    if (isLedgerError(raw)) throw raw;
    const error = asCustodyError(raw);
    const failure: StepFailure = { step, error };
    if (typeof extra.volumeId === 'string') failure.volumeId = extra.volumeId;
    run.failures.push(failure);
    await run.recorder.record('step.failed', { step, ...extra, error: error.toRecord() }, target);
    run.progress({ target, step, state: 'failed', detail: error.message });
    return { ok: false, error };
  }
}

export function volumeArnOf(target: AwsInstanceTarget | AwsVolumeTarget, volumeId: string): string {
  return `arn:${target.partition}:ec2:${target.region}:${target.account}:volume/${volumeId}`;
}

/**
 * Whether an earlier (interrupted) run of this case already stored `name` for `evidenceId`.
 * Evidence is never overwritten, and a resumed run finishes what is missing rather than
 * re-taking what is there.
 */
export function storedBefore(run: TargetRun, evidenceId: string, name: string): boolean {
  return run.recorder.entries().some((e) => e.type === 'evidence.stored' && e.data.evidenceId === evidenceId && e.data.name === name);
}

/**
 * Stores an evidence file once per case. A file an interrupted run wrote but never recorded
 * (killed in between) holds other bytes (other request ids and times): evidence is never
 * overwritten, so this run's copy goes under a name of its own, `instance.resumed-<seq>.json`.
 */
export async function storeEvidenceOnce(run: TargetRun, input: EvidenceInput): Promise<StoredEvidence | undefined> {
  if (storedBefore(run, input.evidenceId, input.name)) return undefined;
  try {
    return await run.recorder.storeEvidence(input);
  } catch (error) {
    if (!isCustodyError(error) || error.code !== 'E_INPUT') throw error;
    const dot = input.name.lastIndexOf('.');
    const stem = dot > 0 ? input.name.slice(0, dot) : input.name;
    const ext = dot > 0 ? input.name.slice(dot) : '';
    return run.recorder.storeEvidence({ ...input, name: `${stem}.resumed-${run.recorder.entries().length}${ext}` });
  }
}

/**
 * Stores `volumes.json`: the DescribeVolumes results for a target, as AWS returned them. Used by
 * instance and volume targets alike, so both give the same file for the same volumes.
 */
export async function storeVolumeDescriptions(
  run: TargetRun,
  volumes: readonly unknown[],
  cloudIds: Record<string, string>,
  requestIds: readonly (string | undefined)[],
): Promise<StoredEvidence | undefined> {
  return storeEvidenceOnce(run, {
    evidenceId: run.evidenceId,
    name: 'volumes.json',
    kind: 'volumes-description',
    source: run.target.arn,
    content: jsonEvidence({ api: 'ec2:DescribeVolumes', volumes }),
    mediaType: 'application/json',
    target: run.target.arn,
    cloudIds,
    requestIds: [...new Set(requestIds.filter((r): r is string => typeof r === 'string'))],
  });
}

/**
 * Loads a case-snapshot index before creating anything. If the lookup fails, creating is still
 * safe when this case never asked for such a snapshot before (`requestedBefore` is false): the
 * lookup only exists to find what an interrupted run left. Otherwise the failure stands, since
 * creating blind could duplicate evidence.
 */
export async function loadIndexOrProceed(
  run: TargetRun,
  index: CaseSnapshotIndex,
  requestedBefore: (data: Record<string, unknown>) => boolean,
): Promise<void> {
  try {
    await index.load(run.signal);
  } catch (error) {
    if (isLedgerError(error)) throw error;
    const earlier = run.recorder.entries().some((e) => e.type === 'snapshot.requested' && e.target === run.target.arn && requestedBefore(e.data));
    if (earlier) throw error;
    const failure = isCustodyError(error) ? error : new CustodyError('E_CLOUD', String((error as Error)?.message ?? error), { cause: error });
    await run.recorder.record(
      'step.failed',
      { step: 'snapshot-lookup', consequence: 'no earlier request in this case: creating without the lookup', error: failure.toRecord() },
      run.target.arn,
    );
  }
}

/**
 * Renders a JSON evidence file: stable, indented, with a trailing newline. Callers put only what
 * AWS returned in it (request ids and times go in the `evidence.stored` entry, and CloudTrail
 * dates a call by its request id): the same resource described twice gives the same bytes, so
 * a file an interrupted run wrote but never recorded is recognised and recorded on resume.
 */
export function jsonEvidence(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v), 2)}\n`;
}
