#!/usr/bin/env node
// The process entry point: binds the CLI to stdin/stdout, Ctrl-C and the exit code. The only
// place that calls process.exit.
import { runCli } from './app.js';
import type { CliIo } from './io.js';

// The AWS SDK warns on every run under Node 20 about a future release; responders cannot act on
// it mid-incident, and it would bury the real output. Every other warning still shows.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = `${typeof warning === 'string' ? warning : warning.name} ${JSON.stringify(rest)}`;
  if (text.includes('NodeVersionSupportWarning')) return;
  (emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts += 1;
  // The first Ctrl-C lets running steps record how they ended and leaves the case resumable; the
  // second quits at once.
  if (interrupts > 1) process.exit(130);
  process.stderr.write('custody: interrupted; stopping cleanly, no new target starts (Ctrl-C again to quit at once)\n');
  controller.abort(new Error('interrupted by the user'));
});

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
