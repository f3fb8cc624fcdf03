import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CustodyConfig } from '../providers/config.js';
import { CustodyError } from '../core/errors.js';
import { checkSelector, checkTarget, runCollection, type NothingSelected, type TargetRetry, type UnsearchedScope } from '../core/orchestrator.js';
import type { OutcomeSummary } from '../core/outcomes.js';
import type { CollectOptions, ProgressSink, Provider, TargetOutcome } from '../core/ports.js';
import { REGISTRY } from '../providers/registry.js';
import type { Selector, Target } from '../core/targets.js';
import type { CallerPrincipal, AppDeps, CopyOutcome, VerifyOutcome } from './deps.js';

export interface CollectCaseInput {
  config: CustodyConfig;
  caseId: string;
  analyst?: string;
  targets: readonly Target[];
  selectors: readonly Selector[];
  options: CollectOptions;
  resume: boolean;
  progress: ProgressSink;
  signal?: AbortSignal;
  /** Retries of a target whose failure is retryable; default: the orchestrator's (DEFAULT_TARGET_RETRY). */
  retry?: TargetRetry;
  /** How the caller names what a refusal points to (default: the CLI's flags). */
  terms?: CallerTerms;
}

/** The words a refusal uses for what the caller gives: the CLI's flags, or the library request's fields. */
export interface CallerTerms {
  caseId: string;
  addResume: string;
  withoutResume: string;
  giveAnalyst: string;
}

export const CLI_TERMS: CallerTerms = { caseId: '--case', addResume: 'add --resume', withoutResume: 'run without --resume', giveAnalyst: 'pass --analyst NAME' };
export const LIBRARY_TERMS: CallerTerms = { caseId: 'caseId', addResume: 'pass resume: true', withoutResume: 'leave resume out', giveAnalyst: 'give analyst' };

export interface CollectCaseResult {
  caseId: string;
  caseDir: string;
  analyst: string;
  /** Who the orchestrator's own credentials authenticated as (absent without an aws section). */
  principal?: CallerPrincipal;
  /** SHA-256 of the key the ledger is signed with. */
  keyFingerprint?: string;
  outcomes: TargetOutcome[];
  summary: OutcomeSummary;
  /** Absent when the run was interrupted or selected nothing: the case was left open to be resumed. */
  verify: VerifyOutcome | undefined;
  /**
   * Present when no target was selected at all: every selector searched (`selectors`) matched
   * nothing or its search failed (`failedSearches`: selector and error code; its outcome says
   * why), and the case holds no target. Its searches are recorded, and the case was left open —
   * not closed, not copied — to be resumed with a corrected selector, or the same one once its
   * search can succeed (the CLI exits 3 when no search failed, else as the failures' outcomes do).
   */
  nothingSelected?: NothingSelected;
  /**
   * The scopes a selector's search could not look in (access denied, unknown, throttled) while it
   * answered elsewhere: `selector`, `scope` (`account A in REGION`, `subscription S`, `project P`),
   * `code`. Present whenever there are any, targets found or not: what those scopes hold is not in
   * the case, and a `resume` once the access is fixed searches them again.
   */
  unsearchedScopes?: UnsearchedScope[];
  /** The immutable copy, when `aws.evidenceBucket` is configured and the case was closed. */
  copy?: CopyOutcome;
  /** Stopped through `signal` (the CLI: Ctrl-C or SIGTERM, exit 7): the case is left open to resume. */
  interrupted: boolean;
}

/** The case folder a case id gets under the configured cases folder. */
export function caseDirFor(config: CustodyConfig, caseId: string): string {
  return join(config.casesDir, caseId);
}

/**
 * Opens (or resumes) the case, collects, closes it with its manifest, and verifies the result:
 * the whole `custody collect`, shared with `custody demo`.
 */
