import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CustodyConfig } from '../core/config.js';
import { CustodyError } from '../core/errors.js';
import { runCollection } from '../core/orchestrator.js';
import type { OutcomeSummary } from '../core/outcomes.js';
import type { CollectOptions, ProgressSink, Provider, TargetOutcome } from '../core/ports.js';
import type { Selector, Target } from '../core/targets.js';
import type { CliDeps, CopyOutcome, VerifyOutcome } from './deps.js';

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
}

export interface CollectCaseResult {
  caseId: string;
  caseDir: string;
  analyst: string;
  /** SHA-256 of the key the ledger is signed with. */
  keyFingerprint?: string;
  outcomes: TargetOutcome[];
  summary: OutcomeSummary;
  /** Absent when the run was interrupted: the case was left open to be resumed. */
  verify: VerifyOutcome | undefined;
  /** The immutable copy, when `aws.evidenceBucket` is configured and the case was closed. */
  copy?: CopyOutcome;
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
export async function collectCase(input: CollectCaseInput, deps: CliDeps): Promise<CollectCaseResult> {
  const caseDir = caseDirFor(input.config, input.caseId);
  const exists = existsSync(caseDir);
  if (exists && !input.resume) {
    throw new CustodyError(
      'E_INPUT',
      `case folder ${caseDir} already exists; add --resume to continue that case (targets already collected are not taken again), or choose another --case`,
      { resource: caseDir },
    );
  }
  const providers: Provider[] = deps.createProviders(input.config);
  try {
    const analyst = input.analyst ?? input.config.analyst ?? (await deps.callerIdentity(input.config));
    // --resume on a case an interrupted run never got to create simply starts it: rerunning the
    // same command line with --resume is always the way to finish a case.
    const opened = await deps.openCase({ config: input.config, caseId: input.caseId, analyst, resume: input.resume && exists });
    let result;
    try {
      result = await runCollection({
        config: input.config,
        providers,
        recorder: opened.recorder,
        targets: input.targets,
        selectors: input.selectors,
        options: input.options,
        progress: input.progress,
        ...(input.signal ? { signal: input.signal } : {}),
      });
    } catch (error) {
      // The ledger failed (or something unexpected): leave the case resumable, then report.
      await opened.release().catch(() => undefined);
      throw error;
    }
    const { outcomes, summary } = result;
    const base = {
      caseId: input.caseId,
      caseDir: opened.recorder.caseDir,
      analyst,
      ...(opened.fingerprint ? { keyFingerprint: opened.fingerprint } : {}),
      outcomes,
      summary,
    };
    if (input.signal?.aborted) {
      await opened.release();
      return { ...base, verify: undefined, interrupted: true };
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
 * With `aws.evidenceBucket`, the closed case goes to the bucket: its records follow case.closed
 * in the ledger. A case that does not verify is not copied (a copy would lock in the damage).
 */
async function copyClosedCase(input: CollectCaseInput, deps: CliDeps, caseDir: string, analyst: string, verify: VerifyOutcome): Promise<CopyOutcome | undefined> {
  const bucket = input.config.aws?.evidenceBucket;
  if (!bucket) return undefined;
  const url = `s3://${bucket.name}/${bucket.prefix}${input.caseId}`;
  if (!verify.ok) return { ok: false, url, error: { code: 'E_VERIFY', message: 'the case does not verify, so it was not copied' } };
  if (!deps.copyCase) return { ok: false, url, error: { code: 'E_UNSUPPORTED', message: 'this build cannot copy cases' } };
  return deps.copyCase({ config: input.config, caseDir, caseId: input.caseId, actor: analyst });
}
