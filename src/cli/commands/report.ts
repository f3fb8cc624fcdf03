import { resolve } from 'node:path';
import { CustodyError, EXIT } from '../../core/errors.js';
import { showGivenPath } from '../../custody/untrusted-text.js';
import { parseCommandArgs, stringValue } from '../args.js';
import { resolveCaseDir } from '../case-arg.js';
import type { CliDeps } from '../deps.js';
import { REPORT_HELP } from '../help.js';
import type { CliIo } from '../io.js';
import { firstError, problemLocation } from '../render.js';

/** `custody report CASE_DIR [--out DIR]`: writes report.md and report.html, prints their paths. */
export async function runReportCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const parsed = parseCommandArgs('report', args);
  const { values } = parsed;
  if (values.help) {
    io.stdout(`${REPORT_HELP}\n`);
    return EXIT.OK;
  }
  const caseDir = await resolveCaseDir('report', parsed, io);
  const out = stringValue(values, 'out');
  if (out === '') throw new CustodyError('E_INPUT', '--out needs a folder (see custody report --help)');
  const { verify, ...paths } = await deps.renderReport(caseDir, out === undefined ? {} : { outDir: resolve(io.cwd, out) });
  const verified = verify === undefined || verify.ok;
  const exitCode = verified ? EXIT.OK : EXIT.VERIFY_FAILED;
  if (values.json === true) io.stdout(`${JSON.stringify({ caseDir, report: paths, verify: verify ?? null, exitCode }, null, 2)}\n`);
  else io.stdout(`${paths.markdown}\n${paths.html}\n`);
  if (!verified) {
    const first = firstError(verify);
    io.stderr(
      `custody: ${showGivenPath(caseDir)} does not verify${first ? ` (first problem: ${problemLocation(first)}: ${first.message})` : ''}; the report says so at the top [E_VERIFY]\n`,
    );
  }
  return exitCode;
}
