// The README's table of --json documents is what automation codes against: every command's
// document carries exactly the fields it lists (a field marked `?` only when it applies).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GOOD_CONFIG, cli, fakeDemoLab, fakeWorld, removeWorlds, writeConfig } from './harness.js';

afterAll(removeWorlds);

const I1 = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0';
const ROOT = join(import.meta.dirname, '..', '..');

/** The README's table: command → its documented top-level fields, `?` for the conditional ones. */
function documentedFields(): Map<string, { required: string[]; optional: string[] }> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### JSON documents (`--json`)');
  expect(start).toBeGreaterThan(0);
  const rows = readme.slice(start).split('\n\n')[2]!.split('\n').slice(2);
  const table = new Map<string, { required: string[]; optional: string[] }>();
  for (const row of rows) {
    const [, command, cell] = row.split('|').map((c) => c.trim());
    // Top-level names only: what a parenthesis says about a field's insides is not one.
    let depth = 0;
    let top = '';
    for (const ch of cell!) {
      if (ch === '(') depth += 1;
      else if (ch === ')') depth -= 1;
      else if (depth === 0) top += ch;
    }
    const names = [...top.matchAll(/`([A-Za-z]+)(\??)`/g)];
    table.set(command!.replace(/`/g, ''), {
      required: names.filter((n) => n[2] === '').map((n) => n[1]!),
      optional: names.filter((n) => n[2] === '?').map((n) => n[1]!),
    });
  }
  return table;
}

const VERIFIED = (caseDir: string) => ({
  ok: true,
  caseDir,
  closed: true,
  entries: 12,
  files: 3,
  head: { seq: 12, hash: 'a'.repeat(64) },
  fingerprint: 'b'.repeat(64),
  problems: [],
});

describe("README's --json table", () => {
  const table = documentedFields();

  function expectDocumented(command: string, doc: Record<string, unknown>, extra: { required: string[]; optional: string[] } = { required: [], optional: [] }): void {
    const fields = table.get(command);
    expect(fields, `README has a row for ${command}`).toBeDefined();
    const required = [...fields!.required, ...extra.required];
    const allowed = new Set([...required, ...fields!.optional, ...extra.optional]);
    expect({ command, missing: required.filter((f) => !(f in doc)), undocumented: Object.keys(doc).filter((f) => !allowed.has(f)) }).toEqual({ command, missing: [], undocumented: [] });
  }

  it('lists every command, and the error document', () => {
    expect([...table.keys()]).toEqual(['every command that cannot run', 'collect', 'plan', 'preflight', 'verify', 'report', 'copy-case', 'fetch-case', 'demo']);
  });

  it('matches what each command prints', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, { ...GOOD_CONFIG, aws: { ...GOOD_CONFIG.aws, evidenceBucket: { name: 'evidence-bucket' } } });
    world.verifyResult = VERIFIED(join(world.dir, 'cases', 'IR-1'));
    world.deps.copyCase = async () => ({ ok: true, url: 's3://evidence-bucket/IR-1', copied: 3, total: 3 });
    world.deps.verifyAgainst = async (_dir, url) => ({ ok: true, url, checked: 3, objects: 3, recordedUrl: url, problems: [] });
    world.deps.fetchCase = async (_url, dir) => ({ dir, objects: 3 });
    const json = async (argv: string[]) => {
      const run = await cli(world, [...argv, '--json']);
      expect(run.stderr).toBe('');
      return JSON.parse(run.stdout) as Record<string, unknown>;
    };

    const collected = await json(['collect', '--case', 'IR-1', '--analyst', 'alice', I1]);
    expectDocumented('collect', collected);
    expect(Object.keys(collected)).toContain('copy');
    writeFileSync(join(world.dir, 'cases', 'IR-1', 'ledger.jsonl'), ''); // the fake collect wrote none
    expectDocumented('plan', await json(['plan', I1]));
    expectDocumented('preflight', await json(['preflight']));
    const verified = await json(['verify', 'IR-1', '--against', 's3://evidence-bucket/IR-1']);
    expectDocumented('verify', verified);
    expect(Object.keys(verified)).toContain('against');
    expectDocumented('report', await json(['report', 'IR-1']));
    expectDocumented('copy-case', await json(['copy-case', 'IR-1']));
    expectDocumented('fetch-case', await json(['fetch-case', 's3://evidence-bucket/IR-1', '--dir', 'restored']));
    const refused = await cli(world, ['collect', '--case', 'IR/1', I1, '--json']);
    expectDocumented('every command that cannot run', JSON.parse(refused.stdout) as Record<string, unknown>);
  });

  it("matches demo's document (collect's fields and its own)", async () => {
    const world = fakeWorld();
    world.deps.startDemoLab = async () => fakeDemoLab([I1]);
    const doc = JSON.parse((await cli(world, ['demo', '--json', '--dir', join(world.dir, 'demo')])).stdout) as Record<string, unknown>;
    expectDocumented('demo', doc, table.get('collect'));
  });
});

describe('--json beside --help, or given a value', () => {
  it.each(['collect', 'verify', 'copy-case'])('%s --help --json: the help wins (help text, exit 0, no document), as README says', async (command) => {
    const run = await cli(fakeWorld(), [command, '--help', '--json']);
    expect([run.code, run.stdout.startsWith(`Usage: custody ${command} `), run.stderr]).toEqual([0, true, '']);
  });

  it.each(['--json=yes', '--json=true', '--json='])('collect %s is refused as a usage error (exit 3), in a JSON document as automation asked', async (flag) => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const run = await cli(world, ['collect', '--case', 'IR-1', flag, I1]);
    const message = "Option '--json' does not take an argument (see custody collect --help)";
    expect([run.code, run.stderr, JSON.parse(run.stdout)]).toEqual([3, `custody: ${message} [E_INPUT]\n`, { error: { code: 'E_INPUT', message }, exitCode: 3 }]);
  });
});