export async function collectCase(input: CollectCaseInput, deps: AppDeps): Promise<CollectCaseResult> {
  refuseIfCancelled(input);
  const caseDir = caseDirFor(input.config, input.caseId);
  const exists = existsSync(caseDir);
  const terms = input.terms ?? CLI_TERMS;
  if (exists && !input.resume) {
    throw new CustodyError(
      'E_INPUT',
      `case folder ${caseDir} already exists; ${terms.addResume} to continue that case (targets already collected are not taken again), or choose another ${terms.caseId}`,
      { resource: caseDir },
    );
  }
  if (!exists && input.resume) {
    // A mistyped case id must not start a second case beside the one meant.
    throw new CustodyError(
      'E_INPUT',
      `there is no case ${input.caseId} in ${input.config.casesDir} to resume (check ${terms.caseId} and casesDir); to open a new case, ${terms.withoutResume}`,
      { resource: caseDir },
    );
  }
  const providers: Provider[] = await deps.createProviders(input.config);
  try {
    // Everything that can be refused without a cloud call is refused before the case exists, so
    // the corrected command runs as typed (no folder left behind to --resume).
    refuseBadInput(providers, input.targets, input.selectors);
    await deps.prepareFolders?.(input.config, input.options);
    // The orchestrator's own identity: recorded beside the asserted analyst, and the first call
    // that needs credentials, so missing credentials are refused before anything is created.
    const principal = await deps.callerIdentity(input.config);
    const analyst = input.analyst ?? input.config.analyst ?? principal?.arn;
    if (!analyst) {
      throw new CustodyError('E_CONFIG', `no analyst: ${terms.giveAnalyst} or set "analyst" in the config (no configured provider can tell the caller identity)`);
    }
    // Stopped while the run was being prepared (the caller identity can take a while): still nothing to resume.
    refuseIfCancelled(input);
    const opened = await deps.openCase({ config: input.config, caseId: input.caseId, analyst, resume: input.resume, ...(principal ? { principal } : {}) });
    let result;
    try {
      result = await runCollection({
        config: input.config,
        providers,
        parser: REGISTRY,
        recorder: opened.recorder,
        targets: input.targets,
        selectors: input.selectors,
        options: input.options,
        progress: input.progress,
        ...(input.signal ? { signal: input.signal } : {}),
        ...(input.retry ? { retry: input.retry } : {}),
      });
    } catch (error) {
      // The ledger failed (or something unexpected): leave the case resumable, then report.
      await opened.release().catch(() => undefined);
      throw error;
    }
    const { outcomes, summary, unsearchedScopes } = result;
    const base = {
      caseId: input.caseId,
      caseDir: opened.recorder.caseDir,
      analyst,
      ...(principal ? { principal } : {}),
      ...(opened.fingerprint ? { keyFingerprint: opened.fingerprint } : {}),
      outcomes,
      summary,
      ...(unsearchedScopes ? { unsearchedScopes } : {}),
    };
    if (input.signal?.aborted) {
      await opened.release();
      return { ...base, verify: undefined, interrupted: true };
    }
    if (result.nothingSelected) {
      // Closing would seal (and copy, locked) a case with nothing in it, and a corrected selector
      // (or a search that can run now) could then only reopen it: the case stays open for that resume.
      await opened.release();
      return { ...base, verify: undefined, nothingSelected: result.nothingSelected, interrupted: false };
    }
    await opened.close(outcomes);
    let verify = await deps.verifyCase(opened.recorder.caseDir);
    const copy = await copyClosedCase(input, deps, opened.recorder.caseDir, analyst, verify);
    // The copy appended its records after case.closed: verify again, so the ledger head printed
    // to be kept apart is the one the case now ends with.
    if (copy && verify.ok) verify = await deps.verifyCase(opened.recorder.caseDir);
    return { ...base, verify, ...(copy ? { copy } : {}), interrupted: false };
  } finally {
    await Promise.allSettled(providers.map((p) => p.close?.()));
  }
}

/**
 * A run stopped before its case is opened or resumed is refused, not opened only to be recorded as
 * interrupted: no case folder (or case.resumed entry) is left behind for a run that never started.
 */
function refuseIfCancelled(input: CollectCaseInput): void {
  if (!input.signal?.aborted) return;
  const action = input.resume ? `case ${input.caseId} was resumed: nothing was recorded` : `case ${input.caseId} was opened: nothing was created`;
  throw new CustodyError('E_CANCELLED', `cancelled before ${action}`, { cause: input.signal.reason });
}

/**
 * With `aws.evidenceBucket`, the closed case goes to the bucket: its records follow case.closed
 * in the ledger. A case that does not verify is not copied (a copy would lock in the damage).
 */
async function copyClosedCase(input: CollectCaseInput, deps: AppDeps, caseDir: string, analyst: string, verify: VerifyOutcome): Promise<CopyOutcome | undefined> {
  const bucket = input.config.aws?.evidenceBucket;
  if (!bucket) return undefined;
  const url = `s3://${bucket.name}/${bucket.prefix}${input.caseId}`;
  if (!verify.ok) return { ok: false, url, error: { code: 'E_VERIFY', message: 'the case does not verify, so it was not copied' } };
  if (!deps.copyCase) return { ok: false, url, error: { code: 'E_UNSUPPORTED', message: 'this build cannot copy cases' } };
  // A stop (Ctrl-C, the signal) during the copy ends it at the next request: the case stays closed.
  return deps.copyCase({ config: input.config, caseDir, caseId: input.caseId, actor: analyst, ...(input.signal ? { signal: input.signal } : {}) });
}

/**
 * Refuses, before anything is created, every named target no provider would accept (an account
 * outside allowedAccounts, an unknown cluster) and every selector no provider can resolve. One
 * error names them all: the responder fixes the command once.
 */
export function refuseBadInput(providers: readonly Provider[], targets: readonly Target[], selectors: readonly Selector[]): void {
  const refused: CustodyError[] = [];
  for (const target of targets) {
    const checked = checkTarget(providers, target);
    if (!checked.ok) refused.push(checked.error);
  }
  for (const selector of selectors) {
    const checked = checkSelector(providers, selector);
    if (!checked.ok) refused.push(checked.error);
  }
  const first = refused[0];
  if (!first) return;
  const message =
    refused.length === 1
      ? // A provider's refusal may already end its sentence ("… if it should be collected.").
        `${first.message.replace(/\.$/, '')}. Nothing was created: fix the command and run it again.`
      : `${refused.length} targets or selectors were refused, nothing was created (fix them and run again):\n${refused.map((e) => `  - ${e.message}`).join('\n')}`;
  throw new CustodyError(first.code, message, { ...(first.resource ? { resource: first.resource } : {}) });
}
