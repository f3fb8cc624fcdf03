/**
 * One target's collection run: its context, and `runStep`, which turns a failed step into a
 * `step.failed` ledger entry and a remembered failure instead of an exception. Only a ledger
 * failure escapes (as `E_LEDGER`): if the case cannot be written, collection must stop.
 */
import type { AwsConfig } from '../config.js';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import { historyOf } from '../../core/case-history.js';
import { isStopSignal, runStep as kernelRunStep, storeOnce, type FailureFields, type StepFailure as KernelStepFailure, type StepResult } from '../../core/kernel.js';
import { LEDGER_EVENTS } from '../../core/ledger-events.js';
import type { CaseRecorder, CollectOptions, EvidenceInput, ProgressSink, StoredEvidence } from '../../core/ports.js';
import type { AwsInstanceTarget, AwsVolumeTarget } from './targets.js';
import type { CollectorSessions } from './credentials.js';
import type { ResourceDirectory } from './describe.js';
import type { KeyDirectory } from './kms-keys.js';
import type { Semaphore } from './limits.js';
import type { ScopeCaller } from './scope.js';
import type { CaseSnapshotIndex } from './snapshot-index.js';
import type { SnapshotWaiter } from './snapshot-waiter.js';
import type { VolumePlan } from './volume-plan.js';
import { awsErrorText } from './call-aws.js';
import { jsonEvidence } from '../../core/redact-json.js';

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
  /** The snapshot's wait was cut while EC2 may still be making it (`step.failed` `leftInAws`): a resume adopts it. */
  leftInAws?: string;
}

/** The run's options as the AWS steps read them: `imageDir` (`--image DIR`) is a folder path. */
export type AwsRunOptions = CollectOptions & { readonly imageDir?: string };

/** Narrows the run's options for the AWS steps; `imageDir` that is not text is bad input. */
export function awsRunOptions(options: CollectOptions): AwsRunOptions {
  const { imageDir } = options;
  if (imageDir !== undefined && typeof imageDir !== 'string') {
    throw new CustodyError('E_INPUT', 'the imageDir option (--image DIR) must be a folder path');
  }
  return options as AwsRunOptions;
}

export interface TargetRun<T extends AwsInstanceTarget | AwsVolumeTarget = AwsInstanceTarget | AwsVolumeTarget> {
  target: T;
  caseId: string;
  /** The target's evidence id (instance or volume). */
  evidenceId: string;
  recorder: CaseRecorder;
  progress: ProgressSink;
  options: AwsRunOptions;
  signal: AbortSignal;
  aws: AwsConfig;
  sessions: CollectorSessions;
  scope: TargetScope;
  forensics: () => ForensicsScope;
  volumes: VolumePlan;
  failures: StepFailure[];
  evidenceIds: Set<string>;
  /** The request phase is over: frees the target's admission slot (see `ProviderContext.requested`). */
  requested: () => void;
  /** Runs work that does not decay when targets still requesting leave room (`ProviderContext.background`). */
  background: <T>(work: () => Promise<T>) => Promise<T>;
}

/** The case's ledger guard, applied by core to every provider's recorder (src/core/kernel.ts). */
export { guardRecorder } from '../../core/kernel.js';

/** The stop-the-run signal (`E_LEDGER`): nothing in a provider catches it. */
export { isStopSignal } from '../../core/kernel.js';

export type { StepResult } from '../../core/kernel.js';

/**
 * Runs one step of this target (the kernel's `runStep`): a failure becomes a `step.failed` entry
 * (with `extra`, and the fields `onFailure` makes of the error) and a remembered failure; only the
 * stop signal escapes.
 */
export function runStep<T>(run: TargetRun, step: string, fn: () => Promise<T>, extra: Readonly<Record<string, unknown>> = {}, onFailure?: FailureFields): Promise<StepResult<T>> {
  return kernelRunStep({ recorder: run.recorder, progress: run.progress, key: run.target.arn, failures: run.failures as KernelStepFailure[] }, step, fn, extra, onFailure);
}

export function volumeArnOf(target: AwsInstanceTarget | AwsVolumeTarget, volumeId: string): string {
  return `arn:${target.partition}:ec2:${target.region}:${target.account}:volume/${volumeId}`;
}

/**
 * Whether an earlier (interrupted) run of this case already stored `name` for `evidenceId` (or a
 * resumed copy of it): evidence is never overwritten, and a resumed run finishes what is missing
 * rather than re-taking what is there. Asked of the case history, never a ledger scan.
 */
export function storedBefore(run: TargetRun, evidenceId: string, name: string): boolean {
  return historyOf(run.recorder).storedName(evidenceId, name) !== undefined;
}

/** Stores an evidence file once per case, with the kernel's one resume naming policy. */
export async function storeEvidenceOnce(run: TargetRun, input: EvidenceInput): Promise<StoredEvidence | undefined> {
  const result = await storeOnce(run.recorder, input);
  return result.status === 'stored' ? result.stored : undefined;
}

/**
 * Stores a volume target's `volumes.json`: the DescribeVolumes results, as AWS returned them (an
 * instance's volumes are a section of its `instance.json`, collect-instance.ts).
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
    ...jsonEvidence({ api: 'ec2:DescribeVolumes', volumes }),
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
    if (isStopSignal(error)) throw error;
    const earlier = historyOf(run.recorder).about(LEDGER_EVENTS.snapshotRequested, run.target.arn).some((e) => requestedBefore(e.data));
    if (earlier) throw error;
    const failure = isCustodyError(error) ? error : new CustodyError('E_CLOUD', awsErrorText(error), { cause: error });
    await run.recorder.record(
      'step.failed',
      { step: 'snapshot-lookup', consequence: 'no earlier request in this case: creating without the lookup', error: failure.toRecord() },
      run.target.arn,
    );
  }
}
