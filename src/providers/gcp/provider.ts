/**
 * The GCP provider: Compute Engine instances and disks (zonal and regional) in other projects,
 * preserved as snapshots straight in the forensics project with impersonated short-lived tokens.
 * See docs/research/gcp.md for why each step is as it is.
 *
 * Ledger entries it writes (target = the full resource name, `//compute.googleapis.com/…`):
 * - `credentials.impersonated` (case-level): project, serviceAccount, delegates, orchestrator,
 *   auditPrincipal, delegationChain, scopes, lifetimeSecondsRequested, expireTime,
 *   reason (`first` | `expiring` | `expired-token`), gcpClockOffsetMs (Google's clock minus this
 *   machine's at IAM Credentials' answer, from its Date). Never the token.
 * - `evidence.stored` (through the recorder): instance.json, disks.json, serial-port-N.txt
 *   (cloudIds start/next: a gap shows as a start above 0), screenshot.png.
 * - `volatile.unavailable`: what could not be read (stopped VM, no display device) and why.
 * - `disk.skipped`: attached devices without a persistent disk (local SSD).
 * - `snapshot.requested` before each insert: snapshotName, requestId, sourceDisk(+Id: null when Compute gave none), labels,
 *   storageLocations, kmsKeyName, guestFlush, consistency (per disk: not multi-disk consistent).
 * - `snapshot.created` (operation name/id, user) | `snapshot.adopted` (found by its deterministic
 *   name: resume, or a target of an earlier run took it); `disk.covered` (another target of this
 *   run snapshots the disk: its result is shared, no second snapshot).
 * - `snapshot.completed`: snapshotId, storageBytes(+Status, read at), sourceDiskId,
 *   sourceDiskLastAttachTimestamp, kmsKeyName, contentHash ("none: …"), lock ("none: …"),
 *   evidenceHold (with the hold configured: the tag binding Resource Manager listed, or why not).
 * - `artifact.recorded` (kind `gce-snapshot`), `selector.searched`, `step.failed` (a failed project search: step `resolve-selector`).
 */
import type { AuthClient } from 'google-auth-library';
import { CustodyError } from '../../core/errors.js';
import type { CaseRecorder, CollectOptions, PlannedStep, ProgressSink, Provider, ProviderContext, TargetOutcome } from '../../core/ports.js';
import type { AnyConfig, PreflightRequest, PreflightRow } from '../../core/provider-module.js';
import type { Selector, Target } from '../../core/targets.js';
import { collectGcpTarget } from './collect.js';
import type { GcpConfig } from './config.js';
import { plannedGcpCalls } from './operations.js';
import { preflightGcp, type GcpPreflightRow } from './preflight.js';
import { resolveGcpSelector } from './resolve-selector.js';
import { GcpSession, type GcpSessionOptions } from './session.js';
import { gcpTargetKey, isGcpSelector, isGcpTarget, parseProviderIdTarget, type GcpInstanceTarget, type GcpSelector, type GcpTarget } from './targets.js';
import { RunStates } from '../shared/run-state.js';
import { configuredScope } from '../shared/scope-words.js';

export interface GcpProviderDeps {
  /** The orchestrator's credentials (default: ADC). */
  sourceAuth?: AuthClient;
  orchestratorEmail?: string;
  version?: string;
  session?: Partial<Pick<GcpSessionOptions, 'retry' | 'sleep' | 'waitIdleDelayMs' | 'readyPollMs' | 'now'>>;
}

