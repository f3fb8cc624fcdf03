// The exit codes are what scripts and playbooks branch on: README's two tables (the exit codes, and
// the error codes with the exit code each is thrown with) and `custody --help` must say exactly
// what the code does — every code there, none that is not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, EXIT, exitCodeForCode, type ErrorCode } from '../../src/core/errors.js';
import { cli, fakeWorld, removeWorlds } from './harness.js';

afterAll(removeWorlds);

const README = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
const EXIT_CODES = [...new Set(Object.values(EXIT))].sort((a, b) => a - b);

/** The rows of the first table after `heading` (a line of README), as their cells. */
function tableAfter(heading: string): string[][] {
  const after = README.split(`\n${heading}\n`)[1];
  expect(after, `README has "${heading}"`).toBeDefined();
  const table = after!.split('\n\n').find((block) => block.trim().startsWith('|'));
  expect(table, `a table follows "${heading}"`).toBeDefined();
  return table!
    .trim()
    .split('\n')
    .slice(2)
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
}

describe("README's exit codes", () => {
  it('the "Exit codes" table lists every exit code the CLI has, and no other', () => {
    const documented = tableAfter('### Exit codes').map(([code]) => Number(code));
    expect(documented).toEqual(EXIT_CODES);
  });

  it('the error-code table gives every error code, with the exit code it is thrown with', () => {
    const documented = tableAfter('The codes (`ErrorCode`; `ERROR_CODES` lists them at run time) of a thrown `CustodyError`, of a')
      .filter(([code]) => /^`E_[A-Z_]+`$/.test(code!))
      .map(([code, , exit]) => [code!.slice(1, -1), Number(exit)] as const);
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(ERROR_CODES.map((code: ErrorCode) => [code, exitCodeForCode(code)])));
  });

  it('custody with no command is a usage error: the help on stderr, and the bad-input exit code that README and --help give it', async () => {
    const run = await cli(fakeWorld(), []);
    expect([run.code, run.stdout]).toEqual([EXIT.BAD_INPUT, '']);
    expect(run.stderr).toMatch(/^custody — .*\n\nUsage: custody <command> \[options\]\n/);
    const [, meaning] = tableAfter('### Exit codes').find(([code]) => Number(code) === EXIT.BAD_INPUT)!;
    expect(meaning).toContain('no command or an unknown one (`custody` alone prints the help, on stderr)');
    const help = (await cli(fakeWorld(), ['--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toContain(`${EXIT.BAD_INPUT} bad input or configuration (also no command or an unknown one)`);
  });

  it('custody --help names the same exit codes', async () => {
    const run = await cli(fakeWorld(), ['--help']);
    const line = run.stdout.split('Exit codes:')[1]!.split('Set CUSTODY_DEBUG')[0]!;
    const named = [...line.matchAll(/(?:^|[:;])\s*(\d+) /g)].map((m) => Number(m[1]));
    expect(named).toEqual(EXIT_CODES);
  });
});
