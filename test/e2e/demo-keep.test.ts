// `custody demo --keep` as a user runs it: the lab stays up, and from another shell (another
// process, with only lab.env's variables) preflight and collect work against it.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { runCliChild, startCli } from './child-cli.js';
import type { ChildResult, ChildRun } from './child-cli.js';

let dir: string;
let demo: ChildRun;
let demoOutput = '';
let envFile: string;
let configPath: string;

/** Resolves once the child has printed `pattern` on stdout; rejects if it exits first. */
function waitForOutput(run: ChildRun, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pattern.test(demoOutput)) resolve();
    };
    run.child.stdout!.on('data', (d: Buffer) => {
      demoOutput += d.toString();
      check();
    });
    void run.done.then((r) => reject(new Error(`the demo exited (${String(r.code)}) before printing ${String(pattern)}:\n${r.stdout}\n${r.stderr}`)));
  });
}

/** The variables a shell would have after `. lab.env` (the file's `export NAME=value` lines). */
function sourceLabEnv(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^export (\w+)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!.replace(/^'(.*)'$/, '$1');
  }
  return env;
}

// Each command below is a child process that loads every configured provider's SDK (AWS,
// Kubernetes, GCP): on a loaded machine one can take over a minute; correctness never depends on it.
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'custody-keep-e2e-'));
  envFile = join(dir, 'lab.env');
  configPath = join(dir, 'custody.config.json');
  // A clean environment: no AWS credentials reach the demo or the commands below except lab.env's.
  demo = startCli(['demo', '--keep', '--dir', dir], {});
  await waitForOutput(demo, /In another shell:[\s\S]*removed when the lab stops/);
}, 240_000);

