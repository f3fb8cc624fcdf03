// Each command's --help is where a user looks for what it takes: every flag the command accepts
// (its own and the providers') must be shown there, or it works without anyone knowing it exists.
import { afterAll, describe, expect, it } from 'vitest';
import { COMMAND_OPTIONS, type CommandName } from '../../src/cli/args.js';
import { acceptedFlags } from './accepted-flags.js';
import { cli, fakeWorld, removeWorlds } from './harness.js';

afterAll(removeWorlds);

describe('custody COMMAND --help', () => {
  it.each(Object.keys(COMMAND_OPTIONS) as CommandName[])('%s --help shows every flag the command accepts', async (command) => {
    const run = await cli(fakeWorld(), [command, '--help']);
    const shown = new Set([...run.stdout.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => m[1]!));
    expect(acceptedFlags(command).filter((flag) => !shown.has(flag))).toEqual([]);
  });
});
