/**
 * The immutable copy from the command line, as a responder runs it against the lab: collect with
 * `aws.evidenceBucket` configured copies the closed case; verify --against checks it; a failed
 * copy exits 6 with the retry command, and copy-case retries it; fetch-case restores a folder
 * that verifies and refuses to overwrite one.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, loadConfig } from '../../src/app/library.js';
import { EVIDENCE_BUCKET } from '../../src/lab/index.js';
import { runCliChild, startCli } from './child-cli.js';
import { custody } from './cli-run.js';
import { useLabFixture } from './lab-fixture.js';

// The one first-stop message, the same for collect's copy phase and for copy-case.
const STOP_MESSAGE = `custody: interrupted; stopping cleanly: no new target or upload starts, what is in flight is finished and recorded, and the command then says how to continue (custody collect --resume, or custody copy-case for a closed case) (Ctrl-C again to quit at once)`;

describe('the evidence bucket from the CLI', () => {
  const fx = useLabFixture({ credentials: true });
  const configWithBucket = () => {
    const config = JSON.parse(readFileSync(fx.configPath, 'utf8')) as { aws: Record<string, unknown> & { endpoints: Record<string, string> } };
    config.aws.endpoints = { ...config.aws.endpoints, s3: fx.lab.endpoint };
    config.aws.evidenceBucket = { name: EVIDENCE_BUCKET, prefix: 'cases/', retention: { days: 7 } };
    const path = join(fx.dir, 'bucket.config.json');
    writeFileSync(path, JSON.stringify(config));
    return path;
  };
  const url = (caseId: string) => `s3://${EVIDENCE_BUCKET}/cases/${caseId}`;

  it('collect copies the closed case; verify --against passes; fetch-case restores a folder that verifies', async () => {
    const config = configWithBucket();
    const run = await custody(['collect', '--case', 'IR-S3-1', '--config', config, '--analyst', 'alice', fx.instanceArn('web-01')], { cwd: fx.dir });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain(`copied: ${url('IR-S3-1')}`);
    const caseDir = join(fx.dir, 'cases', 'IR-S3-1');

    const offline = await custody(['verify', caseDir]);
    expect(offline.code, offline.stdout).toBe(0);
    const against = await custody(['verify', caseDir, '--against', url('IR-S3-1'), '--config', config, '--json']);
    expect(against.code, against.stdout).toBe(0);
    const doc = JSON.parse(against.stdout) as { ok: boolean; against: { ok: boolean; checked: number } };
    expect(doc.ok).toBe(true);
    expect(doc.against.ok).toBe(true);
    expect(doc.against.checked).toBeGreaterThan(2);

    const restored = join(fx.dir, 'restored', 'IR-S3-1');
    const fetched = await custody(['fetch-case', url('IR-S3-1'), '--dir', restored, '--config', config]);
    expect(fetched.code, fetched.stderr + fetched.stdout).toBe(0);
    expect(fetched.stdout).toContain('verified:');
    // The restored ledger ends at case.closed, as sealed: what verify says of it must fit a
    // restored folder, not only a case whose copy never ran (copy-case would append to it).
    expect(fetched.stdout).toContain(`or this folder was restored from that copy with custody fetch-case, whose ledger ends at case.closed as sealed`);
    const restoredAgainst = await custody(['verify', restored, '--against', url('IR-S3-1'), '--config', config]);
    expect(restoredAgainst.code).toBe(4);
    expect(restoredAgainst.stdout).toContain('a folder restored with custody fetch-case has none (its ledger ends at case.closed as sealed): check the folder the copy was made from [copy-not-recorded]');
    const again = await custody(['fetch-case', url('IR-S3-1'), '--dir', restored, '--config', config]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('never overwrites');
  });

  it('a copy the bucket refuses exits 6 naming the retry, the case stays closed and verified, and copy-case retries', async () => {
    const config = configWithBucket();
    fx.lab.control.failNext({ action: 's3:PutObject', code: 'AccessDenied', status: 403, message: 'Access Denied' });
    const run = await custody(['collect', '--case', 'IR-S3-2', '--config', config, '--analyst', 'alice', fx.instanceArn('web-01')], { cwd: fx.dir });
    const caseDir = join(fx.dir, 'cases', 'IR-S3-2');
    expect(run.code, run.stdout).toBe(6);
    expect(run.stdout).toContain(`NOT copied to ${url('IR-S3-2')}`);
    expect(run.stdout).toContain(`custody copy-case ${caseDir}`);
    expect((await custody(['verify', caseDir])).code).toBe(0);
    const against = await custody(['verify', caseDir, '--against', url('IR-S3-2'), '--config', config]);
    expect(against.code).toBe(4);
    expect(against.stdout).toContain('copy-not-recorded');

    const retry = await custody(['copy-case', caseDir, '--config', config, '--analyst', 'alice']);
    expect(retry.code, retry.stderr + retry.stdout).toBe(0);
    expect((await custody(['verify', caseDir, '--against', url('IR-S3-2'), '--config', config])).code).toBe(0);
  });

  it('Ctrl-C during the copy: the upload in flight is finished and recorded, collect exits 7 saying the case is collected and closed, copy-case finishes the copy', async () => {
    // collect's copy phase runs under collect's command line: its stop message must be as true of
    // an upload as copy-case's, not "no new target starts" alone.
    const config = configWithBucket();
    const held = fx.lab.control.holdNext('s3:PutObject');
    const run = startCli(['collect', '--case', 'IR-S3-5', '--config', config, '--analyst', 'alice', fx.instanceArn('web-01')], fx.env);
    let stderr = '';
    const stopping = new Promise<void>((resolve) =>
      run.child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('stopping')) resolve();
      }),
    );
    await held.arrived; // the first object (the sealed ledger) is on its way
    run.child.kill('SIGINT');
    await stopping;
    held.release();
    const done = await run.done;
    const caseDir = join(fx.dir, 'cases', 'IR-S3-5');
    expect(done.code, done.stdout + done.stderr).toBe(7);
    expect(done.stderr).toContain(STOP_MESSAGE);
    expect(done.stdout).toContain(
      `NOT copied to ${url('IR-S3-5')}: the copy to ${url('IR-S3-5')} was cancelled (interrupted by the user) before manifest.json was uploaded: 1 object(s) were copied by this run and recorded,`,
    );
    expect(done.stdout).toContain(`The case is collected, closed and verified here; only its copy did not complete. Finish it with: custody copy-case ${caseDir}`);
    const types = readFileSync(join(caseDir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types.slice(types.indexOf('case.closed'))).toEqual(['case.closed', 'evidence.copied', 'copy.failed']);
    expect((await custody(['verify', caseDir])).code).toBe(0);

    const retry = await custody(['copy-case', caseDir, '--config', config, '--analyst', 'alice']);
    expect(retry.code, retry.stderr + retry.stdout).toBe(0);
    expect(retry.stdout).toContain('(1 already there from an earlier run)');
    expect((await custody(['verify', caseDir, '--against', url('IR-S3-5'), '--config', config])).code).toBe(0);
  }, 60_000);

  it('Ctrl-C during copy-case says what stops for a copy (no new upload starts), exits 7, and copy-case finishes the copy', async () => {
    const config = configWithBucket();
    const collected = await custody(['collect', '--case', 'IR-S3-6', '--config', fx.configPath, '--analyst', 'alice', fx.instanceArn('web-01')], { cwd: fx.dir });
    expect(collected.code, collected.stdout).toBe(0);
    const caseDir = join(fx.dir, 'cases', 'IR-S3-6');
    const held = fx.lab.control.holdNext('s3:PutObject');
    const run = startCli(['copy-case', caseDir, '--config', config, '--analyst', 'alice'], fx.env);
    let stderr = '';
    const stopping = new Promise<void>((resolve) =>
      run.child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('stopping')) resolve();
      }),
    );
    await held.arrived;
    run.child.kill('SIGINT');
    await stopping;
    held.release();
    const done = await run.done;
    expect(done.code, done.stdout + done.stderr).toBe(7);
    expect(done.stderr).toContain(STOP_MESSAGE);
    const retry = await custody(['copy-case', caseDir, '--config', config, '--analyst', 'alice']);
    expect(retry.code, retry.stderr + retry.stdout).toBe(0);
    expect((await custody(['verify', caseDir, '--against', url('IR-S3-6'), '--config', config])).code).toBe(0);
  }, 60_000);

  it('verify --against names an object whose retention was lifted, after the offline checks pass', async () => {
    const config = configWithBucket();
    const run = await custody(['collect', '--case', 'IR-S3-3', '--config', config, '--analyst', 'alice', fx.instanceArn('web-01')], { cwd: fx.dir });
    expect(run.code, run.stdout).toBe(0);
    const bucket = fx.lab.state.s3.buckets.get(EVIDENCE_BUCKET)!;
    const manifest = fx.lab.state.s3.version(bucket, 'cases/IR-S3-3/manifest.json')!;
    delete manifest.lockMode;
    delete manifest.retainUntil;
    const against = await custody(['verify', join(fx.dir, 'cases', 'IR-S3-3'), '--against', url('IR-S3-3'), '--config', config]);
    expect(against.code).toBe(4);
    expect(against.stdout).toMatch(/^verified: /m);
    expect(against.stdout).toContain('first problem: manifest.json');
    expect(against.stdout).toContain('[copy-unlocked]');
  });

  it('copy records cut from the end: the sealed case still verifies offline, with a warning; verify --against names it', async () => {
    const config = configWithBucket();
    const run = await custody(['collect', '--case', 'IR-S3-4', '--config', config, '--analyst', 'alice', fx.instanceArn('web-01')], { cwd: fx.dir });
    expect(run.code, run.stdout).toBe(0);
    const caseDir = join(fx.dir, 'cases', 'IR-S3-4');
    // The head collect prints to keep apart is the one after the copy records.
    const head = /Ledger head:\s+(\S+)/.exec(run.stdout)?.[1];
    expect(head).toBeDefined();
    expect((await custody(['verify', caseDir, '--expect-head', head!])).code).toBe(0);
    const lines = readFileSync(join(caseDir, 'ledger.jsonl'), 'utf8').split('\n').slice(0, -1);
    const sealed = lines.findIndex((l) => l.includes('"type":"case.closed"'));
    writeFileSync(join(caseDir, 'ledger.jsonl'), `${lines.slice(0, sealed + 1).join('\n')}\n`);
    const offline = await custody(['verify', caseDir]);
    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain(`warning: ledger.jsonl: the case was to be copied to ${url('IR-S3-4')}, but its ledger records no copy`);
    const against = await custody(['verify', caseDir, '--against', url('IR-S3-4'), '--config', config]);
    expect(against.code).toBe(4);
    expect(against.stdout).toContain('[copy-not-recorded]');
    expect((await custody(['verify', caseDir, '--expect-head', head!])).code).toBe(4);
  });

  const typesOf = (caseId: string) =>
    readFileSync(join(fx.dir, 'cases', caseId, 'ledger.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
  const copiedKeys = (caseId: string) => [...(fx.lab.state.s3.buckets.get(EVIDENCE_BUCKET)?.objects.keys() ?? [])].filter((k) => k.startsWith(`cases/${caseId}/`));

  it('a selector that matches nothing leaves the case open, not closed or copied, exits 3 naming the selector and the resume; --resume --select then closes and copies it', async () => {
    const config = configWithBucket();
    const run = await custody(['collect', '--case', 'IR-S3-EMPTY', '--config', config, '--analyst', 'alice', '--select', 'tag:Incident=INC-TYPO'], { cwd: fx.dir });
    expect(run.code, run.stderr + run.stdout).toBe(3);
    expect(run.stdout).toContain('Nothing was selected: tag:Incident=INC-TYPO matched no target.');
    expect(run.stdout).toContain('Case IR-S3-EMPTY is left open (not closed, not copied): continue it with a corrected selector: custody collect --case IR-S3-EMPTY --resume --select EXPR');
    expect(run.stdout).not.toContain('Interrupted');
    const entries = typesOf('IR-S3-EMPTY');
    expect(entries.map((e) => e.type).slice(-2)).toEqual(['selector.resolved', 'collection.nothing-selected']);
    expect(entries.at(-2)?.data).toMatchObject({ selector: 'tag:Incident=INC-TYPO', targets: [] });
    expect(entries.at(-1)?.data).toMatchObject({ selectors: ['tag:Incident=INC-TYPO'], total: 0 });
    expect(existsSync(join(fx.dir, 'cases', 'IR-S3-EMPTY', 'manifest.json'))).toBe(false);
    expect(copiedKeys('IR-S3-EMPTY')).toEqual([]);

    const json = await custody(['collect', '--case', 'IR-S3-EMPTY', '--resume', '--config', config, '--analyst', 'alice', '--json'], { cwd: fx.dir });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ nothingSelected: { selectors: ['tag:Incident=INC-TYPO'] }, verify: null, interrupted: false, exitCode: 3 });

    const resumed = await custody(['collect', '--case', 'IR-S3-EMPTY', '--resume', '--config', config, '--analyst', 'alice', '--select', 'tag:Incident=INC-42'], { cwd: fx.dir });
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stdout).toContain(`copied: ${url('IR-S3-EMPTY')}`);
    expect(typesOf('IR-S3-EMPTY').filter((e) => e.type === 'case.closed')).toHaveLength(1);
    expect(copiedKeys('IR-S3-EMPTY')).toContain('cases/IR-S3-EMPTY/manifest.json');
  });

  it('a selector denied in one account that finds nothing in the other says the search could not look in that account, with the code, and how to resume; --json and the library say the same', async () => {
    // 333333333333 refuses the search; 222222222222 holds no instance with this tag.
    const deny = () => fx.lab.control.failNext({ action: 'ec2:DescribeInstances', account: '333333333333', code: 'UnauthorizedOperation', status: 403, message: 'You are not authorized to perform this operation.' });
    deny();
    const run = await custody(['collect', '--case', 'IR-S3-PART', '--config', fx.configPath, '--analyst', 'alice', '--select', 'tag:Incident=INC-TYPO'], { cwd: fx.dir });
    expect(run.code, run.stderr + run.stdout).toBe(3);
    expect(run.stdout).toContain(
      `Nothing was selected: tag:Incident=INC-TYPO matched no target where it could search, but its search could not look in 1 scope: account 333333333333 in ${fx.lab.region} (E_ACCESS_DENIED).`,
    );
    expect(run.stdout).toContain(
      'Case IR-S3-PART is left open (not closed, not copied): once the search can look there (the reason is above: a permission, the provider), search again with custody collect --case IR-S3-PART --resume, or continue it with a corrected selector: --resume --select EXPR',
    );
    // The ledger is as it was: each failed search its own step.failed, the run's end unchanged.
    const entries = typesOf('IR-S3-PART');
    expect(entries.filter((e) => e.type === 'step.failed').map((e) => e.data)).toMatchObject([{ step: 'resolve-selector', scope: { account: '333333333333', region: fx.lab.region }, error: { code: 'E_ACCESS_DENIED' } }]);
    expect(entries.at(-1)?.type).toBe('collection.nothing-selected');
    expect(Object.keys(entries.at(-1)!.data)).not.toContain('unsearchedScopes');

    const unsearched = [{ selector: 'tag:Incident=INC-TYPO', scope: `account 333333333333 in ${fx.lab.region}`, code: 'E_ACCESS_DENIED' }];
    deny();
    const json = await custody(['collect', '--case', 'IR-S3-PART', '--resume', '--config', fx.configPath, '--analyst', 'alice', '--json'], { cwd: fx.dir });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ nothingSelected: { selectors: ['tag:Incident=INC-TYPO'], unsearchedScopes: unsearched }, exitCode: 3 });

    deny();
    const result = await collect({ config: loadConfig(fx.configPath), caseId: 'IR-S3-PART', resume: true, analyst: 'alice' });
    expect(result.nothingSelected).toEqual({ selectors: ['tag:Incident=INC-TYPO'], unsearchedScopes: unsearched });
  });

  it('a selector whose every search is denied leaves the case open, not closed or copied, records the failures with their codes, exits 2 naming the selector and the resume; --resume searches it again, then closes and copies', async () => {
    const config = configWithBucket();
    // Both allowed accounts' searches are refused: the selector failed, it did not match nothing.
    fx.lab.control.failNext({ action: 'ec2:DescribeInstances', code: 'UnauthorizedOperation', status: 403, message: 'You are not authorized to perform this operation.', count: 2 });
    const run = await custody(['collect', '--case', 'IR-S3-DENIED', '--config', config, '--analyst', 'alice', '--select', 'tag:Incident=INC-42'], { cwd: fx.dir });
    expect(run.code, run.stderr + run.stdout).toBe(2);
    expect(run.stdout).toContain('Nothing was selected: the search for tag:Incident=INC-42 failed (E_ACCESS_DENIED).');
    expect(run.stdout).toContain(
      'Case IR-S3-DENIED is left open (not closed, not copied): once the search can run (the reason is above: a permission, the provider), search again with custody collect --case IR-S3-DENIED --resume, or continue it with a corrected selector: --resume --select EXPR',
    );
    const entries = typesOf('IR-S3-DENIED');
    expect(entries.map((e) => e.type).slice(-2)).toEqual(['selector.failed', 'collection.nothing-selected']);
    expect(entries.at(-2)?.data).toMatchObject({ selector: 'tag:Incident=INC-42', error: { code: 'E_ACCESS_DENIED' } });
    expect(entries.at(-1)?.data).toMatchObject({ selectors: ['tag:Incident=INC-42'], failedSearches: [{ selector: 'tag:Incident=INC-42', code: 'E_ACCESS_DENIED' }], total: 1 });
    expect(entries.some((e) => e.type === 'case.closed')).toBe(false);
    expect(existsSync(join(fx.dir, 'cases', 'IR-S3-DENIED', 'manifest.json'))).toBe(false);
    expect(copiedKeys('IR-S3-DENIED')).toEqual([]);

    fx.lab.control.failNext({ action: 'ec2:DescribeInstances', code: 'UnauthorizedOperation', status: 403, message: 'You are not authorized to perform this operation.', count: 2 });
    const json = await custody(['collect', '--case', 'IR-S3-DENIED', '--resume', '--config', config, '--analyst', 'alice', '--json'], { cwd: fx.dir });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      nothingSelected: { selectors: ['tag:Incident=INC-42'], failedSearches: [{ selector: 'tag:Incident=INC-42', code: 'E_ACCESS_DENIED' }] },
      outcomes: [{ target: 'tag:Incident=INC-42', status: 'failed', error: { code: 'E_ACCESS_DENIED' } }],
      verify: null,
      interrupted: false,
      exitCode: 2,
    });

    // The permission fixed: --resume alone searches the recorded selector again.
    const resumed = await custody(['collect', '--case', 'IR-S3-DENIED', '--resume', '--config', config, '--analyst', 'alice'], { cwd: fx.dir });
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stdout).toContain(`copied: ${url('IR-S3-DENIED')}`);
    expect(typesOf('IR-S3-DENIED').filter((e) => e.type === 'case.closed')).toHaveLength(1);
  });

  it('the library: a selector that matches nothing returns nothingSelected with the case left open; resume: true with another selector closes and copies it', async () => {
    const config = loadConfig(configWithBucket());
    const first = await collect({ config, caseId: 'IR-S3-EMPTY-LIB', analyst: 'hook', selectors: ['tag:Incident=INC-TYPO'] });
    expect(first).toMatchObject({ nothingSelected: { selectors: ['tag:Incident=INC-TYPO'] }, verify: undefined, interrupted: false, outcomes: [] });
    expect(first.copy).toBeUndefined();
    expect(typesOf('IR-S3-EMPTY-LIB').some((e) => e.type === 'case.closed')).toBe(false);
    expect(copiedKeys('IR-S3-EMPTY-LIB')).toEqual([]);
    const second = await collect({ config, caseId: 'IR-S3-EMPTY-LIB', analyst: 'hook', selectors: ['tag:Incident=INC-42'], resume: true });
    expect(second.nothingSelected).toBeUndefined();
    expect(second.outcomes).toEqual([expect.objectContaining({ target: fx.instanceArn('worker-07'), status: 'collected' })]);
    expect(second.verify?.ok).toBe(true);
    expect(second.copy?.ok).toBe(true);
  });

  it('copy-case --analyst with no AWS credentials at all exits 3 (configuration, nothing sent) with the AWS_PROFILE / SSO hint, records the refusal, and a copy-case with credentials then copies', async () => {
    const config = configWithBucket();
    const collected = await custody(['collect', '--case', 'IR-S3-7', '--config', fx.configPath, '--analyst', 'alice', fx.instanceArn('web-01')], { cwd: fx.dir });
    expect(collected.code, collected.stdout).toBe(0);
    const caseDir = join(fx.dir, 'cases', 'IR-S3-7');
    const home = mkdtempSync(join(tmpdir(), 'custody-nocreds-'));
    const env = { HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'), AWS_REGION: fx.lab.region };
    const puts = fx.lab.control.totalCalls('s3:PutObject');
    const run = await runCliChild(['copy-case', caseDir, '--config', config, '--analyst', 'alice'], env);
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(run.stdout + run.stderr).toContain('aws sso login');
    expect(fx.lab.control.totalCalls('s3:PutObject')).toBe(puts);
    const failed = readFileSync(join(caseDir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: { error?: { code?: string } } }).filter((e) => e.type === 'copy.failed');
    expect(failed.map((e) => e.data.error?.code)).toEqual(['E_CONFIG']);
    const retry = await custody(['copy-case', caseDir, '--config', config, '--analyst', 'alice']);
    expect(retry.code, retry.stderr + retry.stdout).toBe(0);
  }, 60_000);

  it('copy-case without a configured bucket is a configuration error', async () => {
    const run = await custody(['copy-case', join(fx.dir, 'cases', 'IR-S3-1'), '--config', fx.configPath]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('aws.evidenceBucket is not configured');
  });
});
