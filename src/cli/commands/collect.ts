import { validateCaseId } from '../../core/case-id.js';
import { CustodyError, EXIT } from '../../core/errors.js';
import { exitCodeForOutcomes } from '../../core/outcomes.js';
import { parseSelector, parseTarget } from '../../core/targets.js';
import { collectOptionsFrom, listValue, parseCommandArgs, stringValue } from '../args.js';
import { collectCase } from '../collect-case.js';
import type { CollectCaseResult } from '../collect-case.js';
import { loadCliConfig } from '../config-source.js';
import type { CliDeps } from '../deps.js';
import { COLLECT_HELP } from '../help.js';
import type { CliIo } from '../io.js';
import { createProgress, writeProgressSummary } from '../progress.js';
import { formatHead } from '../../custody/expectations.js';
import { renderCopy, renderKeepApart, renderOutcomes, renderSummary, renderVerify } from '../render.js';

/** `custody collect --case ID [options] TARGET...` */
export async function runCollectCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseCommandArgs('collect', args);
  if (values.help) {
    io.stdout(`${COLLECT_HELP}\n`);
    return EXIT.OK;
  }
  const caseId = stringValue(values, 'case');
  if (!caseId) throw new CustodyError('E_INPUT', 'collect needs --case ID (see custody collect --help)');
  validateCaseId(caseId);
  // Every target and selector must parse before anything is opened or called.
  const targets = positionals.map(parseTarget);
  const selectors = listValue(values, 'select').map(parseSelector);
  if (targets.length === 0 && selectors.length === 0) {
    throw new CustodyError('E_INPUT', 'collect needs at least one TARGET or --select EXPR (see custody collect --help)');
  }
  const { config } = loadCliConfig(stringValue(values, 'config'), io.env, io.cwd);
  const json = values.json === true;
  const analyst = stringValue(values, 'analyst');
  const result = await collectCase(
    {
      config,
      caseId,
      ...(analyst ? { analyst } : {}),
      targets,
      selectors,
      options: collectOptionsFrom(values),
      resume: values.resume === true,
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

/** Verification failure outranks everything; an interrupted run is partial at best. */
export function collectExitCode(result: CollectCaseResult): number {
  if (result.interrupted) return Math.max(EXIT.PARTIAL, exitCodeForOutcomes(result.outcomes));
  if (!result.verify?.ok) return EXIT.VERIFY_FAILED;
  // The case is valid here, but the copy that was asked for is not there: not a silent success.
  if (result.copy && !result.copy.ok) return EXIT.COPY_FAILED;
  return exitCodeForOutcomes(result.outcomes);
}

export function collectJson(result: CollectCaseResult, exitCode: number): Record<string, unknown> {
  return {
    caseId: result.caseId,
    caseDir: result.caseDir,
    analyst: result.analyst,
    keyFingerprint: result.keyFingerprint ?? null,
    ledgerHead: result.verify?.head ? formatHead(result.verify.head) : null,
    outcomes: result.outcomes,
    summary: result.summary,
    verify: result.verify ?? null,
    ...(result.copy ? { copy: result.copy } : {}),
    interrupted: result.interrupted,
    exitCode,
  };
}

export function renderCollect(result: CollectCaseResult): string {
  return [
    `Case ${result.caseId} (analyst ${result.analyst})`,
    renderOutcomes(result.outcomes),
    renderSummary(result.summary),
    result.verify
      ? renderVerify(result.verify)
      : `Interrupted: the case was left open. Finish it with the same command and --resume (custody collect --case ${result.caseId} --resume ...).`,
    ...(result.copy ? [renderCopy(result.copy)] : []),
    `Case folder: ${result.caseDir}`,
    ...renderKeepApart(result.keyFingerprint, result.verify?.head),
  ].join('\n');
}
