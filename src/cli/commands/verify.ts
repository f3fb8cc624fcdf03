import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CustodyError, EXIT } from '../../core/errors.js';
import { parseCommandArgs } from '../args.js';
import type { CliDeps } from '../deps.js';
import { VERIFY_HELP } from '../help.js';
import type { CliIo } from '../io.js';
import { problemLocation, renderVerify, firstError } from '../render.js';

/** `custody verify CASE_DIR [--json]`: exit 4 naming the first entry or file that does not match. */
export async function runVerifyCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseCommandArgs('verify', args);
  if (values.help) {
    io.stdout(`${VERIFY_HELP}\n`);
    return EXIT.OK;
  }
  const caseDir = resolve(io.cwd, onlyCaseDir(positionals, 'verify'));
  assertFolder(caseDir);
  const expectKey = typeof values['expect-key'] === 'string' ? values['expect-key'] : undefined;
  const result = await deps.verifyCase(caseDir, expectKey ? { expectKey } : {});
  const exitCode = result.ok ? EXIT.OK : EXIT.VERIFY_FAILED;
  if (values.json === true) {
    const first = firstError(result);
    io.stdout(`${JSON.stringify({ ...result, firstProblem: first ? { ...first, location: problemLocation(first) } : null, exitCode }, null, 2)}\n`);
  } else {
    io.stdout(`${renderVerify(result)}\n`);
  }
  return exitCode;
}

export function onlyCaseDir(positionals: readonly string[], command: string): string {
  if (positionals.length !== 1 || !positionals[0]) {
    throw new CustodyError('E_INPUT', `${command} needs exactly one CASE_DIR (see custody ${command} --help)`);
  }
  return positionals[0];
}

/** A path that is not a folder at all is a typo (exit 3), not a case that failed verification. */
export function assertFolder(path: string): void {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new CustodyError('E_INPUT', `there is no case folder at ${path}`, { resource: path });
}
