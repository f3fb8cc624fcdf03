/**
 * `custody preflight [options] [TARGET...]`: before an incident, checks that collection would be
 * allowed, changing nothing. Every configured provider adds its rows (AWS: account × region ×
 * check; Kubernetes: cluster × namespace × operation, with what needs it) and its scoping flags.
 */
import { CustodyError, EXIT } from '../../core/errors.js';
import { REGISTRY, type Registry } from '../../providers/registry.js';
import { listValue, parseCommandArgs, stringValue } from '../args.js';
import { loadCliConfig } from '../config-source.js';
import { analystValue } from './collect.js';
import type { CliDeps, PreflightInput, PreflightRowView } from '../deps.js';
import { preflightHelp } from '../help.js';
import type { CliIo } from '../io.js';

/** Runs `custody preflight`; `deps.preflight` runs the checks (tests drive it against a lab). */
export async function runPreflightCommand(args: readonly string[], io: CliIo, deps: Pick<CliDeps, 'preflight'>, registry: Registry = REGISTRY): Promise<number> {
  const { values, positionals } = parseCommandArgs('preflight', args);
  if (values.help) {
    io.stdout(`${preflightHelp()}\n`);
    return EXIT.OK;
  }
  const targets = positionals.map((raw) => registry.parseTarget(raw));
  const scopes = Object.fromEntries(registry.modules.flatMap((m) => (m.preflightScopes ?? []).map((s) => [s.flag, listValue(values, s.flag)] as const)));
  const { config } = loadCliConfig(stringValue(values, 'config'), io.env, io.cwd);
  if (registry.configured(config).length === 0) {
    throw new CustodyError('E_CONFIG', `the config has no provider section (${registry.modules.map((m) => `"${m.name}"`).join(', ')}): there is nothing to check`);
  }
  const analyst = analystValue(stringValue(values, 'analyst'));
  const input: PreflightInput = { config, targets, scopes, ...(analyst ? { analyst } : {}) };
  // Bad scoping (an account outside allowedAccounts, an unknown cluster) is refused before any call.
  registry.checkPreflight(input);
  const rows = await deps.preflight(input);
  const exitCode = preflightExitCode(rows);
  if (values.json === true) io.stdout(`${JSON.stringify({ rows, exitCode }, null, 2)}\n`);
  else io.stdout(`${renderPreflight(rows, registry)}\n`);
  return exitCode;
}

/** Rows that must pass for collection to work (rows for options or just-in-time roles are advisory). */
function isRequired(row: PreflightRowView): boolean {
  return row.need === undefined || row.need === 'required';
}

/** 2 when a required check is denied (collection would fail), 1 when one could not be made, else 0. */
export function preflightExitCode(rows: readonly PreflightRowView[]): number {
  const required = rows.filter(isRequired);
  if (required.some((r) => r.result === 'denied')) return EXIT.FAILED;
  if (required.some((r) => r.result === 'error')) return EXIT.PARTIAL;
  return EXIT.OK;
}

/** One aligned table per provider (in registry order) and a summary line. */
export function renderPreflight(rows: readonly PreflightRowView[], registry: Registry = REGISTRY): string {
  if (rows.length === 0) return 'Nothing to check.';
  const blocks: string[] = [];
  const names = [...registry.modules.map((m) => m.name), ...rows.map((r) => r.provider)];
  for (const name of [...new Set(names)]) {
    const own = rows.filter((r) => r.provider === name);
    if (own.length === 0) continue;
    const [first, second] = registry.modules.find((m) => m.name === name)?.preflightColumns ?? ['SCOPE', 'WHERE'];
    const withNeed = own.some((r) => r.need !== undefined);
    blocks.push(
      table(
        [first, second, 'CHECK', 'RESULT', 'ACTION', ...(withNeed ? ['NEEDED'] : []), 'DETAIL'],
        own.map((r) => [r.scope[0], r.scope[1], r.check, r.result, r.action, ...(withNeed ? [r.need ?? 'required'] : []), r.detail]),
      ),
    );
  }
  const required = rows.filter(isRequired);
  const denied = required.filter((r) => r.result === 'denied').length;
  const unchecked = required.filter((r) => r.result === 'error').length;
  // Warnings (an optional safeguard not in place) never decide the exit code, but are not hidden.
  const warnings = rows.filter((r) => r.result === 'warning').length;
  const warned = warnings === 0 ? '' : ` ${warnings} optional safeguard${warnings === 1 ? ' is' : 's are'} not in place (warning rows).`;
  // Roles bound only during an incident (Kubernetes' per-node ones) are not bound before one: said, not failed.
  const unbound = rows.filter((r) => r.result === 'not bound').length;
  const later = unbound === 0 ? '' : ` ${unbound} role${unbound === 1 ? '' : 's'} bound only during an incident ${unbound === 1 ? 'is' : 'are'} not bound now (not bound rows).`;
  blocks.push(
    denied + unchecked === 0
      ? `All ${required.length} required checks passed.${warned}${later} Nothing was changed.`
      : `Of ${required.length} required checks, ${denied} denied and ${unchecked} could not be checked (see each row).${warned}${later} Nothing was changed.`,
  );
  return blocks.join('\n\n');
}

function table(header: string[], cells: string[][]): string {
  const last = header.length - 1;
  const widths = header.slice(0, last).map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => [...c.slice(0, last).map((v, i) => v.padEnd(widths[i]!)), c[last] ?? ''].join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}
