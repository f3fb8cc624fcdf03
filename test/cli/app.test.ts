import { isAwsTarget } from '../../src/providers/targets.js';
import { createProviders } from '../../src/providers/registry.js';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMAND_OPTIONS, parseCommandArgs } from '../../src/cli/args.js';
import { CustodyError, EXIT } from '../../src/core/errors.js';
import { GOOD_CONFIG, azureSection, cli, fakeDemoLab, fakeWorld, removeWorlds, stopAfterCaseOpens, writeConfig } from './harness.js';
import { FakeAwsProvider, MemoryRecorder } from '../core/fakes.js';
import type { Provider } from '../../src/core/ports.js';

afterAll(removeWorlds);

const I1 = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0';
const I2 = 'arn:aws:ec2:us-east-1:333333333333:instance/i-0123456789abcdef1';

describe('custody help and version', () => {
  it.each(['collect', 'plan', 'preflight', 'verify', 'report', 'demo'])('custody %s --help shows that command’s usage and exits 0', async (command) => {
    const run = await cli(fakeWorld(), [command, '--help']);
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain(`Usage: custody ${command}`);
  });

  it('custody help COMMAND is COMMAND --help; custody help NOSUCH is refused like an unknown command', async () => {
    const run = await cli(fakeWorld(), ['help', 'verify']);
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain('Usage: custody verify');
    const unknown = await cli(fakeWorld(), ['help', 'colect']);
    expect(unknown.code).toBe(EXIT.BAD_INPUT);
    expect(unknown.stderr).toContain('unknown command "colect"');
  });

  it.each(Object.keys(COMMAND_OPTIONS))('custody %s --help (and custody help COMMAND) fits a 100-column terminal', async (command) => {
    for (const argv of [[command, '--help'], ['help', command]]) {
      const run = await cli(fakeWorld(), argv);
      expect(run.code).toBe(EXIT.OK);
      const wide = run.stdout.split('\n').filter((line) => line.length > 100);
      expect([argv.join(' '), wide]).toEqual([argv.join(' '), []]);
    }
  });

  it('custody --help fits a 100-column terminal', async () => {
    const run = await cli(fakeWorld(), ['--help']);
    expect(run.stdout.split('\n').filter((line) => line.length > 100)).toEqual([]);
  });

  it('custody --help lists every command and the exit codes', async () => {
    const run = await cli(fakeWorld(), ['--help']);
    expect(run.code).toBe(0);
    for (const command of ['collect', 'plan', 'preflight', 'verify', 'report', 'demo']) expect(run.stdout).toContain(command);
    expect(run.stdout).toContain('5 the ledger could not be written');
  });

  it('preflight --help names every provider it checks, and each scoping flag with its own placeholder, aligned', async () => {
    const run = await cli(fakeWorld(), ['preflight', '--help']);
    for (const cloud of ['AWS', 'Kubernetes', 'Azure', 'GCP']) expect(run.stdout).toContain(`${cloud}:`);
    expect(run.stdout).toMatch(/^ {2}--subscription ID {2,}a configured Azure subscription/m);
    expect(run.stdout).toMatch(/^ {2}--project ID {2,}a GCP project/m);
    expect(run.stdout).not.toContain('VALUE');
    // The default is the one preflight uses (and the README states): the cluster's configured namespaces first.
    const namespace = /^ {2}--namespace NS {2,}([\s\S]*?)\n {2}--/m.exec(run.stdout)?.[1]?.replace(/\s+/g, ' ');
    expect(namespace).toBe('a namespace the collector must reach (repeatable; default: the cluster\'s configured "namespaces", else default)');
    // The help texts start in one column, as every other command's options do.
    const starts = ['account', 'cluster', 'namespace', 'subscription', 'project', 'analyst'].map((f) => run.stdout.split('\n').find((l) => l.startsWith(`  --${f} `))!.search(/ {2}[a-z(]/));
    expect(new Set(starts).size).toBe(1);
  });

  it('custody --version prints the package version', async () => {
    const run = await cli(fakeWorld(), ['--version']);
    expect(run.stdout).toMatch(/^custody \d+\.\d+\.\d+/);
  });

  it('an unknown command or flag is bad input (exit 3) and says where to look', async () => {
    const world = fakeWorld();
    expect((await cli(world, ['colect'])).code).toBe(EXIT.BAD_INPUT);
    const run = await cli(world, ['collect', '--case', 'IR-1', '--presrve', I1]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toMatch(/^custody: .*--presrve.*\[E_INPUT\]/);
  });

  it('with --json, an unknown command is also a JSON document on stdout', async () => {
    const run = await cli(fakeWorld(), ['colect', '--json', '--case', 'IR-1']);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('unknown command "colect"');
    expect(JSON.parse(run.stdout)).toEqual({ error: { code: 'E_INPUT', message: expect.stringContaining('unknown command "colect"') }, exitCode: EXIT.BAD_INPUT });
  });

  it('demo refuses an argument it would ignore (a folder meant for --dir), before any lab starts', async () => {
    const world = fakeWorld();
    let started = false;
    world.deps.startDemoLab = async () => {
      started = true;
      throw new Error('no lab in CLI unit tests');
    };
    const run = await cli(world, ['demo', '--json', 'my-demo']);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('"my-demo"');
    expect(run.stderr).toContain('--dir');
    expect(JSON.parse(run.stdout).error.code).toBe('E_INPUT');
    expect(started).toBe(false);
  });
});

describe('custody demo: stopped by Ctrl-C or SIGTERM', () => {
  it('exits 7 (cancelled), as collect does, and says so in its --json document', async () => {
    const world = fakeWorld();
    const closed: string[] = [];
    world.deps.startDemoLab = async () => fakeDemoLab([I1], () => closed.push('lab'));
    const signal = stopAfterCaseOpens(world, 'interrupted by the user');
    const run = await cli(world, ['demo', '--json', '--dir', join(world.dir, 'demo')], { signal });
    const doc = JSON.parse(run.stdout) as { interrupted: boolean; exitCode: number; ranAsDesigned: boolean };
    expect([run.code, doc.exitCode, doc.interrupted, doc.ranAsDesigned, closed]).toEqual([EXIT.CANCELLED, EXIT.CANCELLED, true, false, ['lab']]);
  });
});

describe('custody collect: stopped before the case is opened', () => {
  it('exits 7 (cancelled) with an E_CANCELLED document, and opens no case to --resume', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const stop = new AbortController();
    stop.abort(new Error('interrupted by the user'));
    const run = await cli(world, ['collect', '--json', '--case', 'IR-1', I1], { signal: stop.signal });
    expect([run.code, run.stderr, JSON.parse(run.stdout), world.opened]).toEqual([
      EXIT.CANCELLED,
      'custody: cancelled before case IR-1 was opened: nothing was created [E_CANCELLED]\n',
      { error: { code: 'E_CANCELLED', message: 'cancelled before case IR-1 was opened: nothing was created' }, exitCode: EXIT.CANCELLED },
      [],
    ]);
  });
});

describe('custody collect: refusals name the flags to type', () => {
  it.each([
    ['a case that exists, without --resume', true, ['--analyst', 'alice'], /case folder .*IR-1 already exists; add --resume to continue that case \(targets already collected are not taken again\), or choose another --case \[E_INPUT\]/],
    ['--resume of a case that does not exist', false, ['--analyst', 'alice', '--resume'], /there is no case IR-1 in .*cases to resume \(check --case and casesDir\); to open a new case, run without --resume \[E_INPUT\]/],
    ['no analyst and no caller identity', false, [], /no analyst: pass --analyst NAME or set "analyst" in the config /],
  ])('%s', async (_name, exists, args, message) => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    if (exists) mkdirSync(join(world.dir, 'cases', 'IR-1'), { recursive: true });
    world.deps.callerIdentity = async () => undefined;
    const run = await cli(world, ['collect', '--case', 'IR-1', ...args, I1]);
    expect([run.code, run.stderr, world.opened]).toEqual([EXIT.BAD_INPUT, expect.stringMatching(message), []]);
  });
});

