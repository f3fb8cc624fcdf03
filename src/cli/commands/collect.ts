import { validateCaseId } from '../../core/case-id.js';
import { CustodyError, EXIT, exitCodeForFailedCopy } from '../../core/errors.js';
import { exitCodeForOutcomes } from '../../core/outcomes.js';
import { parseSelector, parseTarget } from '../../providers/targets.js';
import { collectOptionsFrom, listValue, parseCommandArgs, stringValue } from '../args.js';
import { collectCase } from '../../app/collect-case.js';
import type { CollectCaseResult } from '../../app/collect-case.js';
import type { NothingSelected, UnsearchedScope } from '../../core/orchestrator.js';
import { loadCliConfig } from '../config-source.js';
import type { CliDeps } from '../deps.js';
import { collectHelp } from '../help.js';
import type { CliIo } from '../io.js';
import { createProgress, writeProgressSummary } from '../progress.js';
import { formatHead } from '../../custody/expectations.js';
import { renderCopy, renderKeepApart, renderOutcomes, renderSummary, renderVerify } from '../render.js';

/** `custody collect --case ID [options] TARGET...` */
export async function runCollectCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseCommandArgs('collect', args);
  if (values.help) {
    io.stdout(`${collectHelp()}\n`);
    return EXIT.OK;
  }
  const caseId = stringValue(values, 'case');
  if (!caseId) throw new CustodyError('E_INPUT', 'collect needs --case ID (see custody collect --help)');
  validateCaseId(caseId);
  // Every target and selector must parse before anything is opened or called.
  const targets = positionals.map(parseTarget);
  const selectors = listValue(values, 'select').map(parseSelector);
  const resume = values.resume === true;
  // --resume alone continues the targets and selectors the case's ledger holds.
  if (targets.length === 0 && selectors.length === 0 && !resume) {
    throw new CustodyError('E_INPUT', 'collect needs at least one TARGET or --select EXPR, or --resume to continue a case (see custody collect --help)');
  }
  const analyst = analystValue(stringValue(values, 'analyst'));
  const { config } = loadCliConfig(stringValue(values, 'config'), io.env, io.cwd);
  const json = values.json === true;
  const result = await collectCase(
    {
      config,
      caseId,
      ...(analyst ? { analyst } : {}),
      targets,
      selectors,
      options: collectOptionsFrom(values),
      resume,
      progress: createProgress(io, json),
      ...(io.signal ? { signal: io.signal } : {}),
    },
    deps,
  );
  writeProgressSummary(io, json, `${renderSummary(result.summary)}; case folder ${result.caseDir}`);
  const exitCode = collectExitCode(result);
  if (json) io.stdout(`${JSON.stringify(collectJson(result, exitCode), null, 2)}\n`);
  else io.stdout(`${renderCollect(result)}\n`);
  return exitCode;
}

/**
 * `--analyst` as given: an empty or blank value is a mistake (a variable that was not set), never
 * "use the caller identity", which is what leaving the flag out means.
 */
export function analystValue(value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') {
    throw new CustodyError('E_INPUT', '--analyst is empty: give the name of the person collecting, or leave the flag out to use the config\'s analyst or the caller identity');
  }
  return value;
}

/** A cancelled run has its own code (the case is open, to resume); then verification outranks everything. */
export function collectExitCode(result: CollectCaseResult): number {
  if (result.interrupted) return EXIT.CANCELLED;
  // Nothing to collect, so nothing was closed to verify: the command was wrong, not the case; or
  // a search failed, and exits as that failure does (an access denied is not a typo).
  if (result.nothingSelected) return result.nothingSelected.failedSearches ? exitCodeForOutcomes(result.outcomes) : EXIT.BAD_INPUT;
  if (!result.verify?.ok) return EXIT.VERIFY_FAILED;
  // The case is valid here, but the copy that was asked for is not there: not a silent success.
  // A refused copy (configuration, cancelled) exits as that refusal does, as copy-case does.
  if (result.copy && !result.copy.ok) return exitCodeForFailedCopy(result.copy.error?.code);
  return exitCodeForOutcomes(result.outcomes);
}

export function collectJson(result: CollectCaseResult, exitCode: number): Record<string, unknown> {
  return {
    caseId: result.caseId,
    caseDir: result.caseDir,
    analyst: result.analyst,
    principal: result.principal ?? null,
    keyFingerprint: result.keyFingerprint ?? null,
    ledgerHead: result.verify?.head ? formatHead(result.verify.head) : null,
    outcomes: result.outcomes,
    summary: result.summary,
    verify: result.verify ?? null,
    ...(result.copy ? { copy: result.copy } : {}),
    ...(result.nothingSelected ? { nothingSelected: result.nothingSelected } : {}),
    ...(result.unsearchedScopes ? { unsearchedScopes: result.unsearchedScopes } : {}),
    interrupted: result.interrupted,
    exitCode,
  };
}

