/**
 * Command-line parsing with node:util parseArgs. Unknown flags and missing values are bad input
 * (`E_INPUT`, exit 3) with a message that says what to type instead.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { CustodyError } from '../core/errors.js';
import type { CollectOptions } from '../core/ports.js';
import { REGISTRY } from '../providers/registry.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export const COMMAND_OPTIONS = {
  collect: {
    case: { type: 'string' },
    analyst: { type: 'string' },
    config: { type: 'string' },
    select: { type: 'string', multiple: true },
    resume: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  plan: {
    case: { type: 'string' },
    analyst: { type: 'string' },
    config: { type: 'string' },
    select: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  verify: {
    json: { type: 'boolean' },
    'expect-key': { type: 'string' },
    'expect-head': { type: 'string' },
    'allow-open': { type: 'boolean' },
    against: { type: 'string' },
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  'copy-case': { config: { type: 'string' }, analyst: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  'fetch-case': { config: { type: 'string' }, dir: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  preflight: {
    config: { type: 'string' },
    analyst: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  report: { json: { type: 'boolean' }, config: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  demo: {
    keep: { type: 'boolean' },
    json: { type: 'boolean' },
    dir: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
} as const satisfies Record<string, Options>;

export type CommandName = keyof typeof COMMAND_OPTIONS;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMAND_OPTIONS, name);
}

export interface ParsedCommand {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parses one command's arguments; throws `E_INPUT` naming the offending flag. */
export function parseCommandArgs(command: CommandName, args: readonly string[]): ParsedCommand {
  try {
    const options: Options = { ...COMMAND_OPTIONS[command], ...providerOptions(command) };
    const { values, positionals, tokens } = parseArgs({
      args: [...args],
      options,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
    refuseRepeatedFlags(command, options, tokens);
    return { values: values as ParsedCommand['values'], positionals };
  } catch (cause) {
    if (cause instanceof CustodyError) throw cause;
    const message = (cause as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new CustodyError('E_INPUT', `${message} (see custody ${command} --help)`, { cause });
  }
}

/**
 * parseArgs keeps the last of a repeated single-valued flag: `--case A --case B` would silently
 * collect into B. Only flags declared `multiple` (targets' `--select`, `--account`, …) repeat.
 */
function refuseRepeatedFlags(command: CommandName, options: Options, tokens: ReadonlyArray<{ kind: string; name?: string }>): void {
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined) continue;
    if (options[token.name]?.multiple === true) continue;
    if (seen.has(token.name)) {
      throw new CustodyError('E_INPUT', `--${token.name} is given more than once; give it once (see custody ${command} --help)`);
    }
    seen.add(token.name);
  }
}

/** The flags the providers add: their collect/plan options and their preflight scopes. */
function providerOptions(command: CommandName): Options {
  if (command === 'collect' || command === 'plan') {
    return Object.fromEntries(REGISTRY.flags().map((f) => [f.flag, { type: f.value ? 'string' : 'boolean' }]));
  }
  if (command === 'preflight') {
    return Object.fromEntries(REGISTRY.modules.flatMap((m) => m.preflightScopes ?? []).map((s) => [s.flag, { type: 'string', multiple: true }]));
  }
  return {};
}

/** The per-run options the providers' collect flags choose (every flag present, false when not given). */
export function collectOptionsFrom(values: ParsedCommand['values']): CollectOptions {
  return REGISTRY.collectOptions(values, 'flag');
}

export function stringValue(values: ParsedCommand['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listValue(values: ParsedCommand['values'], name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : [];
}