describe('custody collect: refusing bad input before anything is opened', () => {
  it.each([
    ['a case id with a slash', ['--case', 'IR/1', I1], /invalid case id "IR\/1"/],
    ['a case id with ..', ['--case', '..', I1], /invalid case id "\.\."/],
    ['no case id', [I1], /--case ID/],
    ['a malformed ARN', ['--case', 'IR-1', 'arn:aws:ec2:us-east-1:2222:instance/i-1'], /"2222" is not a 12-digit account id/],
    ['no target', ['--case', 'IR-1'], /at least one TARGET/],
    // --select tag:Env=$ENV with ENV unset.
    ['a tag selector with an empty value', ['--case', 'IR-1', '--select', 'tag:Env='], /^custody: invalid selector "tag:Env=": the tag value is empty \(a shell variable that was not set\?\)/],
  ])('%s → exit 3, nothing opened', async (_name, args, message) => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const run = await cli(world, ['collect', ...args]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain('    at '); // no stack without CUSTODY_DEBUG
    expect(world.opened).toEqual([]);
    expect(world.provider.collected).toEqual([]);
  });

  it('a missing config names where it looked and how to give one (exit 3)', async () => {
    const world = fakeWorld();
    const run = await cli(world, ['collect', '--case', 'IR-1', I1]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain(join(world.dir, 'custody.config.json'));
    expect(run.stderr).toContain('--config');
  });

  it('an invalid config names the bad field (exit 3)', async () => {
    const world = fakeWorld();
    const path = writeConfig(world.dir, { aws: { ...GOOD_CONFIG.aws, allowedAccounts: ['2222'] } }, 'bad.json');
    const run = await cli(world, ['collect', '--case', 'IR-1', '--config', path, I1]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('aws.allowedAccounts[0]');
  });

  it('finds the config through $CUSTODY_CONFIG', async () => {
    const world = fakeWorld();
    const path = writeConfig(world.dir, GOOD_CONFIG, 'elsewhere.json');
    const run = await cli(world, ['collect', '--case', 'IR-1', I1], { env: { CUSTODY_CONFIG: path } });
    expect(run.code).toBe(EXIT.OK);
  });

  it('an existing case folder is not appended to without --resume, and the message says so', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    mkdirSync(join(world.dir, 'cases', 'IR-1'), { recursive: true });
    const run = await cli(world, ['collect', '--case', 'IR-1', I1]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('--resume');
    expect(world.opened).toEqual([]);
    const resumed = await cli(world, ['collect', '--case', 'IR-1', '--resume', I1]);
    expect(resumed.code).toBe(EXIT.OK);
    expect(world.opened).toEqual([expect.objectContaining({ caseId: 'IR-1', resume: true })]);
  });
});

describe('custody collect: results and exit codes', () => {
  it('collects, closes and verifies the case; the analyst defaults to the caller identity', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const run = await cli(world, ['collect', '--case', 'IR-1', I1, I2]);
    expect(run.code).toBe(EXIT.OK);
    expect(world.opened[0]!.analyst).toBe('arn:aws:sts::111111111111:assumed-role/Responder/carol');
    expect(world.closed[0]).toHaveLength(2);
    expect(run.stdout).toContain('2 targets: 2 collected');
    expect(run.stdout).toContain('verified:');
    expect(run.stdout).toContain(join(world.dir, 'cases', 'IR-1'));
  });

  it('--analyst wins over the config and the caller identity', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, { ...GOOD_CONFIG, analyst: 'from-config' });
    await cli(world, ['collect', '--case', 'IR-1', '--analyst', 'dave', I1]);
    expect(world.opened[0]!.analyst).toBe('dave');
  });

  it('one denied target among collected ones exits 1 and names the denied action', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const base = world.provider.behaviour;
    world.provider.behaviour = async (target, ctx) => {
      if (isAwsTarget(target) && target.account === '333333333333') {
        throw new CustodyError('E_ACCESS_DENIED', 'ec2:CreateSnapshots was denied on arn:aws:ec2:us-east-1:333333333333:volume/vol-1', {
          action: 'ec2:CreateSnapshots',
        });
      }
      return base(target, ctx);
    };
    const run = await cli(world, ['collect', '--case', 'IR-1', I1, I2]);
    expect(run.code).toBe(EXIT.PARTIAL);
    expect(run.stdout).toContain('ec2:CreateSnapshots was denied');
  });

  it('a target in a refused account is bad input (exit 3) refused before the case is opened, so the corrected rerun is not "already exists"', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const run = await cli(world, ['collect', '--case', 'IR-1', 'arn:aws:ec2:us-east-1:999999999999:instance/i-0123456789abcdef0', I1]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('999999999999');
    expect(world.opened).toEqual([]);
    expect(world.provider.collected).toEqual([]);
    const rerun = await cli(world, ['collect', '--case', 'IR-1', I1]);
    expect(rerun.code).toBe(EXIT.OK);
  });

  it('a refusal that ends its own sentence reads as one sentence before "Nothing was created" (no "..")', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    // The providers' refusals end with a full stop ("… Add the account to the config if it should be collected.").
    world.provider.validate = () => {
      throw new CustodyError('E_ACCOUNT_NOT_ALLOWED', 'account 999999999999 is not in aws.allowedAccounts. Add the account to the config if it should be collected.');
    };
    const run = await cli(world, ['collect', '--case', 'IR-1', I1]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('if it should be collected. Nothing was created');
    expect(run.stderr).not.toContain('..');
  });

  it('--resume without targets continues the case (the ledger holds its targets and selectors)', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    mkdirSync(join(world.dir, 'cases', 'IR-1'), { recursive: true });
    world.recorder = new MemoryRecorder([
      { type: 'case.opened', data: {} },
      { type: 'collection.started', data: { targets: [I1], selectors: ['tag:Incident=INC-1'] } },
      { type: 'collection.interrupted', data: {} },
    ]);
    const run = await cli(world, ['collect', '--case', 'IR-1', '--resume', '--json']);
    expect(run.code, run.stderr).toBe(EXIT.OK);
    expect(world.provider.collected).toContain(I1);
    const started = world.recorder.ofType('collection.started')[1]!;
    expect(started.data).toMatchObject({ targets: [], fromEarlierRuns: { targets: [I1], selectors: ['tag:Incident=INC-1'] } });
  });

  it('a selector that matched nothing is exit 3, and the message says how to continue the case (not "already exists")', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    world.provider.selectorResult = [];
    const run = await cli(world, ['collect', '--case', 'IR-1', '--select', 'tag:Incident=TYPO']);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stdout).toContain('custody collect --case IR-1 --resume --select');
    world.provider.selectorResult = [(await import('../../src/providers/targets.js')).parseTarget(I1)];
    const rerun = await cli(world, ['collect', '--case', 'IR-1', '--resume', '--select', 'tag:Incident=INC-1']);
    expect(rerun.code).toBe(EXIT.OK);
    expect(world.provider.collected).toEqual([I1]);
  });

  it('the authenticated principal is recorded beside the analyst and shown', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const run = await cli(world, ['collect', '--case', 'IR-1', '--analyst', 'alice', '--json', I1]);
    const doc = JSON.parse(run.stdout) as { analyst: string; principal: Record<string, string> };
    expect(doc.analyst).toBe('alice');
    expect(doc.principal).toEqual({ arn: 'arn:aws:sts::111111111111:assumed-role/Responder/carol', account: '111111111111', userId: 'AROAEXAMPLE:carol' });
    expect(world.opened[0]).toMatchObject({ analyst: 'alice', principal: doc.principal });
  });

  it('--analyst "" is bad input (exit 3), and nothing is opened', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const run = await cli(world, ['collect', '--case', 'IR-1', '--analyst', '', I1]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(world.opened).toEqual([]);
  });

  it('--json prints exactly one JSON document with outcomes, case folder and verification, and no progress', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const run = await cli(world, ['collect', '--case', 'IR-1', '--json', I1], { tty: true });
    const doc = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ caseId: 'IR-1', caseDir: join(world.dir, 'cases', 'IR-1'), verify: { ok: true }, exitCode: 0 });
    expect(doc.outcomes).toEqual([expect.objectContaining({ target: I1, status: 'collected' })]);
    expect(run.stderr).toBe('');
  });

  it('shows progress on a terminal only', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const onTty = await cli(world, ['collect', '--case', 'IR-1', I1], { tty: true });
    expect(onTty.stderr).toContain('222222222222/i-0123456789abcdef0  collect started');
    expect(onTty.stderr).toMatch(/done: 1 target: 1 collected.*case folder /);
    const piped = await cli(world, ['collect', '--case', 'IR-2', I1], { tty: false });
    expect(piped.stderr).toBe('');
  });

  it('a case that does not verify after collection exits 4', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    world.verifyResult = {
      ok: false,
      caseDir: 'x',
      problems: [{ kind: 'changed-file', severity: 'error', path: 'evidence/ev-1/instance.json', message: 'sha256 differs' }],
    };
    const run = await cli(world, ['collect', '--case', 'IR-1', I1]);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    expect(run.stdout).toContain('evidence/ev-1/instance.json');
  });

  it('an unwritable ledger stops the run with exit 5', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const { MemoryRecorder } = await import('../core/fakes.js');
    world.recorder = new MemoryRecorder();
    world.recorder.failAtWrite = 2;
    const run = await cli(world, ['collect', '--case', 'IR-1', I1, I2]);
    expect(run.code).toBe(EXIT.LEDGER);
    expect(run.stderr).toMatch(/^custody: .*disk full.*\[E_LEDGER\]/);
  });

  it('with --json, an error is also a JSON document on stdout', async () => {
    const world = fakeWorld();
    const run = await cli(world, ['collect', '--json', '--case', 'IR/1', I1]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'E_INPUT', message: expect.stringContaining('IR/1') }, exitCode: 3 });
  });

  it('an unexpected error quoting a signed URL is printed without its query, as text and as --json', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    world.deps.callerIdentity = async () => {
      throw new Error('GET https://acct.blob.core.windows.net/c/who?sv=2022-11-02&sig=N2I0SECRET failed');
    };
    for (const json of [false, true]) {
      const run = await cli(world, ['collect', ...(json ? ['--json'] : []), '--case', 'IR-1', I1]);
      expect(run.code).not.toBe(EXIT.OK);
      expect(run.stderr + run.stdout).toContain('https://acct.blob.core.windows.net/c/who?…');
      expect(run.stderr + run.stdout).not.toContain('SECRET');
    }
  });

  it('CUSTODY_DEBUG=1 adds the stack to an error', async () => {
    const world = fakeWorld();
    const run = await cli(world, ['collect', '--case', 'IR-1', I1], { env: { CUSTODY_DEBUG: '1' } });
    expect(run.stderr).toContain('    at ');
  });
});

