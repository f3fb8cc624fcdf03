import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { custody } from './cli-run.js';
import { runCliChild } from './child-cli.js';
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

  it('an account outside the allowed list is refused before any call and before the case exists (exit 3); the corrected rerun runs as typed', async () => {
    const before = fx.lab.control.totalCalls('sts:AssumeRole');
    const arn = 'arn:aws:ec2:us-east-1:444444444444:instance/i-0123456789abcdef0';
    const run = await collect('IR-FOREIGN', arn, fx.instanceArn('web-01'));
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('444444444444');
    expect(run.stderr).toContain('Nothing was created');
    expect(fx.lab.calls()['444444444444']).toBeUndefined();
    expect(fx.lab.control.totalCalls('sts:AssumeRole')).toBe(before);
    expect(existsSync(join(fx.dir, 'cases', 'IR-FOREIGN'))).toBe(false);

    const corrected = await collect('IR-FOREIGN', fx.instanceArn('web-01'));
    expect(corrected.stderr).not.toContain('already exists');
    expect(corrected.code).toBe(EXIT.OK);
  }, 60_000);

  it('a selector naming a cluster the config does not have is refused before the case exists (exit 3), as a selector', async () => {
    const run = await collect('IR-NOCLUSTER', '--select', 'k8s:nowhere/shop?labels=app=web');
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('selector k8s:nowhere/shop?labels=app=web');
    expect(existsSync(join(fx.dir, 'cases', 'IR-NOCLUSTER'))).toBe(false);
  });

  it('a cluster whose kubeconfig file is missing, or does not parse, is refused before the case exists (exit 3), naming the cluster and the file', async () => {
    const config = JSON.parse(readFileSync(fx.configPath, 'utf8')) as Record<string, unknown>;
    const broken = join(fx.dir, 'broken-kubeconfig.yaml');
    writeFileSync(broken, 'apiVersion: v1\nclusters: [\n');
    const kubeconfigs = { missing: join(fx.dir, 'no-such-kubeconfig.yaml'), broken };
    for (const [caseId, kubeconfig] of [['IR-NOKUBECONFIG', kubeconfigs.missing], ['IR-BADKUBECONFIG', kubeconfigs.broken]] as const) {
      const configPath = join(fx.dir, `${caseId}.config.json`);
      writeFileSync(configPath, JSON.stringify({ ...config, kubernetes: { clusters: { prod: { kubeconfig } } } }));
      const run = await custody(['collect', '--case', caseId, '--analyst', 'alice', '--config', configPath, 'k8s:prod/shop/web-1'], { cwd: fx.dir });
      expect(run.code, run.stderr).toBe(EXIT.BAD_INPUT);
      expect(run.stderr).toContain('k8s:prod/shop/web-1: cluster "prod": cannot load kubeconfig');
      expect(run.stderr).toContain(kubeconfig);
      expect(run.stderr).toContain('Nothing was created');
      expect(existsSync(join(fx.dir, 'cases', caseId))).toBe(false);
    }
  }, 60_000);

  it('no AWS credentials at all: exit 3 with a hint about AWS_PROFILE / SSO, and no case folder', async () => {
    const home = mkdtempSync(join(tmpdir(), 'custody-nocreds-'));
    const env = {
      HOME: home,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(home, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
      AWS_REGION: fx.lab.region,
    };
    const run = await runCliChild(['collect', '--case', 'IR-NOCREDS', '--analyst', 'alice', '--config', fx.configPath, fx.instanceArn('web-01')], env);
    expect(run.code, run.stderr).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('AWS_PROFILE');
    expect(run.stderr).toContain('aws sso login');
    expect(existsSync(join(fx.dir, 'cases', 'IR-NOCREDS'))).toBe(false);
  }, 60_000);

  it('preflight --account for an account outside allowedAccounts is refused (exit 3) without assuming a role there', async () => {
    const before = fx.lab.control.totalCalls('sts:AssumeRole');
    const run = await custody(['preflight', '--account', '444444444444', '--config', fx.configPath], { cwd: fx.dir });
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('444444444444 is not in aws.allowedAccounts');
    expect(fx.lab.control.totalCalls('sts:AssumeRole')).toBe(before);
  });

  it('--resume of a case that does not exist is refused (exit 3) and creates nothing', async () => {
    const run = await collect('IR-NEVER-OPENED', '--resume', fx.instanceArn('web-01'));
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('there is no case IR-NEVER-OPENED');
    expect(existsSync(join(fx.dir, 'cases', 'IR-NEVER-OPENED'))).toBe(false);
  });

  it('--analyst "" is bad input (exit 3), not "use the caller identity"', async () => {
    const run = await custody(['collect', '--case', 'IR-NOBODY', '--analyst', '', '--config', fx.configPath, fx.instanceArn('web-01')], { cwd: fx.dir });
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('--analyst is empty');
    expect(existsSync(join(fx.dir, 'cases', 'IR-NOBODY'))).toBe(false);
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
    const ledgerBefore = readFileSync(join(goodCase, 'ledger.jsonl'), 'utf8');
    const malformed = await collect('IR-GOOD', '--resume', 'arn:aws:ec2:us-east-1:222222222222:volume/vol-zz');
    expect(malformed.code).toBe(EXIT.BAD_INPUT);
    expect(readFileSync(join(goodCase, 'manifest.json'), 'utf8')).toBe(goodManifest);

    const foreign = await collect('IR-GOOD', '--resume', 'arn:aws:ec2:us-east-1:444444444444:instance/i-0123456789abcdef0');
    expect(foreign.code).toBe(EXIT.BAD_INPUT);
    const verify = await custody(['verify', goodCase]);
    expect(verify.code).toBe(EXIT.OK);
    // Refused before the case was reopened: not one byte appended.
    expect(readFileSync(join(goodCase, 'ledger.jsonl'), 'utf8')).toBe(ledgerBefore);
    expect(readFileSync(join(goodCase, 'manifest.json'), 'utf8')).toBe(goodManifest);
  }, 30_000);
});
