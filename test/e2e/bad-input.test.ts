import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { custody } from './cli-run.js';
import { useLabFixture } from './lab-fixture.js';

const fx = useLabFixture({ credentials: true });

const ledgerOf = (caseDir: string) =>
  readFileSync(join(caseDir, 'ledger.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; target?: string; data: Record<string, unknown> });

const collect = (caseId: string, ...args: string[]) =>
  custody(['collect', '--case', caseId, '--analyst', 'alice', '--config', fx.configPath, ...args], { cwd: fx.dir });

describe('bad input through the CLI: refused with the right exit code, nothing collected lost', () => {
  let goodCase: string;
  let goodManifest: string;

  beforeAll(async () => {
    const run = await collect('IR-GOOD', fx.instanceArn('web-01'));
    expect(run.code).toBe(EXIT.OK);
    goodCase = join(fx.dir, 'cases', 'IR-GOOD');
    goodManifest = readFileSync(join(goodCase, 'manifest.json'), 'utf8');
  }, 60_000);

  it('a malformed ARN is refused before any case is opened (exit 3) with the expected form', async () => {
    const run = await collect('IR-BAD-ARN', 'arn:aws:ec2:us-east-1:222222222222:instance/web-01');
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toMatch(/^custody: invalid target .*"web-01" is not an instance id.*Expected arn:aws:ec2:REGION:ACCOUNT:instance\/i-/);
    expect(existsSync(join(fx.dir, 'cases', 'IR-BAD-ARN'))).toBe(false);
  });

  it('an account outside the allowed list is refused before any call to it (exit 3), and the case records why', async () => {
    const before = fx.lab.control.totalCalls('sts:AssumeRole');
    const arn = 'arn:aws:ec2:us-east-1:444444444444:instance/i-0123456789abcdef0';
    const run = await collect('IR-FOREIGN', arn);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stdout).toContain('444444444444');
    expect(fx.lab.calls()['444444444444']).toBeUndefined();
    expect(fx.lab.control.totalCalls('sts:AssumeRole')).toBe(before);
    const refused = ledgerOf(join(fx.dir, 'cases', 'IR-FOREIGN')).find((e) => e.type === 'target.refused')!;
    expect(refused.target).toBe(arn);
    expect(refused.data).toMatchObject({ error: { code: 'E_ACCOUNT_NOT_ALLOWED' } });
  });

  it('an instance that does not exist fails (exit 2) saying so, and the case records it', async () => {
    const arn = 'arn:aws:ec2:us-east-1:222222222222:instance/i-00000000000000000';
    const run = await collect('IR-GHOST', '--json', arn);
    expect(run.code).toBe(EXIT.FAILED);
    const doc = JSON.parse(run.stdout) as { outcomes: Array<{ status: string; error: { code: string } }>; verify: { ok: boolean } };
    expect(doc.outcomes[0]).toMatchObject({ status: 'failed', error: { code: 'E_NOT_FOUND' } });
    expect(doc.verify.ok).toBe(true);
  }, 30_000);

  it('an untagged instance is refused by the collector policy (exit 2): the message and the ledger name the action and the resource', async () => {
    const arn = fx.instanceArn('batch-01');
    const run = await collect('IR-UNTAGGED', arn);
    expect(run.code).toBe(EXIT.FAILED);
    expect(run.stdout).toContain('ec2:CreateSnapshots');
    expect(run.stdout).toContain(arn);
    const completed = ledgerOf(join(fx.dir, 'cases', 'IR-UNTAGGED')).find((e) => e.type === 'target.completed')!;
    expect(completed).toMatchObject({ target: arn, data: { status: 'failed', error: { code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshots' } } });
  }, 30_000);

  it.each([
    ['a slash', 'IR/1'],
    ['..', '..'],
    ['a leading ..', '../IR-GOOD'],
  ])('a case id with %s is refused (exit 3) and no folder is created outside the cases folder', async (_name, caseId) => {
    const run = await collect(caseId, fx.instanceArn('web-01'));
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain(`invalid case id "${caseId}"`);
    expect(readFileSync(join(goodCase, 'manifest.json'), 'utf8')).toBe(goodManifest);
  });

  it('a missing config is exit 3 and says where it looked', async () => {
    const run = await custody(['collect', '--case', 'IR-NOCONF', '--analyst', 'alice', fx.instanceArn('web-01')], { cwd: join(fx.dir, 'cases') });
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain(join(fx.dir, 'cases', 'custody.config.json'));
  });

  it('an invalid config is exit 3 and names the field', async () => {
    const bad = join(fx.dir, 'bad.json');
    const config = JSON.parse(readFileSync(fx.configPath, 'utf8')) as { aws: Record<string, unknown> };
    config.aws.region = 'mars-1';
    writeFileSync(bad, JSON.stringify(config));
    const run = await custody(['collect', '--case', 'IR-BADCONF', '--config', bad, fx.instanceArn('web-01')], { cwd: fx.dir });
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('aws.region: must be an AWS region');
  });

  it('bad input against an existing case leaves what it collected intact and verifiable', async () => {
    const malformed = await collect('IR-GOOD', '--resume', 'arn:aws:ec2:us-east-1:222222222222:volume/vol-zz');
    expect(malformed.code).toBe(EXIT.BAD_INPUT);
    expect(readFileSync(join(goodCase, 'manifest.json'), 'utf8')).toBe(goodManifest);

    const foreign = await collect('IR-GOOD', '--resume', 'arn:aws:ec2:us-east-1:444444444444:instance/i-0123456789abcdef0');
    expect(foreign.code).toBe(EXIT.BAD_INPUT);
    const verify = await custody(['verify', goodCase]);
    expect(verify.code).toBe(EXIT.OK);
    const entries = ledgerOf(goodCase);
    expect(entries.filter((e) => e.type === 'target.completed' && e.data.status === 'collected').map((e) => e.target)).toEqual([fx.instanceArn('web-01')]);
    expect(entries.some((e) => e.type === 'target.refused')).toBe(true);
  }, 30_000);
});