describe('custody plan, verify, report', () => {
  it('plan lists steps, calls and permissions and collects nothing', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const run = await cli(world, ['plan', I1]);
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain('changes ec2:CreateSnapshots');
    expect(run.stdout).toContain('ec2:DescribeSnapshots  on *');
    expect(world.provider.collected).toEqual([]);
    expect(existsSync(join(world.dir, 'cases'))).toBe(false);
    const json = JSON.parse((await cli(world, ['plan', '--json', I1])).stdout) as { targets: unknown[] };
    expect(json.targets).toHaveLength(1);
  });

  it('plan of containers of one pod named without the pod prints every container, not only the first', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    world.provider = Object.assign(new FakeAwsProvider(), { handles: (target: { provider: string }) => target.provider === 'kubernetes' });
    const pod = 'k8s:prod/shop/api-7d9f8b6c5d-x2x7k';
    const run = await cli(world, ['plan', `${pod}/app`, `${pod}/sidecar`, `${pod}/init-db`]);
    expect(run.code).toBe(EXIT.OK);
    const together = `collected with it: both are parts of ${pod}, which is collected once for both`;
    expect(run.stdout.split('\n').slice(0, 3)).toEqual([`${pod}/app`, `  also collects ${pod}/sidecar: ${together}`, `  also collects ${pod}/init-db: ${together}`]);
    const json = JSON.parse((await cli(world, ['plan', '--json', `${pod}/app`, `${pod}/sidecar`])).stdout) as { targets: Array<{ target: string; alsoCollects?: Array<{ target: string }> }> };
    expect(json.targets.map((t) => [t.target, t.alsoCollects?.map((a) => a.target)])).toEqual([[`${pod}/app`, [`${pod}/sidecar`]]]);
  });

  it('verify or report of a path that is not a folder is bad input (exit 3), not a failed verification', async () => {
    const world = fakeWorld();
    for (const command of ['verify', 'report']) {
      const run = await cli(world, [command, './no-such-case']);
      expect(run.code).toBe(EXIT.BAD_INPUT);
      expect(run.stderr).toContain(`there is no case folder at ${join(world.dir, 'no-such-case')}`);
    }
  });

  it('verify exits 4 and names the first failing entry', async () => {
    const world = fakeWorld();
    makeCaseFolder(join(world.dir, 'c'));
    world.verifyResult = {
      ok: false,
      caseDir: join(world.dir, 'c'),
      problems: [
        { kind: 'hash-mismatch', severity: 'error', entrySeq: 7, line: 8, message: 'hash does not match the entry' },
        { kind: 'broken-link', severity: 'error', entrySeq: 8, line: 9, message: 'prev does not match' },
      ],
    };
    const run = await cli(world, ['verify', 'c']);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    expect(run.stdout).toContain('first problem: ledger.jsonl entry 7, line 8: hash does not match the entry');
    const json = JSON.parse((await cli(world, ['verify', '--json', 'c'])).stdout) as { firstProblem: { location: string } };
    expect(json.firstProblem.location).toBe('ledger.jsonl entry 7, line 8');
  });

  it('verify of a good case exits 0', async () => {
    const world = fakeWorld();
    makeCaseFolder(join(world.dir, 'c'));
    const run = await cli(world, ['verify', 'c']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^verified: /);
  });

  it('report prints the paths it wrote', async () => {
    const world = fakeWorld();
    makeCaseFolder(join(world.dir, 'c'));
    const run = await cli(world, ['report', 'c']);
    expect(run.stdout.trim().split('\n')).toEqual([join(world.dir, 'c', 'report.md'), join(world.dir, 'c', 'report.html')]);
  });
});

