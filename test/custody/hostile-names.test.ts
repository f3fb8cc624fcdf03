/**
 * Messages outside verify that quote what was found in a case folder (a name on disk, the lock
 * file's host, an fs error naming a path) reach a terminal too: a name holding an escape
 * sequence, a newline and a fake verdict must come out escaped, never able to forge a line.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCase } from '../../src/custody/index.js';
import { ensureConfiguredDir } from '../../src/custody/configured-dir.js';
import { showFsError, showGivenPath } from '../../src/custody/untrusted-text.js';
import { caseOptions, errorOf, useScratch } from './helpers.js';
import { expectNoRawControls, HOSTILE, HOSTILE_SHOWN } from './hostile-text.js';

describe('case folder names and lock contents in messages outside verify', () => {
  const scratch = useScratch();

  it('a resume refused for a foreign file names it escaped', async () => {
    const dir = join(scratch.casesDir, 'IR-2026-0042');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, HOSTILE), 'planted');
    const error = await errorOf(openCase(caseOptions(scratch, { resume: true })));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain('is not a case to resume');
    expectNoRawControls(error.message);
    expect(error.message).toContain(HOSTILE_SHOWN);
  });

  it('a lock held on another host names the host escaped', async () => {
    const first = await openCase(caseOptions(scratch));
    await first.release();
    await writeFile(join(first.caseDir, '.lock'), JSON.stringify({ pid: 1234, host: `bastion${HOSTILE}` }));
    const error = await errorOf(openCase(caseOptions(scratch, { resume: true })));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain('locked by a run on host');
    expectNoRawControls(error.message);
    expect(error.message).toContain(`bastion${HOSTILE_SHOWN}`);
  });

  it("an fs error's text, which quotes the path it failed on, is escaped", async () => {
    // A file in the way of a configured folder: stat answers ENOTDIR and names the whole path.
    await mkdir(scratch.root, { recursive: true });
    await writeFile(join(scratch.root, HOSTILE), 'a file, not a folder');
    const error = await errorOf(ensureConfiguredDir(join(scratch.root, HOSTILE, 'cases'), 'casesDir'));
    expect(error.code).toBe('E_CONFIG');
    expect(error.message).toContain('ENOTDIR');
    expectNoRawControls(error.message);
  });

  it('a path the user gave is shown whole when plain, however long, and escaped when not', () => {
    const long = `/srv/custody/${'matter-'.repeat(20)}/cases with spaces/IR-2026-0042`;
    expect(showGivenPath(long)).toBe(long);
    expect(showGivenPath(`/srv/${HOSTILE}`)).toBe(`"/srv/${HOSTILE_SHOWN}"`);
  });

  it('an fs error about no case folder keeps its paths where Node put them, escaped', () => {
    const cause = Object.assign(new Error(`ENOTDIR: not a directory, stat '/srv/${HOSTILE}/cases'`), { code: 'ENOTDIR', path: `/srv/${HOSTILE}/cases` });
    expect(showFsError(cause)).toBe("ENOTDIR: not a directory, stat '/srv/x\\u001b[2J\\u000averified: OK\\u202e/cases'");
  });
});
