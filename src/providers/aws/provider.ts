/**
 * The AWS provider: EC2 instances and EBS volumes (targets), `tag:KEY=VALUE` (selector).
 * See DESIGN.md "The flow" for the order of steps and research/aws.md for why.
 *
 * Ledger entries it writes (target = the instance or volume ARN unless noted):
 * - `credentials.assumed` (case-level): account, roleArn, sessionName, assumedRoleId, arn,
 *   sourceIdentity (as STS echoed it, else "requested, not echoed"), sourceIdentityRequested,
 *   sessionTags ("requested, not echoed": the answer never lists them), sessionTagsRequested,
 *   packedPolicySize, durationSeconds, expiration, externalIdUsed, sessionPolicy,
 *   reason (`first` | `expiring` | `expired-token` | `wider-scope`), awsClockOffsetMs (AWS's clock
 *   minus this machine's at STS's answer, from its Date header: ledger times are this machine's),
 *   requestId. Never a secret.
 * - `selector.searched` / `step.failed` step `resolve-selector` (target = the selector): one account
 *   and region searched or not, as every provider records a scope (src/core/selector-search.ts),
 *   with `filters`.
 * - `evidence.stored` (through the recorder): an instance's instance.json (its DescribeInstances,
 *   DescribeVolumes and DescribeKey answers, one section each), console-output.txt,
 *   console-screenshot.jpg; a volume target's volumes.json and kms-keys.json (a resumed run that
 *   finds an unrecorded file of the same name stores `<name>.resumed-<seq>.<ext>`).
 * - `change.requested` / `change.applied` | `change.unconfirmed` (`--preserve`): attribute,
 *   before (as read), after (requested; then as read back), requestId, confirmed,
 *   confirmRequestId; `change.found-in-effect` instead when the read before shows the attribute
 *   already as asked (no ModifyInstanceAttribute call) (docs/ledger-format.md).
 * - `snapshot.requested` before every mutation: operation (CreateSnapshots | CreateSnapshot |
 *   CopySnapshot | ModifySnapshotAttribute | LockSnapshot), role (source | reencrypted | share |
 *   forensics | lock), ids and tags; then `snapshot.created` | `snapshot.copied` |
 *   `snapshot.shared` | `snapshot.locked` with the new ids and requestId.
 * - `snapshot.adopted`: found by the case-tag lookup instead of created again (resume).
 * - `snapshot.completed`: snapshotId, volumeId, role, encrypted, kmsKeyId, requestId.
 * - `artifact.recorded` (through the recorder): an `ebs-snapshot` record as soon as each snapshot
 *   of a volume exists (the source once requested or adopted, the re-encrypted copy and the
 *   forensics copy once requested or adopted), each with every id known so far; the manifest
 *   merges them per evidence id = evidenceIdFor(case, volume ARN). cloudIds snapshotId,
 *   reencryptedSnapshotId?, forensicsSnapshotId?; details volumeId, transfer, account, region,
 *   forensicsAccount, latest (which snapshot the record added).
 * - `volume.covered`: volumeId, coveredBy (the target whose chain snapshots it), reason — a
 *   volume is snapshotted once per case: an instance and its own volume (named, or found by a
 *   selector) share one snapshot; the target that did not take it records this and reports the
 *   other's chain as its own result.
 * - `step.failed`: step, the ids concerned, error (CustodyError.toRecord()).
 */
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { evidenceIdFor } from '../../core/case-id.js';
import { runAtOnce } from '../../core/background.js';
import type { AwsConfig, CustodyConfig } from '../config.js';
import { CustodyError } from '../../core/errors.js';
import type { CollectOptions, PlannedStep, Provider, ProviderContext, TargetOutcome } from '../../core/ports.js';
import type { ProviderServices } from '../../core/provider-module.js';
import { AWS_SESSIONS, type AwsSessionBroker } from '../shared/aws-sessions.js';
import type { Selector, Target } from '../../core/targets.js';
import { isAwsTarget, isAwsTagSelector, type AwsInstanceTarget, type AwsTarget, type AwsVolumeTarget } from './targets.js';
import { CaseState } from './case-state.js';
import { DEFAULT_RETRY, type RetrySettings } from './clients.js';
import { systemClock, type Clock } from './clock.js';
import { collectInstance } from './collect-instance.js';
import { collectVolume } from './collect-volume.js';
import { plannedCalls } from './operations.js';
import { partitionOf, resolveTagSelector } from './resolve-selector.js';
import { awsRunOptions, guardRecorder, type TargetRun } from './run.js';
import { DEFAULT_WAIT, type WaitSettings } from './snapshot-waiter.js';
import { RunStates } from '../shared/run-state.js';
import { configuredScope } from '../shared/scope-words.js';