describe('targets pasted as URLs (a GCP selfLink or Cloud Console page, an Azure portal page, an AWS console page)', () => {
  const SUB = '11111111-2222-3333-4444-555555555555';
  const VM_ID = `/subscriptions/${SUB}/resourceGroups/web-rg/providers/Microsoft.Compute/virtualMachines/web-1`;
  const config = {
    casesDir: 'cases',
    gcp: { forensicsProject: 'custody-forensics', allowedProjects: ['web-prod'] },
    azure: azureSection(SUB),
  };

  it('plan takes each and plans the target by its canonical id, the key the ledger would record', async () => {
    const world = fakeWorld();
    world.deps.createProviders = (c) => createProviders(c);
    writeConfig(world.dir, config);
    const run = await cli(world, [
      'plan',
      '--json',
      'https://www.googleapis.com/compute/v1/projects/web-prod/zones/us-central1-a/instances/web-1',
      'https://compute.googleapis.com/compute/v1/projects/web-prod/zones/us-central1-a/disks/data-1',
      `https://portal.azure.com/#@contoso.onmicrosoft.com/resource${VM_ID}/overview`,
      'https://console.cloud.google.com/compute/instancesDetail/zones/us-central1-b/instances/web-2?project=web-prod&tab=details',
      'https://console.cloud.google.com/compute/disksDetail/regions/us-central1/disks/shared?project=web-prod',
    ]);
    expect([run.code, run.stderr]).toEqual([EXIT.OK, '']);
    const plan = JSON.parse(run.stdout) as { targets: Array<{ target: string; refused?: unknown }> };
    expect(plan.targets.map((t) => [t.target, t.refused ?? null])).toEqual([
      ['//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1', null],
      ['//compute.googleapis.com/projects/web-prod/zones/us-central1-a/disks/data-1', null],
      [VM_ID, null],
      ['//compute.googleapis.com/projects/web-prod/zones/us-central1-b/instances/web-2', null],
      ['//compute.googleapis.com/projects/web-prod/regions/us-central1/disks/shared', null],
    ]);
  });

  it('collect records a Cloud Console page by its canonical id: case.opened and the provider get the resource name, never the URL', async () => {
    const world = fakeWorld();
    world.recorder = new MemoryRecorder();
    // A stand-in GCP provider: records one entry for the target it is given, as a real one does.
    const given: string[] = [];
    const gcp: Provider = {
      name: 'gcp',
      handles: (target) => target.provider === 'gcp',
      handlesSelector: () => false,
      resolveSelector: async () => [],
      validate: () => {},
      scopeOf: () => 'web-prod',
      plan: () => [],
      async collect(target, ctx) {
        given.push(target.key);
        await ctx.recorder.record('snapshot.requested', {}, target.key);
        return { target: target.key, status: 'collected', evidenceIds: [] };
      },
    };
    world.deps.createProviders = async () => [gcp];
    writeConfig(world.dir, config);
    const url = 'https://console.cloud.google.com/compute/instancesDetail/zones/us-central1-a/instances/web-1?project=web-prod&authuser=0';
    const run = await cli(world, ['collect', '--case', 'IR-1', url]);
    const key = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
    expect([run.code, run.stderr]).toEqual([EXIT.OK, '']);
    expect(given).toEqual([key]);
    expect(world.recorder.log.filter((e) => e.type === 'snapshot.requested').map((e) => e.target)).toEqual([key]);
    expect(JSON.stringify(world.recorder.log)).not.toContain('console.cloud.google.com');
  });

  it.each([
    [
      'https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#InstanceDetails:instanceId=i-0123456789abcdef0',
      'arn:aws:ec2:us-east-1:ACCOUNT:instance/i-0123456789abcdef0',
    ],
    [
      'https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#VolumeDetails:volumeId=vol-0123456789abcdef0',
      'arn:aws:ec2:eu-west-1:ACCOUNT:volume/vol-0123456789abcdef0',
    ],
  ])('collect refuses the AWS console page %s before a case exists (exit 3), printing the ARN to use with ACCOUNT to fill in', async (url, arn) => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const run = await cli(world, ['collect', '--case', 'IR-1', url]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain(`invalid target "${url}": an AWS console URL does not name the account`);
    expect(run.stderr).toContain(arn);
    expect(world.opened).toEqual([]);
  });

  it.each([
    ['https://www.googleapis.com/compute/v1/projects/web-prod/global/images/base', 'www.googleapis.com/compute/v1/projects/'],
    ['https://portal.azure.com/#view/HubsExtension/BrowseResourceGroups', 'portal.azure.com/#@TENANT/resource/subscriptions/'],
    ['https://console.cloud.google.com/compute/instances?project=web-prod', 'console.cloud.google.com/compute/instancesDetail/zones/ZONE/instances/NAME?project=PROJECT'],
    ['https://us-east-1.console.aws.amazon.com/s3/buckets/evidence', 'arn:aws:ec2:REGION:ACCOUNT:instance/i-…'],
    ['https://cloud.example.com/compute/instancesDetail/zones/us-central1-a/instances/web-1?project=web-prod', 'portal.azure.com/#@TENANT/resource/subscriptions/'],
  ])('collect refuses %s before a case exists, naming the accepted forms', async (url, form) => {
    const world = fakeWorld();
    writeConfig(world.dir, config);
    const run = await cli(world, ['collect', '--case', 'IR-1', url]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain(`invalid target "${url}"`);
    // The forms are named after the input, not found in it.
    expect(run.stderr.split('Expected ')[1]).toContain(form);
    expect(world.opened).toEqual([]);
  });
});

describe('every --json document carries exitCode, the code the command exits with', () => {
  const failedVerify = (caseDir: string) => ({ ok: false, caseDir, problems: [{ kind: 'hash-mismatch', severity: 'error' as const, entrySeq: 2, message: 'hash does not match the entry' }] });

  /** Runs the command with --json: one document on stdout whose exitCode is the exit code. */
  async function jsonExit(world: ReturnType<typeof fakeWorld>, argv: string[]): Promise<number> {
    const run = await cli(world, [...argv, '--json']);
    expect(JSON.parse(run.stdout)).toMatchObject({ exitCode: run.code });
    return run.code;
  }

  it('plan: 0, and 3 when every target is refused', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    expect(await jsonExit(world, ['plan', I1])).toBe(EXIT.OK);
    expect(await jsonExit(world, ['plan', 'arn:aws:ec2:us-east-1:444444444444:instance/i-0123456789abcdef0'])).toBe(EXIT.BAD_INPUT);
  });

  it('plan: a selector collect would refuse is listed as refused, with the reason, and exits 3 when nothing else is planned', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    Object.assign(world.provider, {
      validateSelector(selector: { kind: string }) {
        if (selector.kind === 'aws-tag') throw new CustodyError('E_CONFIG', 'selector tag:Typo=1: not configured here');
      },
    });
    const run = await cli(world, ['plan', '--select', 'tag:Typo=1']);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stdout).toContain('tag:Typo=1\n  provider aws: refused before any cloud call: selector tag:Typo=1: not configured here [E_CONFIG]\n');
    expect(run.stdout).not.toContain('expanded at collection time');
    expect(await jsonExit(world, ['plan', '--select', 'tag:Typo=1'])).toBe(EXIT.BAD_INPUT);
    expect(await jsonExit(world, ['plan', '--select', 'tag:Typo=1', I1])).toBe(EXIT.OK);
  });

  it('report: 0, and 4 when the case does not verify', async () => {
    const world = fakeWorld();
    makeCaseFolder(join(world.dir, 'c'));
    expect(await jsonExit(world, ['report', 'c'])).toBe(EXIT.OK);
    world.deps.renderReport = async (caseDir) => ({ markdown: join(caseDir, 'report.md'), html: join(caseDir, 'report.html'), verify: failedVerify(caseDir) });
    expect(await jsonExit(world, ['report', 'c'])).toBe(EXIT.VERIFY_FAILED);
  });

  it('collect, verify, preflight, copy-case and fetch-case', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    expect(await jsonExit(world, ['collect', '--case', 'IR-1', I1])).toBe(EXIT.OK);
    writeConfig(world.dir, { ...GOOD_CONFIG, aws: { ...GOOD_CONFIG.aws, evidenceBucket: { name: 'evidence-bucket' } } });
    makeCaseFolder(join(world.dir, 'c'));
    world.verifyResult = failedVerify(join(world.dir, 'c'));
    expect(await jsonExit(world, ['verify', 'c'])).toBe(EXIT.VERIFY_FAILED);
    expect(await jsonExit(world, ['preflight'])).toBe(EXIT.OK);
    world.deps.copyCase = async () => ({ ok: false, url: 's3://evidence-bucket/c', error: { code: 'E_COPY', message: 'Access Denied' } });
    expect(await jsonExit(world, ['copy-case', 'c'])).toBe(EXIT.COPY_FAILED);
    world.deps.fetchCase = async (_url, dir) => ({ dir, objects: 3 });
    expect(await jsonExit(world, ['fetch-case', 's3://evidence-bucket/c', '--dir', 'restored'])).toBe(EXIT.VERIFY_FAILED);
  });
});

