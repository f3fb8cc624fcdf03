// The README's command sections say which flags each command takes: every flag a section gives its
// own command (not one quoted with another command, as in "`collect --case ID --resume`") must be
// one that command accepts, or a user typing it from the README gets "Unknown option".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_OPTIONS, isCommandName, parseCommandArgs, type CommandName } from '../../src/cli/args.js';

const README = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
const COMMANDS = Object.keys(COMMAND_OPTIONS) as CommandName[];

function accepts(command: CommandName, flag: string): boolean {
  try {
    // A flag that takes a value gets one; a boolean flag given a value is refused by parseArgs.
    parseCommandArgs(command, [`--${flag}`]);
    return true;
  } catch {
    try {
      parseCommandArgs(command, [`--${flag}`, 'x']);
      return true;
    } catch (error) {
      return !/Unknown option/.test((error as Error).message);
    }
  }
}

const FLAG = /(?<![\w-])--([a-z][a-z-]+)/g;
const NAMES_A_COMMAND = new RegExp(String.raw`(^|[\s(\x60])(${COMMANDS.join('|')})\s`);

/** `### \`custody A …\`, \`custody B …\`` sections, with the flags each gives its own commands. */
function sectionFlags(): Array<{ commands: CommandName[]; flag: string; where: string }> {
  const found: Array<{ commands: CommandName[]; flag: string; where: string }> = [];
  for (const section of README.split('\n### ').slice(1)) {
    const [heading = '', ...body] = section.split('\n');
    const commands = [...heading.matchAll(/`custody ([a-z-]+)/g)].map((m) => m[1]!).filter(isCommandName);
    if (commands.length === 0) continue;
    const text = body.join('\n').split('\n## ')[0]!;
    // A code block's `custody X …` lines are X's own.
    const prose = text.replace(/```[\s\S]*?```/g, (block) => {
      for (const line of block.matchAll(/custody ([a-z-]+)(.*)/g)) {
        if (!isCommandName(line[1]!)) continue;
        for (const m of line[2]!.matchAll(FLAG)) found.push({ commands: [line[1]!], flag: m[1]!, where: `${heading} (code)` });
      }
      return '';
    });
    // Quoted spans naming another command speak of that command's flags.
    const own = prose.replace(/`[^`]*`/g, (span) => (NAMES_A_COMMAND.test(span) ? '' : span));
    for (const m of own.matchAll(FLAG)) found.push({ commands, flag: m[1]!, where: heading });
  }
  return found;
}

describe("README's command sections", () => {
  it('name only flags their command accepts', () => {
    const found = sectionFlags();
    expect(found.length).toBeGreaterThan(20);
    const wrong = found.filter((f) => !f.commands.some((c) => accepts(c, f.flag))).map((f) => `${f.where}: --${f.flag}`);
    expect(wrong).toEqual([]);
  });
});
