import { resolve } from 'node:path';
import { EXIT } from '../../core/errors.js';
import { parseCommandArgs } from '../args.js';
import type { CliDeps } from '../deps.js';
import { REPORT_HELP } from '../help.js';
import type { CliIo } from '../io.js';
import { onlyCaseDir } from './verify.js';

/** `custody report CASE_DIR`: writes report.md and report.html, prints their paths. */
export async function runReportCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseCommandArgs('report', args);
  if (values.help) {
    io.stdout(`${REPORT_HELP}\n`);
    return EXIT.OK;
  }
  const caseDir = resolve(io.cwd, onlyCaseDir(positionals, 'report'));
  const paths = await deps.renderReport(caseDir);
  if (values.json === true) io.stdout(`${JSON.stringify({ caseDir, report: paths }, null, 2)}\n`);
  else io.stdout(`${paths.markdown}\n${paths.html}\n`);
  return EXIT.OK;
}