describe('custody preflight', () => {
  const row = (result: 'ok' | 'denied' | 'warning', need?: string) => ({
    provider: 'aws' as const,
    scope: ['222222222222', 'us-east-1'] as [string, string],
    check: 'create-snapshots',
    result,
    action: 'ec2:CreateSnapshots',
    ...(need ? { need } : {}),
    detail: result === 'ok' ? 'DryRun would have succeeded' : 'UnauthorizedOperation',
  });

  it('exits 0 when every required check passes, and says nothing was changed', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    world.preflightRows = [row('ok'), { ...row('denied', 'just in time'), provider: 'kubernetes' }];
    const run = await cli(world, ['preflight']);
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain('All 1 required checks passed. Nothing was changed.');
    expect(run.stdout).toMatch(/^CLUSTER\s+NAMESPACE\s+CHECK\s+RESULT\s+ACTION\s+NEEDED\s+DETAIL$/m);
    expect(run.stdout).toMatch(/denied\s+ec2:CreateSnapshots\s+just in time/);
  });

  it('exits 0 with a warning row (an optional safeguard not in place), and counts it in the summary', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    world.preflightRows = [row('ok'), { ...row('warning', 'optional'), provider: 'kubernetes' }];
    const run = await cli(world, ['preflight']);
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain('All 1 required checks passed. 1 optional safeguard is not in place (warning rows). Nothing was changed.');
    expect(run.stdout).toMatch(/warning\s+ec2:CreateSnapshots\s+optional/);
  });

  it('exits 2 when a required check is denied (collection would fail there), naming the action', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    world.preflightRows = [row('ok'), row('denied')];
    const run = await cli(world, ['preflight']);
    expect(run.code).toBe(EXIT.FAILED);
    expect(run.stdout).toMatch(/^ACCOUNT\s+REGION\s+CHECK\s+RESULT\s+ACTION\s+DETAIL$/m);
    expect(run.stdout).toMatch(/^222222222222\s+us-east-1\s+create-snapshots\s+denied\s+ec2:CreateSnapshots/m);
  });

  it('exits 1 when a required check could not be made', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    world.preflightRows = [row('ok'), { ...row('ok'), result: 'error', detail: 'not checked: no completed snapshot of an earlier case' }];
    const run = await cli(world, ['preflight']);
    expect(run.code).toBe(EXIT.PARTIAL);
    expect(run.stdout).toContain('1 could not be checked');
  });

  it('refuses a malformed account or an unknown cluster (exit 3)', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    expect((await cli(world, ['preflight', '--account', '2222'])).code).toBe(EXIT.BAD_INPUT);
    const run = await cli(world, ['preflight', '--cluster', 'prod']);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('"prod" is not in the config');
  });

  /** A config with cluster prod, and whether any check ran (a refusal comes before every call). */
  function withClusterProd() {
    const world = fakeWorld();
    let ran = false;
    world.deps.preflight = async () => {
      ran = true;
      return [row('ok')];
    };
    writeConfig(world.dir, { ...GOOD_CONFIG, kubernetes: { clusters: { prod: { context: 'prod' } } } });
    return { world, checked: () => ran };
  }

  it('refuses a --namespace that is no namespace name (exit 3), as it refuses a malformed --account', async () => {
    const { world, checked } = withClusterProd();
    const run = await cli(world, ['preflight', '--namespace', 'Shop Prod']);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('--namespace "Shop Prod" is not a namespace name');
    expect(checked()).toBe(false);
    expect((await cli(world, ['preflight', '--namespace', 'shop-prod'])).code).toBe(EXIT.OK);
  });

  it('refuses a pod target in a cluster the config does not name, or with no kubernetes section, before any check (exit 3)', async () => {
    // As collect refuses it: otherwise every other check runs and "all passed" hides the typo.
    const { world, checked } = withClusterProd();
    const unknown = await cli(world, ['preflight', 'k8s:staging/shop/web-1']);
    expect(unknown.code).toBe(EXIT.BAD_INPUT);
    expect(unknown.stderr).toContain('cluster "staging" is not in kubernetes.clusters');

    writeConfig(world.dir, GOOD_CONFIG);
    const unconfigured = await cli(world, ['preflight', 'k8s:prod/shop/web-1']);
    expect(unconfigured.code).toBe(EXIT.BAD_INPUT);
    expect(unconfigured.stderr).toContain('no "kubernetes" section');
    expect(checked()).toBe(false);
  });
});

