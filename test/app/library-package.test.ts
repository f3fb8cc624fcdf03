import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoScenario, startLab, type RunningLab } from '../../src/lab/index.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

let lab: RunningLab;
let dir: string;
beforeAll(async () => {
  lab = await startLab(demoScenario({ snapshotDurationMs: 200 }));
  dir = await mkdtemp(join(tmpdir(), 'custody-lambda-'));
  // Installed as a dependency of the function: node_modules/cloud-custody is the package.
  await mkdir(join(dir, 'node_modules'));
  await symlink(ROOT, join(dir, 'node_modules', 'cloud-custody'), 'dir');
}, 60_000);
afterAll(async () => {
  await lab?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Whether dist/ was built from the sources as they are: every .ts file under src/ has its .js and
 * .d.ts, newer than it and than the files that decide the build. `npm ci` builds (prepare), and CI
 * then runs this file under two runtimes: building again there changed nothing but cost ~15 CPU s
 * each time. After any edit (or a checkout that touched a source) the test builds again.
 */
async function distIsCurrent(): Promise<boolean> {
  const buildInputs = ['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => join(ROOT, f));
  const newest = Math.max(...(await Promise.all(buildInputs.map(async (f) => (await stat(f)).mtimeMs))));
  const sources = (await readdir(join(ROOT, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts'));
  for (const source of sources) {
    const built = join(ROOT, 'dist', source).replace(/\.ts$/, '');
    const since = Math.max(newest, (await stat(join(ROOT, 'src', source))).mtimeMs);
    for (const output of [`${built}.js`, `${built}.d.ts`]) {
      const at = await stat(output).then((s) => s.mtimeMs, () => undefined);
      if (at === undefined || at < since) return false;
    }
  }
  return true;
}

// A Lambda handler as a responder would write it: the package by name, a finding in, a case out.
const HANDLER = `
import { collect, REGISTRY, verify } from 'cloud-custody';

export async function handler(event) {
  const result = await collect({
    config: event.config,
    configBase: event.workDir,
    caseId: event.caseId,
    analyst: 'guardduty-hook',
    targets: [event.instanceArn],
  });
  // Later, as the README shows: the case checked against the values kept apart from it.
  const again = await verify(result.caseDir, { expectKey: 'sha256:' + result.keyFingerprint, expectHead: result.verify?.head });
  return { caseDir: result.caseDir, outcomes: result.outcomes.map((o) => [o.target, o.status]), verified: result.verify?.ok, verifiedAgain: again.ok, providers: REGISTRY.modules.map((m) => m.name) };
}

const out = await handler(JSON.parse(process.env.EVENT));
process.stdout.write(JSON.stringify(out));
`;

const TYPED_HANDLER = `
import { collect, verify, CustodyError, exitCodeFor, type CollectCaseResult, type ErrorCode } from 'cloud-custody';

interface Finding { caseId: string; analyst?: string; arns: string[]; preserve?: boolean; head?: string; resume?: boolean }

export async function handler(event: Finding, signal?: AbortSignal): Promise<CollectCaseResult | { code: ErrorCode; exit: number }> {
  try {
    const result = await collect({
      config: { casesDir: '/tmp/cases', aws: { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222'] } },
      caseId: event.caseId,
      analyst: event.analyst,
      targets: event.arns,
      options: { preserve: event.preserve === true },
      resume: event.resume,
      signal,
    });
    await verify(result.caseDir, { expectHead: event.head, expectKey: result.keyFingerprint });
    return result;
  } catch (error) {
    if (error instanceof CustodyError) return { code: error.code, exit: exitCodeFor(error) };
    throw error;
  }
}
`;

describe('the library API, built and imported by name', () => {
  it('npm run build (unless dist/ is already built from these sources), then a Lambda-style handler imports cloud-custody and collects a lab case that verifies', async () => {
    if (!(await distIsCurrent())) await run('npm', ['run', 'build'], { cwd: ROOT });
    expect(await distIsCurrent()).toBe(true);
    await writeFile(join(dir, 'handler.mjs'), HANDLER);
    const web = [...lab.state.region(lab.region).instances.values()].find((i) => i.tags.Name === 'web-01')!;
    const instanceArn = `arn:aws:ec2:${web.region}:${web.ownerId}:instance/${web.id}`;
    const event = {
      caseId: 'IR-LAMBDA-1',
      workDir: dir,
      instanceArn,
      config: {
        casesDir: 'cases',
        keysDir: 'keys',
        aws: { forensicsAccount: lab.forensicsAccount, region: lab.region, allowedAccounts: ['222222222222', '333333333333'], endpoints: { sts: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint } },
      },
    };
    const { stdout } = await run(process.execPath, ['handler.mjs'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        EVENT: JSON.stringify(event),
        AWS_ACCESS_KEY_ID: lab.orchestratorCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: lab.orchestratorCredentials.secretAccessKey,
        AWS_REGION: lab.region,
      },
    });
    const out = JSON.parse(stdout) as { caseDir: string; outcomes: Array<[string, string]>; verified: boolean; verifiedAgain: boolean; providers: string[] };
    expect(out.outcomes).toEqual([[instanceArn, 'collected']]);
    expect(out.verified).toBe(true);
    expect(out.verifiedAgain).toBe(true);
    expect(out.caseDir).toBe(join(dir, 'cases', 'IR-LAMBDA-1'));
    expect(out.providers).toEqual(['aws', 'kubernetes', 'azure', 'gcp']);
  }, 120_000);

  it("README's library example, and a typed handler passing optional event fields through, type-check against the built package's types, by name, under strict settings", async () => {
    // The README's own text: a change to the API that breaks it breaks this test.
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Library API'));
    const example = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toContain("from 'cloud-custody'");
    // `signal` is the caller's (a Lambda's deadline, a playbook's cancel button).
    await writeFile(join(dir, 'readme-example.ts'), `${example}\ndeclare const signal: AbortSignal;\n`);
    // A typed handler passes its event's optional fields straight through, as the JS one does.
    await writeFile(join(dir, 'typed-handler.ts'), TYPED_HANDLER);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, exactOptionalPropertyTypes: true,
          noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['readme-example.ts', 'typed-handler.ts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(
      () => '',
      (e: { stdout?: string }) => e.stdout ?? String(e),
    );
    expect(checked).toBe('');
  }, 60_000);

  it('the types resolve by name too (package.json exports and types)', async () => {
    const pkg = JSON.parse(await (await import('node:fs/promises')).readFile(join(ROOT, 'package.json'), 'utf8')) as { types: string; exports: Record<string, { types: string; import: string }> };
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
    expect(pkg.types).toBe('./dist/index.d.ts');
  });
});