export interface AwsProviderDeps {
  /** The forensics account's credentials. Default: the SDK's standard chain. */
  credentials?: AwsCredentialIdentityProvider;
  clock?: Clock;
  /** SDK retry settings (default adaptive, 8 attempts). */
  retry?: Partial<RetrySettings>;
  /** Snapshot-wait polling (defaults: DEFAULT_WAIT, 1 s first pause backing off to 30 s; config aws.snapshotPollMs sets the first pause). */
  wait?: Partial<Omit<WaitSettings, 'timeoutMs'>>;
  /** Reuse a description fetched for another target this long (default 5 minutes). */
  describeMaxAgeMs?: number;
}

/** The extra surface tests and the benchmark use beyond `Provider`. */
export interface AwsProvider extends Provider {
  /** Snapshot-wait polls made for a case in its latest run (excluded from the benchmark's call budget). */
  waitPolls(caseId: string): number;
}

/**
 * Builds the AWS provider. Throws `E_CONFIG` when the config has no `aws` section.
 *
 * @example
 * const aws = createAwsProvider(loadConfigFile('custody.json'));
 * aws.validate(parseTarget('arn:aws:ec2:us-east-1:222222222222:instance/i-0abc1234'));
 */
export function createAwsProvider(config: CustodyConfig, deps: AwsProviderDeps = {}, services?: ProviderServices): AwsProvider {
  const aws = config.aws;
  if (!aws) throw new CustodyError('E_CONFIG', 'the config has no "aws" section: forensicsAccount, region and allowedAccounts are required to collect from AWS');
  const withAws = config as CustodyConfig & { aws: AwsConfig };
  const clock = deps.clock ?? systemClock;
  const retry: RetrySettings = { ...DEFAULT_RETRY, ...deps.retry };
  const configuredWait = aws.snapshotPollMs === undefined ? {} : { initialDelayMs: aws.snapshotPollMs };
  const wait: WaitSettings = { ...DEFAULT_WAIT, ...configuredWait, ...deps.wait, timeoutMs: aws.snapshotTimeoutSeconds * 1000 };
  const describeMaxAgeMs = deps.describeMaxAgeMs ?? 5 * 60_000;
  // Targets announced by validate(): every run's state learns them so describes can batch them.
  const expected: AwsTarget[] = [];
  const expectedArns = new Set<string>();

  const expect = (state: CaseState, target: AwsTarget) => {
    const scope = state.targetScope(target.account, target.region, target.partition);
    if (target.kind === 'aws-instance') {
      state.sessions.cover(target.account, target.partition, target.region, { instanceArn: target.arn });
      scope.directory.expectInstance(target.instanceId);
    } else {
      state.sessions.cover(target.account, target.partition, target.region, { volumeArn: target.arn });
      scope.directory.expectVolume(target.volumeId);
    }
  };

  // One state per run of a case (shared/run-state.ts): its sessions are assumed and recorded in
  // that run, its volume claims are that run's, and its descriptions are fetched in that run.
  const runs = new RunStates<CaseState>(
    (recorder) => {
      const state = new CaseState({ config: withAws, caseId: recorder.caseId, credentials: deps.credentials, clock, retry, wait, describeMaxAgeMs });
      for (const t of expected) expect(state, t);
      return state;
    },
    (state) => state.close(),
  );

  const checkAllowed = (target: AwsTarget) => {
    if (!aws.allowedAccounts.includes(target.account)) {
      throw new CustodyError(
        'E_ACCOUNT_NOT_ALLOWED',
        `account ${target.account} is not in aws.allowedAccounts (${aws.allowedAccounts.join(', ')}): ${target.arn} was refused before any call. Add the account to the config if it should be collected.`,
        { resource: target.arn },
      );
    }
  };

  // The case's sessions, shared with the Kubernetes provider (EKS tokens) through the registry.
  const broker: AwsSessionBroker = {
    async credentialsFor(account, region, recorder, run) {
      const guarded = guardRecorder(recorder);
      const state = runs.of(guarded, run);
      // Declares the account's partition without widening what the session covers.
      state.sessions.cover(account, partitionOf(region), region, {});
      await state.sessions.ensure(account, guarded);
      return state.sessions.providerFor(account)();
    },
    stsEndpoint: aws.endpoints.sts,
    awsTime(recorder, run) {
      return Date.now() + (runs.of(recorder, run).clients.sts().config.systemClockOffset ?? 0);
    },
  };
  services?.offer(AWS_SESSIONS, broker);

  return {
    name: 'aws',
    handles: (target) => isAwsTarget(target),
    handlesSelector: (selector: Selector) => isAwsTagSelector(selector),

    validate(target: Target): void {
      if (!isAwsTarget(target)) throw new CustodyError('E_UNSUPPORTED', `the AWS provider does not collect ${target.kind} targets`);
      checkAllowed(target);
      if (!expectedArns.has(target.arn)) {
        expectedArns.add(target.arn);
        expected.push(target);
        for (const state of runs.states()) expect(state, target);
      }
    },

    scopeOf(target: Target): string {
      return isAwsTarget(target) ? `aws:${target.account}:${target.region}` : 'aws';
    },

    // The config's default of --hash: the run hashes, and collection.started says so.
    optionsFromConfig: (): Record<string, string> => (aws.hash ? { hash: 'aws.hash' } : {}),

    selectorScope: () => `${configuredScope('allowed accounts', 'aws.allowedAccounts', aws.allowedAccounts)} in ${(aws.regions ?? [aws.region]).join(', ')}`,

    plan(target: Target, options: CollectOptions): PlannedStep[] {
      return isAwsTarget(target) ? plannedCalls(target, options, config) : [];
    },

    async resolveSelector(selector: Selector, ctx: ProviderContext): Promise<Target[]> {
      if (!isAwsTagSelector(selector)) throw new CustodyError('E_UNSUPPORTED', `the AWS provider does not resolve ${selector.kind} selectors`);
      const recorder = guardRecorder(ctx.recorder);
      return resolveTagSelector(selector, runs.of(recorder, ctx.signal), recorder, ctx.signal, ctx.searchIncomplete);
    },

    async collect(target: Target, ctx: ProviderContext): Promise<TargetOutcome> {
      const recorder = guardRecorder(ctx.recorder);
      if (!isAwsTarget(target)) {
        return { target: String((target as { kind: string }).kind), status: 'skipped', reason: 'not an AWS target', evidenceIds: [] };
      }
      try {
        checkAllowed(target);
      } catch (error) {
        const e = error as CustodyError;
        await recorder.record('step.failed', { step: 'validate', error: e.toRecord() }, target.arn);
        return { target: target.arn, status: 'failed', reason: e.message, error: e.toRecord(), evidenceIds: [] };
      }
      const state = runs.of(recorder, ctx.signal);
      expect(state, target);
      const partition = target.partition || partitionOf(target.region);
      const run: TargetRun = {
        target,
        caseId: recorder.caseId,
        evidenceId: evidenceIdFor(recorder.caseId, target.arn),
        recorder,
        progress: ctx.progress,
        options: awsRunOptions(ctx.options),
        signal: ctx.signal,
        aws,
        sessions: state.sessions,
        scope: state.targetScope(target.account, target.region, partition),
        forensics: () => state.forensicsScope(aws.region, partition),
        volumes: state.volumes,
        failures: [],
        evidenceIds: new Set(),
        requested: ctx.requested ?? (() => {}),
        background: ctx.background ?? runAtOnce,
      };
      return target.kind === 'aws-instance'
        ? collectInstance(run as TargetRun<AwsInstanceTarget>)
        : collectVolume(run as TargetRun<AwsVolumeTarget>);
    },

    waitPolls(caseId: string): number {
      return runs.latest(caseId)?.waitPolls() ?? 0;
    },

    close: () => runs.close(),
  };
}