describe('custody copy-case', () => {
  const withBucket = { ...GOOD_CONFIG, aws: { ...GOOD_CONFIG.aws, evidenceBucket: { name: 'cloud-custody-evidence-111111111111' } } };
  const url = 's3://cloud-custody-evidence-111111111111/IR-1';
  /** copy-case IR-1 against a copy that comes back with `error`. */
  async function copyCaseFailing(error: { code: string; message: string }, args: string[] = []) {
    const world = fakeWorld();
    writeConfig(world.dir, withBucket);
    makeCaseFolder(join(world.dir, 'IR-1'));
    world.deps.copyCase = async () => ({ ok: false, url, error });
    return cli(world, ['copy-case', 'IR-1', ...args]);
  }

  it('a refused copy (the case is still open) does not claim the case is closed or that the failure was recorded', async () => {
    const message = 'case IR-1 is not closed: only a closed case is copied (finish it with custody collect --case IR-1 --resume ...)';
    const run = await copyCaseFailing({ code: 'E_INPUT', message });
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stdout).toContain(message);
    expect(run.stdout).not.toContain('is closed and intact');
    expect(run.stdout).not.toContain('recorded in its ledger');
  });

  it.each(['', '  '])('--analyst %j is bad input (exit 3), as for collect: no ledger entry without a name', async (analyst) => {
    const world = fakeWorld();
    writeConfig(world.dir, withBucket);
    makeCaseFolder(join(world.dir, 'IR-1'));
    let copied = false;
    world.deps.copyCase = async () => {
      copied = true;
      return { ok: true, url, copied: 0, alreadyCopied: 0, total: 0 };
    };
    const run = await cli(world, ['copy-case', 'IR-1', '--analyst', analyst]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('--analyst is empty');
    expect(copied).toBe(false);
  });

  it('a copy refused for its configuration (an unreadable signingKeyFile, E_CONFIG) exits 3, as the exit-code table says, not 6', async () => {
    const message = 'signing key /etc/custody/key.pem is not a readable PEM private key: bad base64';
    const run = await copyCaseFailing({ code: 'E_CONFIG', message }, ['--json']);
    expect([run.code, JSON.parse(run.stdout).exitCode, JSON.parse(run.stdout).copy.error]).toEqual([EXIT.BAD_INPUT, EXIT.BAD_INPUT, { code: 'E_CONFIG', message }]);
  });

  describe('collect with the copy failing after the case is closed: the exit code is the copy-case one for the same error', () => {
    async function collectWithCopy(error: { code: string; message: string }) {
      const world = fakeWorld();
      writeConfig(world.dir, withBucket);
      world.deps.copyCase = async () => ({ ok: false, url, error });
      const text = await cli(world, ['collect', '--case', 'IR-1', I1]);
      const json = await cli(world, ['collect', '--case', 'IR-2', I1, '--json']);
      return { text, doc: JSON.parse(json.stdout) as { exitCode: number; copy: { error: unknown } }, code: json.code, world };
    }

    it('a copy refused for its configuration (E_CONFIG) exits 3, says the case is collected, closed and verified, and how to finish the copy', async () => {
      const message = 'signing key /etc/custody/key.pem is not a readable PEM private key: bad base64';
      const { text, doc, code, world } = await collectWithCopy({ code: 'E_CONFIG', message });
      expect([text.code, code, doc.exitCode]).toEqual([EXIT.BAD_INPUT, EXIT.BAD_INPUT, EXIT.BAD_INPUT]);
      expect(doc.copy.error).toEqual({ code: 'E_CONFIG', message });
      const lines = text.stdout.split('\n');
      const at = lines.findIndex((l) => l.startsWith('NOT copied to'));
      expect(lines.slice(at, at + 2)).toEqual([
        `NOT copied to ${url}: ${message} [E_CONFIG]`,
        `  The case is collected, closed and verified here; only its copy did not complete. Finish it with: custody copy-case ${join(world.dir, 'cases', 'IR-1')}`,
      ]);
      expect(lines.findIndex((l) => l.startsWith('verified:'))).toBeLessThan(at);
    });

    it('a failed upload (E_COPY) exits 6 as before, with the copy\'s own retry line only', async () => {
      const { text, code } = await collectWithCopy({ code: 'E_COPY', message: 'the copy failed at ledger.jsonl: Access Denied' });
      expect([text.code, code]).toEqual([EXIT.COPY_FAILED, EXIT.COPY_FAILED]);
      expect(text.stdout).toContain('the failure is recorded in its ledger');
      expect(text.stdout).not.toContain('only its copy did not complete');
    });

    it('a cancelled copy (E_CANCELLED) exits 7, as copy-case does', async () => {
      const { code } = await collectWithCopy({ code: 'E_CANCELLED', message: 'the copy was cancelled' });
      expect(code).toBe(EXIT.CANCELLED);
      const run = await copyCaseFailing({ code: 'E_CANCELLED', message: 'the copy was cancelled' });
      expect(run.code).toBe(EXIT.CANCELLED);
    });
  });

  it('a failed upload (recorded as copy.failed) says the failure is in the ledger (exit 6)', async () => {
    const run = await copyCaseFailing({ code: 'E_COPY', message: 'the copy failed at ledger.jsonl: Access Denied' });
    expect(run.code).toBe(EXIT.COPY_FAILED);
    expect(run.stdout).toContain('the failure is recorded in its ledger');
  });
});

