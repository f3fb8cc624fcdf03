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
  // Automation asked for JSON: it gets a document even when no command could run, wherever it put
  // --json (before the command, or with none), also when it gave --json a value (--json=yes: refused).
  const wantsJson = argv.some(isJsonFlag);
  // A --json before the command names no command: what follows it says what was asked for.
  const leadingJson = argv.findIndex((arg) => !isJsonFlag(arg));
  const [first, ...rest] = leadingJson === -1 ? [] : argv.slice(leadingJson);
  // `custody help collect` is `custody collect --help`, as in git and npm (what follows is kept: a --json
  // with a mistyped command still gets its document).
  if (first === 'help' && rest[0] !== undefined && !isJsonFlag(rest[0])) return runCli([rest[0], '--help', ...rest.slice(1)], io, deps);
  // Help asked for is output (stdout, exit 0), and wins over --json as it does for every command.
  if (first === '-h' || first === '--help' || first === 'help') {
    io.stdout(`${MAIN_HELP}\n`);
    return EXIT.OK;
  }
  if (first === '-v' || first === '--version' || first === 'version') {
    io.stdout(`custody ${packageVersion()}\n`);
    return EXIT.OK;
  }
  try {
    if (first === undefined) {
      // A usage error: its text goes to stderr, so a pipe reading stdout gets nothing it would take for output.
      io.stderr(`${MAIN_HELP}\n\n`);
      throw new CustodyError('E_INPUT', 'no command given (run custody --help for the list of commands)');
    }
    // Refused where every other error is, so a mistyped command with --json also gets a document.
    // An option where the command belongs (custody --resume …): say where options go, not only that it is no command.
    if (!isCommandName(first) && first.startsWith('-')) throw new CustodyError('E_INPUT', `"${first}" is an option, not a command: options go after the command (custody <command> ${first}; run custody --help for the list of commands)`);
    if (!isCommandName(first)) throw new CustodyError('E_INPUT', `unknown command "${first}" (run custody --help for the list of commands)`);
    if (leadingJson > 0) throw new CustodyError('E_INPUT', `--json goes after the command: custody ${first} --json (see custody ${first} --help)`);
    return await COMMANDS[first](rest, io, await deps());
  } catch (error) {
    reportError(error, io);
    const code = exitCodeFor(error);
    if (wantsJson) io.stdout(`${JSON.stringify({ error: errorRecord(error), exitCode: code }, null, 2)}\n`);
    return code;
  }
}

function isJsonFlag(arg: string): boolean {
  return arg === '--json' || arg.startsWith('--json=');
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
