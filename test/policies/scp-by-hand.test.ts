/**
 * The SCP is the one policy file no template fills: a user fills its placeholders by hand, as
 * docs/deploy-aws.md (step 4) and policies/aws/README.md show. Their commands are run here as a
 * user who installed the package (`npm install -g`) would run them: from another folder, with
 * only what package.json's `files` ships under `npm root -g` (no scripts/, no tsx).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, fillPolicy } from '../../scripts/policies.js';

const run = promisify(execFile);

/**
 * The first ```sh block after `heading` in `file`, up to the attaching `aws organizations` command,
 * after the page's `CC=` line when the block uses `$CC` without setting it (a page sets it once, in
 * an earlier step).
 */
function fillingCommands(file: string, heading: string): string {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  const after = text.slice(text.indexOf(heading));
  const block = /```sh\n([\s\S]*?)```/.exec(after)![1]!;
  const lines = block.split('\n');
  const attach = lines.findIndex((l) => l.startsWith('aws organizations'));
  const commands = lines.slice(0, attach === -1 ? undefined : attach);
  const setsCc = (line: string) => line.startsWith('CC=');
  if (commands.some((l) => l.includes('$CC')) && !commands.some(setsCc)) commands.unshift(text.split('\n').find(setsCc)!);
  return commands.join('\n');
}

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'custody-scp-'));
  // The global node_modules: cloud-custody holds what package.json's `files` ships, nothing else.
  const installed = join(dir, 'global', 'cloud-custody');
  await mkdir(installed, { recursive: true });
  const { files } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[] };
  for (const entry of files) if (existsSync(join(REPO_ROOT, entry))) await symlink(join(REPO_ROOT, entry), join(installed, entry));
  await symlink(join(REPO_ROOT, 'package.json'), join(installed, 'package.json'));
  // `npm root -g` answers that folder (the test asks no registry and installs nothing).
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'npm'), `#!/bin/sh\n[ "$1 $2" = "root -g" ] && echo '${join(dir, 'global')}' && exit 0\nexit 1\n`);
  await chmod(join(bin, 'npm'), 0o755);
  env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the SCP filled by hand, by an installed user', () => {
  it.each([
    ['docs/deploy-aws.md', '## 4. Protect the collection tag (SCP)'],
    ['policies/aws/README.md', 'To fill one by hand'],
  ])('%s: the commands write the SCP the policy file describes, every placeholder filled', async (file, heading) => {
    const work = await mkdtemp(join(dir, 'work-'));
    const commands = fillingCommands(file, heading);
    const { stdout } = await run('bash', ['-c', commands], { cwd: work, env }).catch((error: { stdout: string; stderr: string }) => ({ stdout: `${error.stdout}${error.stderr}` }));
    expect(stdout).toBe('scp.json: every placeholder filled\n');
    const written = JSON.parse(readFileSync(join(work, 'scp.json'), 'utf8')) as unknown;
    expect(written).toEqual(
      fillPolicy('protect-collection-tag-scp', { CollectionTagKey: 'ForensicsEnabled', TagAdminPrincipalArnPattern: 'arn:aws:iam::*:role/platform/tag-admin/*' }),
    );
  });
});
