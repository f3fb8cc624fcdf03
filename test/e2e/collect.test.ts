import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { custody } from './cli-run.js';
import { useLabFixture } from './lab-fixture.js';

const fx = useLabFixture({ credentials: true });

function ledgerOf(caseId: string): Array<{ type: string; data: Record<string, unknown> }> {
  return readFileSync(join(fx.dir, 'cases', caseId, 'ledger.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
}

describe('custody collect and plan against the lab', () => {
  it('plan shows the steps, calls and permissions and makes no call at all', async () => {
    fx.lab.control.resetCalls();
    const run = await custody(['plan', '--config', fx.configPath, fx.instanceArn('web-01')], { cwd: fx.dir });
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain('changes ec2:CreateSnapshots');
    expect(run.stdout).toContain('sts:AssumeRole');
    expect(run.stdout).toContain('Nothing was called or written.');
    expect(fx.lab.control.totalCalls()).toBe(0);
  });

  it('a tag selector finds the tagged instance in the allowed accounts and collects it, recording the search', async () => {
    const run = await custody(
      ['collect', '--case', 'IR-SELECT', '--analyst', 'alice', '--config', fx.configPath, '--json', '--select', 'tag:Incident=INC-42'],
      { cwd: fx.dir },
    );
    expect(run.code).toBe(EXIT.OK);
    const doc = JSON.parse(run.stdout) as { outcomes: Array<{ target: string; status: string }> };
    expect(doc.outcomes).toEqual([expect.objectContaining({ target: fx.instanceArn('worker-07'), status: 'collected' })]);
    const resolved = ledgerOf('IR-SELECT').find((e) => e.type === 'selector.resolved');
    expect(resolved?.data).toMatchObject({ selector: 'tag:Incident=INC-42', targets: [fx.instanceArn('worker-07')] });
  }, 30_000);

  it('config aws.hash turns hashing on without --hash: collection.started records hash true, from the config, and the disk is hashed', async () => {
    const config = JSON.parse(readFileSync(fx.configPath, 'utf8')) as { aws: Record<string, unknown> & { endpoints: Record<string, string> } };
    config.aws.endpoints = { ...config.aws.endpoints, ebs: fx.lab.endpoint };
    config.aws.hash = true;
    const configPath = join(fx.dir, 'hash.config.json');
    writeFileSync(configPath, JSON.stringify(config));
    // plan shows what collect will do with that config: the hash step too.
    const plan = await custody(['plan', '--config', configPath, fx.instanceArn('web-01')], { cwd: fx.dir });
    expect(plan.stdout).toContain('ebs:GetSnapshotBlock');
    const run = await custody(['collect', '--case', 'IR-CONFIG-HASH', '--analyst', 'alice', '--config', configPath, fx.instanceArn('web-01')], { cwd: fx.dir });
    expect(run.code, run.stderr + run.stdout).toBe(EXIT.OK);
    const entries = ledgerOf('IR-CONFIG-HASH');
    const started = entries.find((e) => e.type === 'collection.started');
    expect(started?.data).toMatchObject({ options: { hash: true, hashSource: false }, optionsFromConfig: { hash: 'aws.hash' } });
    const hashed = entries.filter((e) => e.type === 'disk.hashed').map((e) => e.data.volumeId);
    expect(hashed.sort()).toEqual([...fx.volumeIdsOf('web-01')].sort());
  }, 60_000);

  it('options given on the command line are recorded without optionsFromConfig when the config turns none on', async () => {
    const run = await custody(['collect', '--case', 'IR-FLAGS', '--analyst', 'alice', '--config', fx.configPath, '--screenshot', fx.instanceArn('api-01')], { cwd: fx.dir });
    expect(run.code, run.stderr + run.stdout).toBe(EXIT.OK);
    const started = ledgerOf('IR-FLAGS').find((e) => e.type === 'collection.started');
    expect(started?.data.options).toMatchObject({ screenshot: true, hash: false });
    expect(started?.data).not.toHaveProperty('optionsFromConfig');
  }, 30_000);

  it('the analyst defaults to the caller identity of the forensics credentials', async () => {
    const run = await custody(['collect', '--case', 'IR-WHO', '--config', fx.configPath, '--json', fx.instanceArn('api-01')], { cwd: fx.dir });
    expect(run.code).toBe(EXIT.OK);
    const doc = JSON.parse(run.stdout) as { analyst: string };
    expect(doc.analyst).toMatch(/^arn:aws:sts::111111111111:assumed-role\//);
  }, 30_000);
});

describe('custody preflight against the lab', () => {
  it('assumes the collector role in every allowed account and dry-runs the mutations, changing nothing', async () => {
    const snapshotsBefore = fx.lab.state.regionNames().reduce((n, r) => n + fx.lab.state.region(r).snapshots.size, 0);
    const run = await custody(['preflight', '--config', fx.configPath, '--json'], { cwd: fx.dir });
    const doc = JSON.parse(run.stdout) as { rows: Array<{ scope: string[]; check: string; result: string }> };
    for (const account of ['222222222222', '333333333333']) {
      expect(doc.rows).toContainEqual(expect.objectContaining({ scope: [account, 'us-east-1'], check: 'assume-role', result: 'ok' }));
      expect(doc.rows).toContainEqual(expect.objectContaining({ scope: [account, 'us-east-1'], check: 'create-snapshots', result: 'ok' }));
    }
    expect(fx.lab.state.regionNames().reduce((n, r) => n + fx.lab.state.region(r).snapshots.size, 0)).toBe(snapshotsBefore);
  }, 30_000);

  it('names the denied action for an untagged instance', async () => {
    const run = await custody(['preflight', '--config', fx.configPath, fx.instanceArn('batch-01')], { cwd: fx.dir });
    expect(run.code).toBe(EXIT.FAILED);
    expect(run.stdout).toMatch(/create-snapshots\s+denied\s+ec2:CreateSnapshots\s+denied: ec2:CreateSnapshots on arn:aws:ec2:us-east-1:222222222222:instance\//);
  }, 30_000);
});
