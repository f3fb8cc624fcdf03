// Every help text lays its rows out in columns: in each section of `TERM  description` rows
// (Commands:, Options:, Targets:, …) every description, and every wrapped line of one, starts in
// the same column, whatever flags the providers add.
import { afterAll, describe, expect, it } from 'vitest';
import { COMMAND_OPTIONS } from '../../src/cli/args.js';
import { EXIT } from '../../src/core/errors.js';
import { cli, fakeWorld, removeWorlds } from './harness.js';

afterAll(removeWorlds);

interface Misplaced {
  section: string;
  line: string;
  column: number;
  expected: number;
}

/**
 * The lines of each row section whose description does not start in the section's column (the
 * first row's). A section is a line ending in ':' followed by indented lines; a row is `  TERM`
 * then two or more spaces and its description, or `  TERM` alone with its description on the
 * next line; a line indented deeper continues the description above.
 */
function misplacedDescriptions(help: string): Misplaced[] {
  const misplaced: Misplaced[] = [];
  const lines = help.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i]!;
    if (!/^\S.*:$/.test(header)) continue;
    let expected: number | undefined;
    let pendingTerm = false;
    for (let j = i + 1; j < lines.length && /^ {2}/.test(lines[j]!); j++) {
      const line = lines[j]!;
      const isRow = /^ {2}\S/.test(line);
      if (isRow && pendingTerm) misplaced.push({ section: header, line: lines[j - 1]!, column: -1, expected: expected ?? -1 });
      let column: number;
      if (isRow) {
        const gap = /\S {2,}(?=\S)/.exec(line);
        if (!gap) {
          // The term alone: its description must follow on the next line.
          pendingTerm = true;
          continue;
        }
        column = gap.index + gap[0].length;
      } else {
        column = line.search(/\S/);
      }
      pendingTerm = false;
      expected ??= column;
      if (column !== expected) misplaced.push({ section: header, line, column, expected });
    }
    if (pendingTerm) misplaced.push({ section: header, line: '(a term with no description)', column: -1, expected: expected ?? -1 });
  }
  return misplaced;
}

describe('help columns', () => {
  it('the checker finds a description out of column, a continuation out of column, and passes aligned rows', () => {
    const aligned = 'Options:\n  --a        one\n  --bb       two\n             wrapped\n  --a-very-long-flag\n             three';
    expect(misplacedDescriptions(aligned)).toEqual([]);
    expect(misplacedDescriptions('Options:\n  --a      one\n  --long-flag  two').map((m) => m.line)).toEqual(['  --long-flag  two']);
    expect(misplacedDescriptions('Options:\n  --a      one\n          wrapped').map((m) => m.column)).toEqual([10]);
    // One space between a term and its description reads as a term without one.
    expect(misplacedDescriptions('Commands:\n  plan     show\n  preflight check\n  verify   check').map((m) => m.line)).toEqual(['  preflight check']);
  });

  it.each(Object.keys(COMMAND_OPTIONS))('custody %s --help: every option\'s description starts in its section\'s column', async (command) => {
    const run = await cli(fakeWorld(), [command, '--help']);
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain('Options:');
    expect(misplacedDescriptions(run.stdout)).toEqual([]);
  });

  it('custody --help: the commands and the options each start their descriptions in one column', async () => {
    const run = await cli(fakeWorld(), ['--help']);
    expect(run.stdout).toContain('Commands:');
    expect(misplacedDescriptions(run.stdout)).toEqual([]);
  });
});
