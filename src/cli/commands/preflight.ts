/**
 * `custody preflight [options] [TARGET...]`: before an incident, checks in every configured
 * account (or for the named targets) that collection would be allowed, changing nothing, and
 * prints account × check → ok / denied / error with the IAM action.
 *
 * Self-contained (own flags, own help) so it can be registered with one line in app.ts's
 * COMMANDS and one entry in args.ts's COMMAND_OPTIONS when the CLI owner wires it.
 */
import { parseArgs } from 'node:util';
import { CustodyError, EXIT } from '../../core/errors.js';
import { parseTarget } from '../../core/targets.js';
import { runPreflight, type PreflightOptions, type PreflightRow } from '../../providers/aws/preflight.js';
import { loadCliConfig } from '../config-source.js';
import type { CliIo } from '../io.js';

export const PREFLIGHT_HELP = `Usage: custody preflight [options] [TARGET...]

Assumes the collector role in every configured account (aws.allowedAccounts), or in the accounts
of the named targets, and checks that collection would be allowed: DescribeInstances, EC2 DryRun
of CreateSnapshots (with the case tags), ModifyInstanceAttribute, ModifySnapshotAttribute and
CopySnapshot, and DescribeKey of the shareable key. Changes nothing.

Exit 0 when every check is ok; 1 when some could not be made (error); 2 when one is denied.

Options:
  --config FILE       configuration file
  --account ID        check only this account (repeatable)
  --analyst NAME      recorded as the sessions' SourceIdentity (default: config analyst)
  --json              print the rows as JSON
  -h, --help          show this help`;

/** Renders the rows as an aligned table. */
export function renderPreflight(rows: readonly PreflightRow[]): string {
  const header = ['ACCOUNT', 'REGION', 'CHECK', 'RESULT', 'ACTION', 'DETAIL'];
  const cells = rows.map((r) => [r.account, r.region, r.check, r.result, r.action, r.detail]);
  const widths = header.slice(0, 5).map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => [...c.slice(0, 5).map((v, i) => v.padEnd(widths[i]!)), c[5]].join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}

/** `custody preflight`; `run` is injectable for tests. */
export async function runPreflightCommand(
  args: readonly string[],
  io: CliIo,
  _deps: unknown = undefined,
  run: (options: PreflightOptions) => Promise<PreflightRow[]> = runPreflight,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        config: { type: 'string' },
        account: { type: 'string', multiple: true },
        analyst: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (cause) {
    throw new CustodyError('E_INPUT', `${(cause as Error).message} (see custody preflight --help)`, { cause });
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(`${PREFLIGHT_HELP}\n`);
    return EXIT.OK;
  }
  const targets = positionals.map(parseTarget);
  const { config } = loadCliConfig(values.config, io.env, io.cwd);
  const rows = await run({
    config,
    ...(values.account ? { accounts: values.account } : {}),
    ...(targets.length > 0 ? { targets } : {}),
    ...(values.analyst ? { analyst: values.analyst } : {}),
  });
  io.stdout(values.json ? `${JSON.stringify(rows, null, 2)}\n` : `${renderPreflight(rows)}\n`);
  if (rows.some((r) => r.result === 'denied')) return EXIT.FAILED;
  if (rows.some((r) => r.result === 'error')) return EXIT.PARTIAL;
  return EXIT.OK;
}