/** The least a folder needs to be taken for a case folder (the fakes do the rest). */
function makeCaseFolder(dir: string): void {
  mkdirSync(dir);
  writeFileSync(join(dir, 'ledger.jsonl'), '');
}

describe('a flag given twice', () => {
  const singleValued = Object.entries(COMMAND_OPTIONS).flatMap(([command, options]) =>
    Object.entries(options as Record<string, { type: string; multiple?: boolean }>)
      .filter(([, option]) => option.multiple !== true)
      .map(([flag, option]) => [command, flag, option.type] as const),
  );

  it.each(singleValued)('custody %s --%s twice is refused (exit 3), never the last one silently', async (command, flag, type) => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const twice = type === 'string' ? [`--${flag}`, 'A', `--${flag}`, 'B'] : [`--${flag}`, `--${flag}`];
    const run = await cli(world, [command, ...twice, I1]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain(`--${flag} is given more than once`);
    expect(world.opened).toEqual([]);
  });

  it('--case A --case B collects into neither', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const run = await cli(world, ['collect', '--case', 'IR-A', '--case', 'IR-B', I1]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(existsSync(join(world.dir, 'cases'))).toBe(false);
  });

  it('repeatable flags stay repeatable (--select, --account)', async () => {
    const world = fakeWorld();
    writeConfig(world.dir, GOOD_CONFIG);
    const plan = await cli(world, ['plan', '--select', 'tag:A=1', '--select', 'tag:B=2']);
    expect(plan.stderr).not.toContain('more than once');
    expect(plan.code).toBe(EXIT.OK);
    expect(parseCommandArgs('preflight', ['--account', '1', '--account', '2']).values.account).toEqual(['1', '2']);
  });
});
