// Runs the real CLI in a child process (node --import tsx src/cli/main.ts), as a responder would.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ChildRun {
  child: ChildProcess;
  done: Promise<ChildResult>;
}

/** Starts `custody <args>` in a child process with `env` added to a clean environment. */
export function startCli(args: string[], env: Record<string, string>, cwd = ROOT): ChildRun {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ChildResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs `custody <args>` to the end. */
export function runCliChild(args: string[], env: Record<string, string>, cwd?: string): Promise<ChildResult> {
  return startCli(args, env, cwd).done;
}

/** Lines in a ledger file now (0 when it does not exist yet). */
export function ledgerLines(path: string): number {
  if (!existsSync(path)) return 0;
  return readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '').length;
}

/**
 * Kills the child with SIGKILL as soon as the ledger has at least `lines` entries (checked every
 * few ms): an interruption at a chosen point of the run. Resolves with the lines seen at the kill,
 * or with undefined if the child finished first.
 */
export async function killAfterLedgerLines(run: ChildRun, ledgerPath: string, lines: number): Promise<number | undefined> {
  let finished = false;
  void run.done.then(() => (finished = true));
  while (!finished) {
    const seen = ledgerLines(ledgerPath);
    if (seen >= lines) {
      run.child.kill('SIGKILL');
      await run.done;
      return seen;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return undefined;
}
