import { CustodyError, EXIT, isCustodyError } from '../../core/errors.js';
import { formatFingerprint, formatHead, parseHeadExpectation, parseKeyExpectation } from '../../custody/expectations.js';
import { parseCommandArgs, stringValue, type ParsedCommand } from '../args.js';
import { resolveCaseDir } from '../case-arg.js';
import type { AgainstOutcome, CliDeps, VerifyRequest } from '../deps.js';
import { VERIFY_HELP } from '../help.js';
import type { CliIo } from '../io.js';
import { problemLocation, renderAgainst, renderVerify, firstError } from '../render.js';
import { optionalConfig } from './copy-case.js';

/** `custody verify CASE [--expect-key K] [--expect-head SEQ:HASH] [--allow-open] [--against s3://BUCKET/CASE] [--json]`. */
export async function runVerifyCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const parsed = parseCommandArgs('verify', args);
  const { values } = parsed;
  if (values.help) {
    io.stdout(`${VERIFY_HELP}\n`);
    return EXIT.OK;
  }
  // What the verifier knows from elsewhere is checked before the case is read: a typo in it is
  // bad input (exit 3), never a verdict on the case.
  const request = verifyRequestFrom(values);
  const against = stringValue(values, 'against');
  if (against !== undefined && !deps.verifyAgainst) throw new CustodyError('E_UNSUPPORTED', 'this build cannot check a case against its copy');
  const caseDir = await resolveCaseDir('verify', parsed, io);
  const config = against !== undefined ? optionalConfig(stringValue(values, 'config'), io) : undefined;
  const result = await deps.verifyCase(caseDir, request);
  // The offline checks run first and unchanged; the copy is an extra check, never a substitute.
  let copy: AgainstOutcome | undefined;
  let copyError: CustodyError | undefined;
  if (against !== undefined) {
    try {
      copy = await deps.verifyAgainst!(caseDir, against, config);
    } catch (error) {
      // The offline verdict is said whatever stopped the copy check (no credentials, no network):
      // a case that fails is exit 4 and named, never hidden behind that error.
      if (!isCustodyError(error)) throw error;
      if (result.ok) {
        if (values.json !== true) io.stdout(`${renderVerify(result)}\n`);
        throw error;
      }
      copyError = error;
    }
  }
  const exitCode = result.ok && (copy?.ok ?? true) ? EXIT.OK : EXIT.VERIFY_FAILED;
  const notChecked = copyError ? { ok: false, url: against, error: copyError.toRecord() } : undefined;
  if (values.json === true) {
    const first = firstError(result);
    io.stdout(
      `${JSON.stringify(
        {
          ...result,
          ledgerHead: result.head ? formatHead(result.head) : null,
          keyFingerprint: result.fingerprint ? formatFingerprint(result.fingerprint) : null,
          firstProblem: first ? { ...first, location: problemLocation(first) } : null,
          ...(copy ? { against: copy } : notChecked ? { against: notChecked } : {}),
          exitCode,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    const copyLine = copy ? `${renderAgainst(copy)}\n` : copyError ? `not checked against its copy ${against}: ${copyError.message} [${copyError.code}]\n` : '';
    io.stdout(`${renderVerify(result)}\n${copyLine}`);
  }
  return exitCode;
}

function verifyRequestFrom(values: ParsedCommand['values']): VerifyRequest {
  const key = stringValue(values, 'expect-key');
  const head = stringValue(values, 'expect-head');
  return {
    ...(key !== undefined ? { expectKey: parseKeyExpectation(key) } : {}),
    ...(head !== undefined ? { expectHead: parseHeadExpectation(head) } : {}),
    ...(values['allow-open'] === true ? { allowOpen: true } : {}),
  };
}
