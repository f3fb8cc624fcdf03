/**
 * The CASE argument of verify and report: a case folder's path, or a case id looked up in the
 * configured `casesDir`. Either way the result must be a case folder (exit 3 otherwise).
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { validateCaseId } from '../core/case-id.js';
import { CustodyError, isCustodyError } from '../core/errors.js';
import { assertCaseFolder } from '../custody/case-folder.js';
import { stringValue, type ParsedCommand } from './args.js';
import { loadCliConfig } from './config-source.js';
import type { CliIo } from './io.js';

/**
 * Resolves `custody <command> CASE`: an existing path is taken as the case folder; otherwise a
 * valid case id is looked up in `casesDir` of the configuration (`--config`, `$CUSTODY_CONFIG`,
 * `./custody.config.json`). Throws `E_INPUT` (or `E_CONFIG`) when neither gives a case folder.
 */
export async function resolveCaseDir(command: string, parsed: ParsedCommand, io: CliIo): Promise<string> {
  const { positionals, values } = parsed;
  if (positionals.length !== 1 || !positionals[0]) {
    throw new CustodyError('E_INPUT', `${command} needs exactly one CASE (a case folder or a case id; see custody ${command} --help)`);
  }
  const given = positionals[0];
  const path = resolve(io.cwd, given);
  if (!exists(path) && looksLikeCaseId(given)) {
    const dir = join(casesDirFrom(stringValue(values, 'config'), io, given), given);
    await assertCaseFolder(dir);
    return dir;
  }
  await assertCaseFolder(path);
  return path;
}

function casesDirFrom(configFlag: string | undefined, io: CliIo, caseId: string): string {
  try {
    return loadCliConfig(configFlag, io.env, io.cwd).config.casesDir;
  } catch (error) {
    if (!isCustodyError(error) || configFlag !== undefined) throw error;
    throw new CustodyError(
      'E_INPUT',
      `there is no folder ${resolve(io.cwd, caseId)}, and no configuration to look up case id ${caseId} in its casesDir (${error.message})`,
      { cause: error },
    );
  }
}

function looksLikeCaseId(text: string): boolean {
  try {
    validateCaseId(text);
    return true;
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
