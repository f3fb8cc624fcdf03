import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCase } from '../../src/custody/index.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
// A provider SDK: what `custody verify` (an analyst, offline, months later) and `--help` must not load.
const SDK = /\/node_modules\/(@aws-sdk|@smithy|@kubernetes\/client-node|@azure|@google-cloud|googleapis|google-auth-library)\//;

let dir: string;
let caseDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lazy-'));
  const kase = await openCase({ casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId: 'IR-LAZY', analyst: 'alice', toolVersion: 'test' });
  await kase.close({ outcomes: [] });
  caseDir = kase.caseDir;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI from source with a hook that lists every module it resolved. */
async function modulesLoadedBy(args: string[]): Promise<{ modules: string[]; stdout: string }> {
  const log = join(dir, `modules-${args[0]}.txt`);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--import', './test/fixtures/record-modules.mjs', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, MODULE_LOG: log },
  });
  return { modules: (await readFile(log, 'utf8')).split('\n'), stdout };
}

describe('provider SDKs are loaded only by the commands that call a cloud', () => {
  it('custody verify loads no provider SDK', async () => {
    const { modules, stdout } = await modulesLoadedBy(['verify', caseDir]);
    expect(stdout).toMatch(/verif/i);
    expect(modules.some((m) => m.includes('/src/custody/verify.ts'))).toBe(true);
    expect(modules.filter((m) => SDK.test(m))).toEqual([]);
  });

  it('custody --help and custody collect --help load no provider SDK, yet list every provider\'s forms and flags', async () => {
    expect((await modulesLoadedBy(['--help'])).modules.filter((m) => SDK.test(m))).toEqual([]);
    const { modules, stdout } = await modulesLoadedBy(['collect', '--help']);
    expect(stdout).toContain('arn:aws:ec2:REGION:ACCOUNT:instance/i-…');
    expect(stdout).toContain('--retrieve-checkpoint');
    expect(modules.filter((m) => SDK.test(m))).toEqual([]);
  });

  it('the hook does see an SDK when one is loaded (plan creates the providers)', async () => {
    const config = join(dir, 'config.json');
    await (await import('node:fs/promises')).writeFile(config, JSON.stringify({ aws: { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222'] } }));
    const { modules } = await modulesLoadedBy(['plan', '--config', config, 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0']);
    expect(modules.some((m) => SDK.test(m))).toBe(true);
  });
});
