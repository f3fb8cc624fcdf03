#!/usr/bin/env node
// The process entry point: binds the CLI to stdin/stdout, Ctrl-C and SIGTERM, and the exit code. The only
// place that calls process.exit.
import { runCli } from './app.js';
import type { CliIo } from './io.js';

const controller = new AbortController();
let stops = 0;
// What a first stop does, in the terms of the command it stops: copy-case starts no target.
const stopping =
  process.argv[2] === 'copy-case'
    ? 'stopping the copy cleanly: the upload in flight is finished and recorded, nothing more is uploaded, and custody copy-case copies the rest'
    : 'stopping cleanly, no new target starts';
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
    process.stderr.write(`custody: ${how}; ${stopping} (${signal === 'SIGINT' ? 'Ctrl-C' : 'send SIGTERM'} again to quit at once)\n`);
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