export interface GcpProvider {
  readonly name: 'gcp';
  /** Refuses a target outside `gcp.allowedProjects` before any call (E_ACCOUNT_NOT_ALLOWED). */
  validate(target: GcpTarget): void;
  /** Targets of one project share a concurrency limit (Compute's rate quotas are per project). */
  scopeOf(target: GcpTarget): string;
  plan(target: GcpTarget, options: CollectOptions): PlannedStep[];
  /** `run`: the run's signal, as `collect` gets it (one session per run of a case). */
  resolveSelector(selector: GcpSelector, recorder: CaseRecorder, run?: AbortSignal, searchIncomplete?: (scope: string, code: string) => void): Promise<GcpInstanceTarget[]>;
  collect(target: GcpTarget, ctx: { recorder: CaseRecorder; progress?: ProgressSink; signal?: AbortSignal }): Promise<TargetOutcome>;
  preflight(recorder: CaseRecorder, options?: { projects?: string[]; targets?: GcpTarget[] }): Promise<GcpPreflightRow[]>;
  /** The orchestrator's identity as ADC reports it. */
  callerIdentity(): Promise<{ principal: string }>;
  /** A GKE node's providerID → the instance target (validated against the allowed projects). */
  followNode(providerId: string): GcpInstanceTarget;
  close(): Promise<void>;
}

/**
 * Builds the GCP provider for a `gcp` config section.
 *
 * @example
 * const gcp = createGcpProvider(parseGcpConfig(config.gcp));
 * const outcome = await gcp.collect(parseGcpTarget('projects/web-prod/zones/us-central1-a/instances/web-1'), { recorder });
 */
export function createGcpProvider(config: GcpConfig, deps: GcpProviderDeps = {}): GcpProvider {
  // One session per run of a case (shared/run-state.ts): its tokens are recorded in that run's
  // recorder, and its disk claims are that run's. A provider object reused for a later run of
  // the case must not record into the earlier run's recorder nor hand the later run the earlier
  // one's claims: the earlier run's session is closed.
  const runs = new RunStates(
    (recorder, run) =>
      new GcpSession({
        config,
        recorder,
        ...(run ? { signal: run } : {}),
        version: deps.version ?? '0.1.0',
        ...(deps.sourceAuth ? { sourceAuth: deps.sourceAuth } : {}),
        ...(deps.orchestratorEmail ? { orchestratorEmail: deps.orchestratorEmail } : {}),
        ...deps.session,
      }),
    (session) => session.close(),
  );
  const sessionFor = (recorder: CaseRecorder, run?: AbortSignal): GcpSession => runs.of(recorder, run);
  const validate = (target: GcpTarget) => {
    if (!config.allowedProjects.includes(target.project)) {
      throw new CustodyError(
        'E_ACCOUNT_NOT_ALLOWED',
        `project ${target.project} is not in gcp.allowedProjects (${config.allowedProjects.join(', ')}): ${gcpTargetKey(target)} was refused before any call. Add the project to the config if it should be collected.`,
        { resource: gcpTargetKey(target) },
      );
    }
  };
  let identitySession: GcpSession | undefined;
  return {
    name: 'gcp',
    validate,
    scopeOf: (target) => `gcp:${target.project}`,
    plan: (target, options) => plannedGcpCalls(target, options, config),
    resolveSelector: (selector, recorder, run, searchIncomplete) => resolveGcpSelector(sessionFor(recorder, run), recorder, selector, searchIncomplete),
    async collect(target, ctx) {
      try {
        validate(target);
      } catch (error) {
        const e = error as CustodyError;
        await ctx.recorder.record('step.failed', { step: 'validate', error: e.toRecord() }, gcpTargetKey(target));
        return { target: gcpTargetKey(target), status: 'failed', reason: e.message, error: e.toRecord(), evidenceIds: [] };
      }
      return collectGcpTarget({ session: sessionFor(ctx.recorder, ctx.signal), recorder: ctx.recorder, ...(ctx.progress ? { progress: ctx.progress } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) }, target);
    },
    async preflight(recorder, options = {}) {
      for (const t of options.targets ?? []) validate(t);
      return preflightGcp(sessionFor(recorder), options);
    },
    async callerIdentity() {
      identitySession ??= new GcpSession({
        config,
        recorder: detachedRecorder('caller identity'),
        version: deps.version ?? '0.1.0',
        ...(deps.sourceAuth ? { sourceAuth: deps.sourceAuth } : {}),
      });
      return { principal: deps.orchestratorEmail ?? (await identitySession.broker.orchestrator()) };
    },
    followNode(providerId) {
      const target = parseProviderIdTarget(providerId);
      validate(target);
      return target;
    },
    async close() {
      await runs.close();
      await identitySession?.close();
    },
  };
}

