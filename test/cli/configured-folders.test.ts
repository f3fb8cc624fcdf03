/**
 * Folders named by the configuration (casesDir, keysDir) or by `demo --dir` that cannot be
 * folders are bad configuration: exit 3 naming the path, nothing left behind, and never a hang.
 * Runs the real custody code; every refusal happens before any cloud call.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { custody } from '../e2e/cli-run.js';

const TARGET = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0';

describe('filesystem configuration errors are bad configuration (exit 3), naming the path', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'custody-fsconfig-'));
    writeFileSync(join(dir, 'a-file'), 'not a folder');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const collectWith = (paths: { casesDir?: string; keysDir?: string }, extra: string[] = []) => {
    const config = {
      casesDir: paths.casesDir ?? 'cases',
      keysDir: paths.keysDir ?? 'keys',
      // Endpoints nobody listens on: nothing here may get as far as a cloud call.
      aws: {
        forensicsAccount: '111111111111',
        region: 'us-east-1',
        allowedAccounts: ['222222222222'],
        endpoints: { sts: 'http://127.0.0.1:9', ec2: 'http://127.0.0.1:9', kms: 'http://127.0.0.1:9', ebs: 'http://127.0.0.1:9' },
      },
    };
    writeFileSync(join(dir, 'custody.config.json'), JSON.stringify(config));
    return custody(['collect', '--case', 'IR-1', '--analyst', 'alice', ...extra, TARGET], { cwd: dir });
  };

  it.each([
    ['casesDir is a file', { casesDir: 'a-file' }, 'casesDir', 'a-file'],
    ['keysDir is a file', { keysDir: 'a-file' }, 'keysDir', 'a-file'],
    ['keysDir under a file (cannot be created)', { keysDir: 'a-file/keys' }, 'keysDir', 'a-file/keys'],
    ['keysDir under /proc/self (recursive mkdir would loop forever there)', { keysDir: '/proc/self/custody-keys' }, 'keysDir', '/proc/self/custody-keys'],
    ['casesDir under /proc/self', { casesDir: '/proc/self/custody-cases' }, 'casesDir', '/proc/self/custody-cases'],
  ])('%s', async (_name, paths, field, path) => {
    const run = await collectWith(paths);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    const abs = path.startsWith('/') ? path : join(dir, path);
    expect(run.stderr).toContain(`${field} ${abs} cannot be used as a folder`);
    expect(run.stderr).toContain('[E_CONFIG]');
    // Nothing left behind: no case folder (or .lock) for the corrected rerun to trip over.
    const cases = join(dir, 'cases');
    expect(existsSync(cases) ? readdirSync(cases) : []).toEqual([]);
  }, 20_000);

  it('collect --image naming a file is exit 3 naming it, before the case is opened or a cloud called', async () => {
    // It was found only after the snapshots were taken, when the first disk's image was written.
    const run = await collectWith({}, ['--image', join(dir, 'a-file')]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain(`--image ${join(dir, 'a-file')} cannot be used as a folder`);
    expect(run.stderr).not.toContain('credentials');
    const cases = join(dir, 'cases');
    expect(existsSync(cases) ? readdirSync(cases) : []).toEqual([]);
  }, 20_000);

  it('collect --image inside the case folder is not made before the case is opened (it would read as "already exists")', async () => {
    const run = await collectWith({}, ['--image', join(dir, 'cases', 'IR-1', 'images')]);
    // Refused later, by the (unreachable) cloud, never by the folders.
    expect(run.stderr).not.toContain('already exists');
    expect(run.stderr).not.toContain('cannot be used as a folder');
    expect(existsSync(join(dir, 'cases', 'IR-1'))).toBe(false);
  }, 60_000);

  it('demo --dir naming a file is exit 3 naming it, before any lab starts', async () => {
    const run = await custody(['demo', '--dir', join(dir, 'a-file')]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain(`--dir ${join(dir, 'a-file')} cannot be used as a folder`);
  });

  it('a keysDir that is a folder still works from the case id up (the check does not refuse good paths)', async () => {
    mkdirSync(join(dir, 'keys'));
    const run = await collectWith({ keysDir: join(dir, 'deep', 'er', 'keys') });
    // Refused later, by the (unreachable) cloud, never by the folders.
    expect(run.stderr).not.toContain('cannot be used as a folder');
    expect(existsSync(join(dir, 'deep', 'er', 'keys'))).toBe(true);
  }, 60_000);
});
