/**
 * Command-line parsing with node:util parseArgs. Unknown flags and missing values are bad input
 * (`E_INPUT`, exit 3) with a message that says what to type instead.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { CustodyError } from '../core/errors.js';
import type { CollectOptions } from '../core/ports.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const COLLECT_FLAGS = {
  preserve: { type: 'boolean' },
  screenshot: { type: 'boolean' },
  isolate: { type: 'boolean' },
  'include-env': { type: 'boolean' },
  'retrieve-checkpoint': { type: 'boolean' },
  hash: { type: 'boolean' },
  'hash-source': { type: 'boolean' },
  image: { type: 'string' },
} as const satisfies Options;

export const COMMAND_OPTIONS = {
  collect: {
    case: { type: 'string' },
    analyst: { type: 'string' },
    config: { type: 'string' },
    select: { type: 'string', multiple: true },
    resume: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    ...COLLECT_FLAGS,
  },
  plan: {
    case: { type: 'string' },
    analyst: { type: 'string' },
    config: { type: 'string' },
    select: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    ...COLLECT_FLAGS,
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
    account: { type: 'string', multiple: true },
    cluster: { type: 'string', multiple: true },
    namespace: { type: 'string', multiple: true },
    analyst: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  report: { json: { type: 'boolean' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
    const options: Options = COMMAND_OPTIONS[command];
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

/** The per-run options the collect flags choose. */
export function collectOptionsFrom(values: ParsedCommand['values']): CollectOptions {
  return {
    preserve: values.preserve === true,
    screenshot: values.screenshot === true,
    isolate: values.isolate === true,
    includeEnv: values['include-env'] === true,
    retrieveCheckpoint: values['retrieve-checkpoint'] === true,
    ...diskHashOptionsFrom(values),
  };
}

/** `--hash`, `--hash-source`, `--image DIR` (the last two imply `--hash`). */
function diskHashOptionsFrom(values: ParsedCommand['values']): Pick<CollectOptions, 'hash' | 'hashSource' | 'imageDir'> {
  const image = values.image;
  if (image === '') throw new CustodyError('E_INPUT', '--image needs a folder to write raw images into (see custody collect --help)');
  const out: Pick<CollectOptions, 'hash' | 'hashSource' | 'imageDir'> = {};
  if (values.hash === true || values['hash-source'] === true || typeof image === 'string') out.hash = true;
  if (values['hash-source'] === true) out.hashSource = true;
  if (typeof image === 'string') out.imageDir = resolve(image);
  return out;
}

export function stringValue(values: ParsedCommand['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listValue(values: ParsedCommand['values'], name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : [];
}