/** The module's caller identity: the orchestrator's service account, in the forensics project. */
export async function gcpCallerIdentity(config: GcpConfig, deps: GcpProviderDeps = {}): Promise<{ arn: string; account: string; userId: string }> {
  const provider = createGcpProvider(config, deps);
  try {
    const { principal } = await provider.callerIdentity();
    return { arn: principal, account: config.forensicsProject, userId: principal };
  } finally {
    await provider.close();
  }
}

/** The module's preflight rows, in the registry's shared row shape. */
export async function runGcpPreflightRows(config: GcpConfig, request: PreflightRequest<AnyConfig>, deps: GcpProviderDeps = {}): Promise<PreflightRow[]> {
  const provider = createGcpProvider(config, deps);
  const recorder = detachedRecorder('preflight');
  try {
    const projects = request.scopes.project;
    const targets = request.targets.filter(isGcpTarget);
    const rows = await provider.preflight(recorder, { ...(projects && projects.length > 0 ? { projects: [...projects] } : {}), ...(targets.length > 0 ? { targets } : {}) });
    return rows.map((row) => ({
      provider: 'gcp',
      scope: [row.scope, row.resource],
      check: row.check,
      result: row.result,
      // The permissions a row is about: those missing (denied), else those asked and granted.
      action: (row.missing ?? row.granted)?.join(', ') ?? (row.check.includes('impersonate') ? 'iam.serviceAccounts.getAccessToken' : 'testIamPermissions'),
      detail: row.detail ?? (row.result === 'ok' ? 'allowed' : ''),
    }));
  } finally {
    await provider.close();
  }
}

/**
 * The collecting `Provider` the registry creates: the GCP provider behind core's port (targets
 * and selectors narrowed by their `provider`).
 */
export function createGcpCoreProvider(config: GcpConfig, deps: GcpProviderDeps = {}): Provider {
  const gcp = createGcpProvider(config, deps);
  const own = (target: Target): GcpTarget => {
    if (!isGcpTarget(target)) throw new CustodyError('E_UNSUPPORTED', `the GCP provider does not collect ${target.kind} targets`);
    return target;
  };
  return {
    name: 'gcp',
    handles: isGcpTarget,
    handlesSelector: isGcpSelector,
    validate: (target) => gcp.validate(own(target)),
    scopeOf: (target) => (isGcpTarget(target) ? gcp.scopeOf(target) : 'gcp'),
    selectorScope: () => configuredScope('allowed projects', 'gcp.allowedProjects', config.allowedProjects),
    plan: (target, options) => gcp.plan(own(target), options),
    async resolveSelector(selector: Selector, ctx: ProviderContext): Promise<Target[]> {
      if (!isGcpSelector(selector)) throw new CustodyError('E_UNSUPPORTED', `the GCP provider does not resolve ${selector.kind} selectors`);
      return gcp.resolveSelector(selector, ctx.recorder, ctx.signal, ctx.searchIncomplete);
    },
    collect: (target, ctx) => gcp.collect(own(target), ctx),
    close: () => gcp.close(),
  };
}

/** A recorder for work outside a case (preflight, identity): nothing may be recorded. */
function detachedRecorder(purpose: string): CaseRecorder {
  const refuse = async (): Promise<never> => {
    throw new CustodyError('E_INTERNAL', `${purpose} has no case to record in`);
  };
  // Preflight mints tokens; their credentials.impersonated entries have no case to go to.
  return { caseId: purpose, analyst: '', caseDir: '', record: async () => ({}) as never, entries: () => [], storeEvidence: refuse, recordArtifact: refuse };
}