afterAll(async () => {
  if (demo.child.exitCode === null && demo.child.signalCode === null) {
    demo.child.kill('SIGKILL');
    await demo.done;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('custody demo --keep: the kept lab is usable from another shell', () => {
  it('writes lab.env (0600, marked as lab-only keys) and prints exactly what to run next', () => {
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const text = readFileSync(envFile, 'utf8');
    expect(text).toMatch(/^# .*lab-only keys, valid only against the rehearsal lab at http:\/\/127\.0\.0\.1:\d+/);
    expect(text).toContain('not real cloud credentials');
    expect(text).toContain('unset AWS_PROFILE AWS_SESSION_TOKEN GOOGLE_APPLICATION_CREDENTIALS\n');
    expect(Object.keys(sourceLabEnv(envFile)).sort()).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_REGION',
      'AWS_SECRET_ACCESS_KEY',
      'CLOUDSDK_CONFIG',
      'GCE_METADATA_HOST',
      'METADATA_SERVER_DETECTION',
    ]);
    // Every cloud's lab by its label (AWS first: its keys are what lab.env holds).
    expect(demoOutput).toMatch(/The lab keeps running at http:\/\/127\.0\.0\.1:\d+ \(AWS\)(, https?:\/\/127\.0\.0\.1:\d+ \(\w+\))+; press Ctrl-C to stop it\. In another shell:/);
    expect(demoOutput).toMatch(/https:\/\/127\.0\.0\.1:\d+ \(Azure\)/);
    expect(demoOutput).toMatch(/http:\/\/127\.0\.0\.1:\d+ \(GCP\)/);
    expect(demoOutput).toContain(`  . ${envFile}\n`);
    expect(demoOutput).toContain(`  custody preflight --config ${configPath}\n`);
    expect(demoOutput).toMatch(new RegExp(`  custody plan --config ${configPath} arn:aws:ec2:us-east-1:\\d{12}:instance/i-[0-9a-f]+\\n`));
    expect(demoOutput).toContain(`  custody plan --config ${configPath} //compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1\n`);
    expect(demoOutput).toContain(`  custody collect --config ${configPath} --case LAB-CASE-1 --select tag:Incident=INC-42\n`);
  });

  it('preflight with lab.env’s variables passes every AWS check in both target accounts and the forensics account, and every GCP check', async () => {
    const run = await runCliChild(['preflight', '--config', configPath, '--json'], sourceLabEnv(envFile));
    expect(run.stderr).toBe('');
    const doc = JSON.parse(run.stdout) as { rows: Array<{ provider: string; scope: [string, string]; check: string; result: string; need?: string; detail: string }> };
    // The lab's clusters bind the collector as the shipped RoleBindings say, in the namespace each
    // collects from, and the demo config names it (kubernetes.clusters.*.namespaces): without
    // --namespace preflight checks there, and every required row passes.
    expect(run.code, JSON.stringify(doc.rows.filter((r) => r.need === 'required' && r.result !== 'ok'))).toBe(EXIT.OK);
    const k8s = doc.rows.filter((r) => r.provider === 'kubernetes');
    expect(k8s.filter((r) => r.need === 'required' && r.result !== 'ok')).toEqual([]);
    expect(k8s.some((r) => r.scope[1] === 'default')).toBe(false);
    const aws = doc.rows.filter((r) => r.provider === 'aws');
    // Both target accounts, and the forensics account's own side (the copy it keeps).
    expect(new Set(aws.map((r) => r.scope[0]))).toEqual(new Set(['111111111111', '222222222222', '333333333333']));
    expect(aws.filter((r) => r.result !== 'ok')).toEqual([]);
    expect(aws.find((r) => r.check === 'forensics-copy')).toMatchObject({ scope: ['111111111111', 'us-east-1'], result: 'ok' });
    expect(aws.filter((r) => r.check === 'assume-role')).toHaveLength(2);
    // The GCP side through the same lab.env (ADC on the lab's metadata server): impersonation and grants in both projects.
    const gcp = doc.rows.filter((r) => r.provider === 'gcp');
    expect(new Set(gcp.map((r) => r.scope[0]))).toEqual(new Set(['web-prod', 'gke-prod']));
    expect(gcp.filter((r) => r.result !== 'ok')).toEqual([]);
  }, 240_000);

  it('plan of the suggested GCE instance against the kept lab names the GCP permissions', async () => {
    const run = await runCliChild(['plan', '--config', configPath, '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1'], sourceLabEnv(envFile));
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain('compute.disks.createSnapshot');
  }, 240_000);

  it('collect of the suggested tag selector against the kept lab collects the incident’s host', async () => {
    const run = await runCliChild(['collect', '--config', configPath, '--case', 'LAB-KEEP-1', '--select', 'tag:Incident=INC-42', '--json'], sourceLabEnv(envFile));
    expect(run.code).toBe(EXIT.OK);
    const doc = JSON.parse(run.stdout) as { caseDir: string; outcomes: Array<{ target: string; status: string }>; verify: { ok: boolean } };
    expect(doc.outcomes).toEqual([expect.objectContaining({ target: expect.stringMatching(/^arn:aws:ec2:us-east-1:333333333333:instance\/i-/), status: 'collected' })]);
    expect(doc.verify.ok).toBe(true);
    expect(doc.caseDir).toBe(join(dir, 'cases', 'LAB-KEEP-1'));
  }, 240_000);

  it('without lab.env the same preflight cannot get in: the keys come from the file, nowhere else', async () => {
    const run = await runCliChild(['preflight', '--config', configPath, '--json', '--account', '222222222222'], { AWS_EC2_METADATA_DISABLED: 'true' });
    expect(run.code).toBe(EXIT.PARTIAL);
    const doc = JSON.parse(run.stdout) as { rows: Array<{ check: string; result: string; detail: string }> };
    expect(doc.rows[0]).toMatchObject({ check: 'assume-role', result: 'error', detail: expect.stringContaining('Could not load credentials') });
  }, 240_000);

  // SIGTERM (a container or Job being stopped) takes the same path as Ctrl-C (main.ts aborts the
  // same signal for both; interrupt.test.ts sends each to a collection).
  it('SIGTERM, like Ctrl-C, stops the lab, ends the demo with its own exit code and removes lab.env', async () => {
    demo.child.kill('SIGTERM');
    const result: ChildResult = await demo.done;
    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout).toContain('Stopping the lab and removing lab.env');
    expect(existsSync(envFile)).toBe(false);
  }, 30_000);
});
