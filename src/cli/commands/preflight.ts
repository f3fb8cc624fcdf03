import { CustodyError, EXIT } from '../../core/errors.js';
import { parseTarget } from '../../core/targets.js';
import { listValue, parseCommandArgs, stringValue } from '../args.js';
import { loadCliConfig } from '../config-source.js';
import type { CliDeps, PreflightRowView } from '../deps.js';
import { PREFLIGHT_HELP } from '../help.js';
import type { CliIo } from '../io.js';

const ACCOUNT = /^\d{12}$/;

/** `custody preflight`: are the roles in place? Changes nothing. */
export async function runPreflightCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseCommandArgs('preflight', args);
  if (values.help) {
    io.stdout(`${PREFLIGHT_HELP}\n`);
    return EXIT.OK;
  }
  const targets = positionals.map(parseTarget);
  const accounts = listValue(values, 'account');
  const bad = accounts.find((a) => !ACCOUNT.test(a));
  if (bad) throw new CustodyError('E_INPUT', `--account "${bad}" is not a 12-digit AWS account id`, { resource: bad });
  const { config } = loadCliConfig(stringValue(values, 'config'), io.env, io.cwd);
  const clusters = listValue(values, 'cluster');
  const unknown = clusters.find((c) => !config.kubernetes?.clusters[c]);
  if (unknown) throw new CustodyError('E_INPUT', `--cluster "${unknown}" is not in the config's kubernetes.clusters`, { resource: unknown });
  if (!config.aws && !config.kubernetes) {
    throw new CustodyError('E_CONFIG', 'the config has neither an "aws" nor a "kubernetes" section: there is nothing to check');
  }
  const analyst = stringValue(values, 'analyst');
  const rows = await deps.preflight({
    config,
    accounts,
    targets,
    clusters,
    namespaces: listValue(values, 'namespace'),
    ...(analyst ? { analyst } : {}),
  });
  const exitCode = preflightExitCode(rows);
  if (values.json === true) io.stdout(`${JSON.stringify({ rows, exitCode }, null, 2)}\n`);
  else io.stdout(`${renderPreflight(rows)}\n`);
  return exitCode;
}

/** Rows that must pass for collection to work (Kubernetes rows for options or just-in-time roles are advisory). */
function isRequired(row: PreflightRowView): boolean {
  return row.need === undefined || row.need === 'required';
}

export function preflightExitCode(rows: readonly PreflightRowView[]): number {
  const required = rows.filter(isRequired);
  const failed = required.filter((r) => r.result !== 'ok');
  if (failed.length === 0) return EXIT.OK;
  return failed.length === required.length ? EXIT.FAILED : EXIT.PARTIAL;
}

export function renderPreflight(rows: readonly PreflightRowView[]): string {
  if (rows.length === 0) return 'Nothing to check.';
  const scopeWidth = Math.max(...rows.map((r) => r.scope.length));
  const checkWidth = Math.max(...rows.map((r) => r.check.length));
  const lines = rows.map((r) => {
    const need = r.need && r.need !== 'required' ? ` [${r.need}]` : '';
    return `${r.provider === 'aws' ? 'aws' : 'k8s'}  ${r.scope.padEnd(scopeWidth)}  ${r.check.padEnd(checkWidth)}  ${r.result.padEnd(6)}  ${r.action}${need}  ${r.detail}`;
  });
  const required = rows.filter(isRequired);
  const denied = required.filter((r) => r.result === 'denied').length;
  const unchecked = required.filter((r) => r.result === 'error').length;
  lines.push(
    '',
    denied + unchecked === 0
      ? `All ${required.length} required checks passed. Nothing was changed.`
      : `Of ${required.length} required checks, ${denied} denied and ${unchecked} could not be checked (see each row). Nothing was changed.`,
  );
  return lines.join('\n');
}
