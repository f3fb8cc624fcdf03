// The README's command sections say which flags each command takes: every flag a section gives its
// own command (not one quoted with another command, as in "`collect --case ID --resume`") must be
// one that command accepts, or a user typing it from the README gets "Unknown option"; and the
// other way round, every flag a command accepts is named in its section (or, for the flags every
// command shares, where the README says so for all), or the README's command list is incomplete.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_OPTIONS, isCommandName, parseCommandArgs, type CommandName } from '../../src/cli/args.js';
import { acceptedFlags } from './accepted-flags.js';

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

/** Each command's own section of README.md, heading and body up to the next section. */
function sections(): Map<CommandName, string> {
  const found = new Map<CommandName, string>();
  for (const section of README.split('\n### ').slice(1)) {
    const text = section.split('\n## ')[0]!;
    const heading = text.split('\n')[0]!;
    for (const m of heading.matchAll(/`custody ([a-z-]+)/g)) if (isCommandName(m[1]!)) found.set(m[1]!, (found.get(m[1]!) ?? '') + text);
  }
  return found;
}

/** The README's words for the flags every command takes: `## Commands` (--help, --json) and `## Configuration` (--config). */
function sharedText(): string {
  const part = (title: string): string => README.split(`\n## ${title}\n`)[1]!.split('\n### ')[0]!;
  return part('Commands') + part('Configuration');
}

// `plan` takes collect's inputs, and its section says so ("Same inputs as `collect`", nothing to resume).
const DOCUMENTED_WITH: Partial<Record<CommandName, CommandName>> = { plan: 'collect' };

describe("README's command list", () => {
  it('names every flag each command accepts', () => {
    const own = sections();
    const shared = sharedText();
    const named = (text: string, flag: string): boolean => new RegExp(String.raw`(?<![\w-])--${flag}(?![\w-])`).test(text);
    const missing = COMMANDS.flatMap((command) => {
      const text = (own.get(command) ?? '') + (own.get(DOCUMENTED_WITH[command]!) ?? '');
      return acceptedFlags(command)
        .filter((flag) => !named(text, flag) && !(['help', 'json', 'config'].includes(flag) && named(shared, flag)))
        .map((flag) => `custody ${command} --${flag}`);
    });
    expect(missing).toEqual([]);
  });
});
