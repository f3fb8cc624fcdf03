/**
 * `custody preflight [options] [TARGET...]`: before an incident, checks that collection would be
 * allowed, changing nothing. AWS: account × region × check → ok / denied / error with the IAM
 * action; Kubernetes: cluster × namespace × operation, with what needs it.
 */
import { CustodyError, EXIT } from '../../core/errors.js';
import { parseTarget } from '../../core/targets.js';
import { listValue, parseCommandArgs, stringValue } from '../args.js';
import { loadCliConfig } from '../config-source.js';
import { analystValue } from './collect.js';
import type { CliDeps, PreflightInput, PreflightRowView } from '../deps.js';
import { PREFLIGHT_HELP } from '../help.js';
import type { CliIo } from '../io.js';
import type { AwsPreflightRunner } from '../preflight-runner.js';
import { refuseAccountsNotAllowed } from '../../providers/aws/preflight-scope.js';

const ACCOUNT = /^\d{12}$/;

/**
 * Runs `custody preflight`. `runAws` replaces the AWS checks (tests drive it against a lab with
 * their own credentials); otherwise `deps.preflight` runs them.
 */
export async function runPreflightCommand(
  args: readonly string[],
  io: CliIo,
  deps?: Pick<CliDeps, 'preflight'>,
  runAws?: AwsPreflightRunner,
): Promise<number> {
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
  if (config.aws) refuseAccountsNotAllowed(config.aws.allowedAccounts, accounts, targets);
  const analyst = analystValue(stringValue(values, 'analyst'));
  const input: PreflightInput = { config, accounts, targets, clusters, namespaces: listValue(values, 'namespace'), ...(analyst ? { analyst } : {}) };
  const rows = await checksFor(input, deps, runAws);
  const exitCode = preflightExitCode(rows);
  if (values.json === true) io.stdout(`${JSON.stringify({ rows, exitCode }, null, 2)}\n`);
  else io.stdout(`${renderPreflight(rows)}\n`);
  return exitCode;
}

async function checksFor(input: PreflightInput, deps: Pick<CliDeps, 'preflight'> | undefined, runAws: AwsPreflightRunner | undefined): Promise<PreflightRowView[]> {
  if (deps && !runAws) return deps.preflight(input);
  // The provider code is loaded only when preflight runs: other commands start without it.
  const { runPreflightChecks } = await import('../preflight-runner.js');
  return runPreflightChecks(input, runAws);
}

/** Rows that must pass for collection to work (Kubernetes rows for options or just-in-time roles are advisory). */
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

/** Aligned tables (AWS, then Kubernetes) and a summary line. */
export function renderPreflight(rows: readonly PreflightRowView[]): string {
  if (rows.length === 0) return 'Nothing to check.';
  const blocks: string[] = [];
  const aws = rows.filter((r) => r.provider === 'aws');
  const k8s = rows.filter((r) => r.provider === 'kubernetes');
  if (aws.length > 0) {
    blocks.push(table(['ACCOUNT', 'REGION', 'CHECK', 'RESULT', 'ACTION', 'DETAIL'], aws.map((r) => [r.scope[0], r.scope[1], r.check, r.result, r.action, r.detail])));
  }
  if (k8s.length > 0) {
    blocks.push(
      table(['CLUSTER', 'NAMESPACE', 'CHECK', 'RESULT', 'ACTION', 'NEEDED', 'DETAIL'], k8s.map((r) => [r.scope[0], r.scope[1], r.check, r.result, r.action, r.need ?? 'required', r.detail])),
    );
  }
  const required = rows.filter(isRequired);
  const denied = required.filter((r) => r.result === 'denied').length;
  const unchecked = required.filter((r) => r.result === 'error').length;
  blocks.push(
    denied + unchecked === 0
      ? `All ${required.length} required checks passed. Nothing was changed.`
      : `Of ${required.length} required checks, ${denied} denied and ${unchecked} could not be checked (see each row). Nothing was changed.`,
  );
  return blocks.join('\n\n');
}

function table(header: string[], cells: string[][]): string {
  const last = header.length - 1;
  const widths = header.slice(0, last).map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => [...c.slice(0, last).map((v, i) => v.padEnd(widths[i]!)), c[last] ?? ''].join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}
