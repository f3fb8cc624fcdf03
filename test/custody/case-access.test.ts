/**
 * An examiner who is not the user who collected (case folders are 0700, their files 0600) runs
 * verify or report: told which folder or file this user may not read, whose it is, and how to
 * get a case they can read (exit 3) — never the system's bare EACCES, "there is no case folder",
 * or a case called NOT verified. Permissions are simulated (root reads everything): `node:fs`
 * answers EACCES for the paths a test denies, as the kernel would; one test uses real permissions
 * when not run as root.
 */
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { verify } from '../../src/app/library.js';
import { EXIT } from '../../src/core/errors.js';
import type { CaseHandle } from '../../src/custody/index.js';
import { custody } from '../e2e/cli-run.js';
import { buildClosedCase, errorOf, useScratch } from './helpers.js';
import { denied } from './denied-fs.js';

vi.mock('node:fs', async (original) => (await import('./denied-fs.js')).deniedFs(await original()));
vi.mock('node:fs/promises', async (original) => (await import('./denied-fs.js')).deniedFsPromises(await original()));

const HINT =
  'case folders are readable only by the user who collected them. Run custody as that user; or work on a copy this user can read ' +
  '(custody fetch-case from the evidence bucket, or cp -a by a user who can read the case, then chown -R to this user); ' +
  'or have the owner grant this user read access to the folder and everything in it [E_INPUT]\n';
const me = `this user is uid ${process.getuid?.()}`;

describe("verify and report of another user's case", () => {
  const scratch = useScratch();
  let kase: CaseHandle;

  beforeEach(async () => {
    denied.clear();
    kase = await buildClosedCase(scratch);
  });

  it('a case folder this user may not list: verify and report exit 3 naming the folder, its mode and owner, and the ways to read it', async () => {
    denied.folders.add(kase.caseDir);
    const said = `custody: cannot read the case folder ${kase.caseDir} (mode 700, owner uid ${process.getuid?.()}), and ${me} [EACCES]; ${HINT}`;
    const verified = await custody(['verify', kase.caseDir]);
    expect([verified.code, verified.stderr, verified.stdout]).toEqual([EXIT.BAD_INPUT, said, '']);
    const reported = await custody(['report', kase.caseDir, '--out', join(scratch.root, 'out')]);
    expect([reported.code, reported.stderr]).toEqual([EXIT.BAD_INPUT, said]);
    const json = JSON.parse((await custody(['verify', '--json', kase.caseDir])).stdout) as { error: { code: string; message: string }; exitCode: number };
    expect(json).toMatchObject({ error: { code: 'E_INPUT' }, exitCode: EXIT.BAD_INPUT });
    expect(json.error.message).toContain(`cannot read the case folder ${kase.caseDir}`);
  });

  it('a case folder under a casesDir this user may not search: named as that folder, not as "there is no case folder"', async () => {
    denied.folders.add(scratch.casesDir);
    const run = await custody(['verify', kase.caseDir]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toBe(`custody: cannot read the case folder ${kase.caseDir}: this user may not search ${scratch.casesDir} above it (mode ${await modeOf(scratch.casesDir)}, owner uid ${process.getuid?.()}), and ${me} [EACCES]; ${HINT}`);
    // The library's verify refuses it the same way, before verifying anything.
    const error = await errorOf(verify(kase.caseDir));
    expect([error.code, error.message]).toEqual(['E_INPUT', run.stderr.replace(/^custody: /, '').replace(/ \[E_INPUT\]\n$/, '')]);
  });

  it('a folder opened to others whose ledger is still 0600: refused as unreadable, not verified as a case whose ledger is missing', async () => {
    const ledger = join(kase.caseDir, 'ledger.jsonl');
    denied.files.add(ledger);
    const run = await custody(['verify', kase.caseDir]);
    expect([run.code, run.stdout]).toEqual([EXIT.BAD_INPUT, '']);
    expect(run.stderr).toBe(`custody: cannot read the case's ledger ${ledger} (mode 600, owner uid ${process.getuid?.()}), and ${me} [EACCES]; ${HINT}`);
  });

  it.skipIf(process.getuid?.() === 0 || process.platform === 'win32')('with real permissions: a case folder of mode 000 is refused with the same words', async () => {
    await chmod(kase.caseDir, 0o000);
    try {
      const run = await custody(['verify', kase.caseDir]);
      expect(run.code).toBe(EXIT.BAD_INPUT);
      expect(run.stderr).toContain(`custody: cannot read the case folder ${kase.caseDir} (mode 0, owner uid ${process.getuid?.()})`);
    } finally {
      await chmod(kase.caseDir, 0o700);
    }
  });
});

async function modeOf(path: string): Promise<string> {
  const { stat } = await vi.importActual<typeof import('node:fs/promises')>('node:fs/promises');
  return ((await stat(path)).mode & 0o777).toString(8);
}
