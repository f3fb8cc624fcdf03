#!/usr/bin/env node
// The process entry point: binds the CLI to stdin/stdout, Ctrl-C and SIGTERM, and the exit code. The only
// place that calls process.exit.
import { runCli } from './app.js';
import type { CliIo } from './io.js';

const controller = new AbortController();
let stops = 0;
// What a first stop does, in words true of every command and every phase (collect before or while
// collecting, collect's copy of the closed case to the evidence bucket, copy-case): a stop can
// arrive in any of them, and collect's copy runs under collect's command line, so the words
// cannot depend on the command line.
const STOPPING =
  'stopping cleanly: no new target or upload starts, what is in flight is finished and recorded, and the command then says how to continue (custody collect --resume, or custody copy-case for a closed case)';
/**
 * Ctrl-C (SIGINT) and SIGTERM (what containers, Lambda and Kubernetes Jobs send before killing)
 * stop the same way: the first lets running steps record how they ended and leaves the case
 * resumable (or, for copy-case, the copy to be finished by another copy-case); a second of either
 * quits at once.
 */
function stopOn(signal: 'SIGINT' | 'SIGTERM', exitCode: number, how: string): void {
  process.on(signal, () => {
    stops += 1;
    if (stops > 1) process.exit(exitCode);
    process.stderr.write(`custody: ${how}; ${STOPPING} (${signal === 'SIGINT' ? 'Ctrl-C' : 'send SIGTERM'} again to quit at once)\n`);
    controller.abort(new Error(signal === 'SIGINT' ? 'interrupted by the user' : 'stopped by SIGTERM'));
  });
}
stopOn('SIGINT', 130, 'interrupted');
stopOn('SIGTERM', 143, 'SIGTERM received');

const io: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
};

const code = await runCli(process.argv.slice(2), io, async () => (await import('./default-deps.js')).defaultDeps());
// Let stdout drain before leaving: a JSON document piped to another program must arrive whole.
process.stdout.write('', () => process.exit(code));
