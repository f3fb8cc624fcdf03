import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { CustodyConfig } from '../../providers/config.js';
import { CustodyError, EXIT, exitCodeForFailedCopy } from '../../core/errors.js';
import { parseCommandArgs, stringValue } from '../args.js';
import { resolveCaseDir } from '../case-arg.js';
import { DEFAULT_CONFIG_FILE, loadCliConfig } from '../config-source.js';
import type { CopyOutcome } from '../../app/deps.js';
import type { CliDeps } from '../deps.js';
import { COPY_CASE_HELP, FETCH_CASE_HELP } from '../help.js';
import type { CliIo } from '../io.js';
import { renderCopy, renderVerify } from '../render.js';
import { analystValue } from './collect.js';

/** `custody copy-case CASE_DIR`: the copy collect makes when the bucket is configured, or its retry. */
export async function runCopyCaseCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const parsed = parseCommandArgs('copy-case', args);
  const { values } = parsed;
  if (values.help) {
    io.stdout(`${COPY_CASE_HELP}\n`);
    return EXIT.OK;
  }
  // A blank --analyst is a mistake (an unset variable), refused as collect refuses it: the copy's
  // ledger entries would name nobody.
  const analyst = analystValue(stringValue(values, 'analyst'));
  const caseDir = await resolveCaseDir('copy-case', parsed, io);
  const { config } = loadCliConfig(stringValue(values, 'config'), io.env, io.cwd);
  if (!config.aws?.evidenceBucket) {
    throw new CustodyError('E_CONFIG', 'aws.evidenceBucket is not configured: there is no bucket to copy the case to (see docs/deploy-aws.md)');
  }
  if (!deps.copyCase) throw new CustodyError('E_UNSUPPORTED', 'this build cannot copy cases');
  const actor = analyst ?? config.analyst ?? (await deps.callerIdentity(config))?.arn;
  if (!actor) throw new CustodyError('E_CONFIG', 'no analyst: pass --analyst NAME or set "analyst" in the config');
  const copy = await deps.copyCase({ config, caseDir, caseId: caseIdOf(caseDir), actor, ...(io.signal ? { signal: io.signal } : {}) });
  const exitCode = copyExitCode(copy);
  if (values.json === true) io.stdout(`${JSON.stringify({ caseDir, copy, exitCode }, null, 2)}\n`);
  else io.stdout(`${renderCopy(copy)}\n`);
  return exitCode;
}

function copyExitCode(copy: CopyOutcome): number {
  return copy.ok ? EXIT.OK : exitCodeForFailedCopy(copy.error?.code);
}

/** `custody fetch-case s3://BUCKET/CASE --dir DIR`: restore, then verify offline. */
export async function runFetchCaseCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseCommandArgs('fetch-case', args);
  if (values.help) {
    io.stdout(`${FETCH_CASE_HELP}\n`);
    return EXIT.OK;
  }
  const url = positionals.length === 1 ? positionals[0] : undefined;
  if (!url) throw new CustodyError('E_INPUT', 'fetch-case needs exactly one s3://BUCKET/CASE (see custody fetch-case --help)');
  const dirFlag = stringValue(values, 'dir');
  if (!dirFlag) throw new CustodyError('E_INPUT', 'fetch-case needs --dir DIR, a folder that does not exist yet (see custody fetch-case --help)');
  if (!deps.fetchCase) throw new CustodyError('E_UNSUPPORTED', 'this build cannot fetch cases');
  const fetched = await deps.fetchCase(url, resolve(io.cwd, dirFlag), optionalConfig(stringValue(values, 'config'), io));
  const verify = await deps.verifyCase(fetched.dir);
  const exitCode = verify.ok ? EXIT.OK : EXIT.VERIFY_FAILED;
  if (values.json === true) io.stdout(`${JSON.stringify({ url, dir: fetched.dir, objects: fetched.objects, verify, exitCode }, null, 2)}\n`);
  else io.stdout(`restored ${fetched.objects} objects from ${url} into ${fetched.dir}\n${renderVerify(verify)}\n`);
  return exitCode;
}

/**
 * The configuration when there is one (`--config`, `$CUSTODY_CONFIG`, `./custody.config.json`):
 * reading a copy needs only an endpoint and a region, which the AWS environment can also give.
 */
export function optionalConfig(flag: string | undefined, io: CliIo): CustodyConfig | undefined {
  if (flag === undefined && !io.env.CUSTODY_CONFIG && !existsSync(resolve(io.cwd, DEFAULT_CONFIG_FILE))) return undefined;
  return loadCliConfig(flag, io.env, io.cwd).config;
}

/** The case id the ledger was opened with (the folder's name if the ledger cannot say). */
function caseIdOf(caseDir: string): string {
  try {
    const first = readFileSync(join(caseDir, 'ledger.jsonl'), 'utf8').split('\n', 1)[0] ?? '';
    const caseId = (JSON.parse(first) as { data?: { caseId?: unknown } }).data?.caseId;
    if (typeof caseId === 'string' && caseId) return caseId;
  } catch {
    // fall through: copyCase reports the unreadable ledger itself
  }
  return basename(caseDir);
}
