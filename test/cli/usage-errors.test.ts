// The edge of usage: a command line custody cannot run is a usage error whose text goes to stderr
// (stdout stays clean for a pipe), and a caller that gave --json anywhere gets one JSON document
// on stdout saying so. Help asked for is output, not an error: stdout, exit 0, text even with --json.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { cli, fakeWorld, removeWorlds } from './harness.js';

afterAll(removeWorlds);

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN_HELP_START = /^custody — .*\n\nUsage: custody <command> \[options\]\n/;

/** The error document every command prints with --json when it cannot run (README, "JSON documents"). */
function errorDocument(message: string | RegExp): unknown {
  return { error: { code: 'E_INPUT', message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message) }, exitCode: EXIT.BAD_INPUT };
}

describe('custody with no command', () => {
  it('is a usage error: the help and the error line on stderr, nothing on stdout, exit 3', async () => {
    const run = await cli(fakeWorld(), []);
    expect([run.code, run.stdout]).toEqual([EXIT.BAD_INPUT, '']);
    expect(run.stderr).toMatch(MAIN_HELP_START);
    expect(run.stderr).toMatch(/\ncustody: no command given \(run custody --help for the list of commands\) \[E_INPUT\]\n$/);
  });

  it('with --json: one error document on stdout, the same exit code', async () => {
    const run = await cli(fakeWorld(), ['--json']);
    expect([run.code, JSON.parse(run.stdout)]).toEqual([EXIT.BAD_INPUT, errorDocument('no command given')]);
    expect(run.stderr).toMatch(/custody: no command given .*\[E_INPUT\]\n$/);
  });
});

describe('custody --help and custody help are asked-for output', () => {
  it.each([['--help'], ['-h'], ['help']])('custody %s prints the help on stdout and exits 0', async (flag) => {
    const run = await cli(fakeWorld(), [flag]);
    expect([run.code, run.stderr]).toEqual([EXIT.OK, '']);
    expect(run.stdout).toMatch(MAIN_HELP_START);
  });

  it.each([
    ['--help', '--json'],
    ['--json', '--help'],
    ['--json', '-h'],
    ['help', '--json'],
  ])('custody %s %s: the help wins over --json, in either order (text, exit 0, no document)', async (...argv) => {
    const run = await cli(fakeWorld(), argv);
    expect([run.code, run.stderr]).toEqual([EXIT.OK, '']);
    expect(run.stdout).toMatch(MAIN_HELP_START);
  });

  it.each([
    ['verify', '--help', '--json'],
    ['verify', '--json', '--help'],
    ['help', 'verify', '--json'],
  ])("custody %s %s %s: the command's help wins over --json, in either order", async (...argv) => {
    const run = await cli(fakeWorld(), argv);
    expect([run.code, run.stderr]).toEqual([EXIT.OK, '']);
    expect(run.stdout).toMatch(/^Usage: custody verify /);
  });
});

describe('with --json anywhere, a usage error is one JSON document on stdout', () => {
  it.each([
    [['--json', 'nosuch'], 'unknown command "nosuch"'],
    [['nosuch', '--json'], 'unknown command "nosuch"'],
    [['help', 'nosuch', '--json'], 'unknown command "nosuch"'],
    [['collect', '--case', 'IR-1', '--presrve', '--json'], "Unknown option '--presrve' (see custody collect --help)"],
    [['collect', '--json'], 'collect needs --case ID'],
    [['plan', '--json'], 'plan needs at least one TARGET'],
    [['verify', '--json'], 'verify needs exactly one CASE'],
    [['report', '--json'], /^report needs/],
    [['copy-case', '--json'], /^copy-case needs/],
    [['fetch-case', '--json'], 'fetch-case needs exactly one s3://BUCKET/CASE'],
    [['demo', 'extra', '--json'], 'demo takes no arguments'],
  ])('custody %j: the error on stderr, its document on stdout, exit 3', async (argv, message) => {
    const run = await cli(fakeWorld(), argv as string[]);
    expect([run.code, JSON.parse(run.stdout)]).toEqual([EXIT.BAD_INPUT, errorDocument(message)]);
    expect(run.stderr).toMatch(/^custody: .*\[E_INPUT\]\n$/);
  });

  it('custody --json COMMAND is refused (options follow the command), saying where --json goes, in a document', async () => {
    const world = fakeWorld();
    const run = await cli(world, ['--json', 'verify', 'IR-1']);
    const message = '--json goes after the command: custody verify --json (see custody verify --help)';
    expect([run.code, run.stderr, JSON.parse(run.stdout)]).toEqual([EXIT.BAD_INPUT, `custody: ${message} [E_INPUT]\n`, { error: { code: 'E_INPUT', message }, exitCode: EXIT.BAD_INPUT }]);
  });
});

describe('without --json, a usage error writes nothing on stdout', () => {
  it.each([[['nosuch']], [['--presrve']], [['collect', '--case', 'IR-1', '--presrve']], [['collect']], [['verify']], [['fetch-case']], [['demo', 'extra']]])(
    'custody %j: stderr only, exit 3',
    async (argv) => {
      const run = await cli(fakeWorld(), argv);
      expect([run.code, run.stdout]).toEqual([EXIT.BAD_INPUT, '']);
      expect(run.stderr).toMatch(/^custody: .*\[E_INPUT\]\n$/);
    },
  );
});

describe('as a user runs it (the process entry point)', () => {
  const custody = (argv: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...argv], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } });

  it('custody alone: exit 3, stdout empty, the help on stderr; custody --json: the error document on stdout', () => {
    const bare = custody([]);
    expect([bare.status, bare.stdout]).toEqual([EXIT.BAD_INPUT, '']);
    expect(bare.stderr).toMatch(MAIN_HELP_START);
    const json = custody(['--json']);
    expect([json.status, JSON.parse(json.stdout)]).toEqual([EXIT.BAD_INPUT, errorDocument('no command given')]);
  });
});

describe('an option where the command belongs', () => {
  it('says options go after the command (exit 3; with --json, the error document)', async () => {
    const run = await cli(fakeWorld(), ['--presrve', 'INC-1']);
    expect([run.code, run.stdout]).toEqual([EXIT.BAD_INPUT, '']);
    expect(run.stderr).toContain('custody: "--presrve" is an option, not a command: options go after the command (custody <command> --presrve; run custody --help for the list of commands) [E_INPUT]');
    const json = await cli(fakeWorld(), ['--presrve', '--json']);
    expect([json.code, JSON.parse(json.stdout)]).toEqual([EXIT.BAD_INPUT, errorDocument('options go after the command')]);
  });
});
