/**
 * The run's `CollectOptions` from the providers' flag declarations: the CLI passes the parsed
 * flags (keyed by flag name), the library its caller's options (keyed by option name). One rule
 * for both: a boolean flag is `true` only when given (the library: `true` or `false`, anything
 * else refused); a flag with a value is its text (a path made absolute against `base`, default the
 * working directory), refused when empty; a given flag turns on what it implies.
 */
import { resolve } from 'node:path';
import { CustodyError } from '../core/errors.js';
import type { CollectOptions } from '../core/ports.js';
import type { ProviderFlag } from '../core/provider-module.js';

export function collectOptionsFor(flags: readonly ProviderFlag[], given: Readonly<Record<string, unknown>>, keyedBy: 'flag' | 'option', base = process.cwd()): CollectOptions {
  const out: Record<string, boolean | string> = {};
  const implied: string[] = [];
  for (const f of flags) {
    const v = given[keyedBy === 'flag' ? f.flag : f.option];
    // The library's options often come from a JSON event: a "true" there must not be taken as off.
    const library = keyedBy === 'option';
    if (f.value) {
      if (v === undefined) continue;
      if (typeof v !== 'string' || v === '') {
        throw new CustodyError(
          'E_INPUT',
          library ? `option ${f.option} needs ${f.value.placeholder} (a non-empty text), not ${JSON.stringify(v)}` : `--${f.flag} needs ${f.value.placeholder} (see custody collect --help)`,
        );
      }
      out[f.option] = f.value.path ? resolve(base, v) : v;
    } else {
      if (v !== undefined && typeof v !== 'boolean') {
        throw new CustodyError('E_INPUT', library ? `option ${f.option} takes true or false, not ${JSON.stringify(v)}` : `--${f.flag} takes no value`);
      }
      out[f.option] = v === true;
      if (v !== true) continue;
    }
    implied.push(...(f.implies ?? []));
  }
  for (const option of implied) out[option] = true;
  return out;
}