export function renderCollect(result: CollectCaseResult): string {
  return [
    `Case ${result.caseId} (analyst ${result.analyst}${result.principal && result.principal.arn !== result.analyst ? `, authenticated as ${result.principal.arn}` : ''})`,
    renderOutcomes(result.outcomes),
    renderSummary(result.summary),
    // Nothing selected names them itself, as the reason it found nothing.
    ...(result.unsearchedScopes && !result.nothingSelected ? [renderNotSearched(result.caseId, result.unsearchedScopes)] : []),
    result.nothingSelected
      ? renderNothingSelected(result.caseId, result.nothingSelected)
      : result.verify
        ? renderVerify(result.verify)
        : `Interrupted: the case was left open. Finish it with the same command and --resume (custody collect --case ${result.caseId} --resume ...).`,
    ...(result.copy ? [renderCopy(result.copy), ...copyNotMade(result)] : []),
    `Case folder: ${result.caseDir}`,
    ...renderKeepApart(result.keyFingerprint, result.verify?.head),
  ].join('\n');
}

/**
 * A copy refused before any upload (its configuration) or cancelled says nothing of the case: say
 * it here, where the case is known to be collected, closed and verified, and how to finish the copy.
 */
function copyNotMade(result: CollectCaseResult): string[] {
  if (!result.copy || result.copy.ok || !result.verify?.ok || result.copy.error?.code === 'E_COPY') return [];
  return [`  The case is collected, closed and verified here; only its copy did not complete. Finish it with: custody copy-case ${result.caseDir}`];
}

/**
 * No target was selected: the selectors' searches (made with the case's own sessions) are
 * recorded, so the case exists, left open; it is continued with a corrected selector, or with the
 * same selectors once a failed search can run (`--resume` alone searches them again), not opened again.
 */
function renderNothingSelected(caseId: string, { selectors, failedSearches: failed = [], unsearchedScopes: unsearched = [] }: NothingSelected): string {
  const open = `Case ${caseId} is left open (not closed, not copied)`;
  if (selectors.length === 0) {
    return `Nothing was selected: case ${caseId} holds no target. ${open}: continue it with a target or a selector: custody collect --case ${caseId} --resume TARGET (or --select EXPR)`;
  }
  const failedKeys = new Set(failed.map((f) => f.selector));
  const answered = selectors.filter((s) => !failedKeys.has(s));
  // A search denied in some scopes that found nothing in the rest is not a wrong selector: say
  // where it could not look, so the fix is the access and a --resume, not another tag.
  const partly = answered.filter((s) => unsearched.some((u) => u.selector === s));
  const empty = answered.filter((s) => !partly.includes(s));
  const said = [
    ...failed.map((f) => `the search for ${f.selector} failed (${f.code})`),
    ...(empty.length > 0 ? [`${empty.join(', ')} matched no target`] : []),
    ...partly.map((s) => unsearchedText(s, unsearched.filter((u) => u.selector === s))),
  ].join('; ');
  if (failed.length === 0 && partly.length === 0) {
    return `Nothing was selected: ${said}. ${open}: continue it with a corrected selector: custody collect --case ${caseId} --resume --select EXPR`;
  }
  const can = failed.length > 0 ? 'can run' : 'can look there';
  return `Nothing was selected: ${said}. ${open}: once the search ${can} (the reason is above: a permission, the provider), search again with custody collect --case ${caseId} --resume, or continue it with a corrected selector: --resume --select EXPR`;
}

function unsearchedText(selector: string, scopes: readonly UnsearchedScope[]): string {
  return `${selector} matched no target where it could search, but its search ${couldNotLook(scopes)}`;
}

/**
 * A run that collected what its searches found elsewhere: a target in a scope the search could
 * not look in is not in the case, and a success summary alone would hide that (the ledger has it).
 */
function renderNotSearched(caseId: string, unsearched: readonly UnsearchedScope[]): string {
  const selectors = [...new Set(unsearched.map((u) => u.selector))];
  const said = selectors.map((s) => `${s} ${couldNotLook(unsearched.filter((u) => u.selector === s))}`).join('; ');
  return `Not searched: ${said}. Targets there are not in this case: once that access is fixed, search again with custody collect --case ${caseId} --resume (what is already collected is not collected again).`;
}

function couldNotLook(scopes: readonly UnsearchedScope[]): string {
  const count = scopes.length === 1 ? '1 scope' : `${scopes.length} scopes`;
  return `could not look in ${count}: ${scopes.map((u) => `${u.scope} (${u.code})`).join(', ')}`;
}
