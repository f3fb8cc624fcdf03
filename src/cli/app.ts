/**
 * The CLI as a function: arguments in, exit code out. Only main.ts touches the process; tests
 * call `runCli` with their own IO and dependencies.
 */
import { CustodyError, EXIT, exitCodeFor, isCustodyError } from '../core/errors.js';
import { withoutUrlCredentials } from '../core/url-credentials.js';
import { isCommandName } from './args.js';
import type { CommandName } from './args.js';
import { runCollectCommand } from './commands/collect.js';
import { runCopyCaseCommand, runFetchCaseCommand } from './commands/copy-case.js';
import { runDemoCommand } from './commands/demo.js';
import { runPlanCommand } from './commands/plan.js';
import { runPreflightCommand } from './commands/preflight.js';
import { runReportCommand } from './commands/report.js';
import { runVerifyCommand } from './commands/verify.js';
import type { CliDeps } from './deps.js';
import { MAIN_HELP } from './help.js';
import type { CliIo } from './io.js';

type Command = (args: readonly string[], io: CliIo, deps: CliDeps) => Promise<number>;

const COMMANDS: Record<CommandName, Command> = {
  collect: runCollectCommand,
  plan: runPlanCommand,
  preflight: runPreflightCommand,
  verify: runVerifyCommand,
  report: runReportCommand,
  demo: runDemoCommand,
  'copy-case': runCopyCaseCommand,
  'fetch-case': runFetchCaseCommand,
};

export { packageVersion } from '../app/services.js';
import { packageVersion } from '../app/services.js';

/** Runs one command line. Errors become `custody: <message>` on stderr and their exit code. */
export async function runCli(argv: readonly string[], io: CliIo, deps: () => Promise<CliDeps> | CliDeps): Promise<number> {
  const [first, ...rest] = argv;
  // `custody help collect` is `custody collect --help`, as in git and npm.
  if (first === 'help' && rest[0] !== undefined) return runCli([rest[0], '--help'], io, deps);
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.stdout(`${MAIN_HELP}\n`);
    // No command is a usage error, the bad-input code every other bad argument gets (README, exit codes).
    return first === undefined ? EXIT.BAD_INPUT : EXIT.OK;
  }
  if (first === '-v' || first === '--version' || first === 'version') {
    io.stdout(`custody ${packageVersion()}\n`);
    return EXIT.OK;
  }
  try {
    // Refused where every other error is, so a mistyped command with --json also gets a document.
    if (!isCommandName(first)) throw new CustodyError('E_INPUT', `unknown command "${first}" (run custody --help for the list of commands)`);
    return await COMMANDS[first](rest, io, await deps());
  } catch (error) {
    reportError(error, io);
    const code = exitCodeFor(error);
    // Automation asked for JSON: it gets a document even when the command could not run, also when
    // it gave --json a value (--json=yes: refused, --json takes none).
    if (rest.some((arg) => arg === '--json' || arg.startsWith('--json='))) io.stdout(`${JSON.stringify({ error: errorRecord(error), exitCode: code }, null, 2)}\n`);
    return code;
  }
}

function errorRecord(error: unknown): Record<string, unknown> {
  if (isCustodyError(error)) return error.toRecord();
  return { code: 'E_INTERNAL', message: withoutUrlCredentials(error instanceof Error ? error.message : String(error)) };
}

function reportError(error: unknown, io: CliIo): void {
  // An unexpected error's text can quote a signed URL: its query is a credential (CustodyError's cut already).
  const message = withoutUrlCredentials(error instanceof Error ? error.message : String(error));
  const code = isCustodyError(error) ? error.code : 'E_INTERNAL';
  io.stderr(`custody: ${message} [${code}]\n`);
  if (io.env.CUSTODY_DEBUG === '1' && error instanceof Error && error.stack) {
    io.stderr(`${withoutUrlCredentials(error.stack)}\n`);
    // Not for a configuration error: its cause is a parser's message, which quotes the file's
    // lines (a kubeconfig's hold tokens and keys).
    const configError = isCustodyError(error) && error.code === 'E_CONFIG';
    if (!configError && error.cause instanceof Error && error.cause.stack) io.stderr(`caused by: ${withoutUrlCredentials(error.cause.stack)}\n`);
  }
}
