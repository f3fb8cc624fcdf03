/**
 * A folder given to `custody verify` that is not a case but holds case folders is refused naming
 * a few of them: names read from disk, so one holding an escape sequence, a newline and a fake
 * verdict is shown escaped on the terminal.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { custody } from '../e2e/cli-run.js';
import { expectNoRawControls, HOSTILE, HOSTILE_SHOWN } from '../custody/hostile-text.js';
import { useScratch } from '../custody/helpers.js';

describe('custody verify on a folder of case folders with a hostile name', () => {
  const scratch = useScratch();

  it('lists the case folders it holds escaped, so none can forge a line of output', async () => {
    const planted = join(scratch.casesDir, `IR-1${HOSTILE}`);
    await mkdir(planted, { recursive: true });
    await writeFile(join(planted, 'ledger.jsonl'), '');
    const run = await custody(['verify', scratch.casesDir]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('it holds case folders');
    // One line (the CLI ends it), which carries no raw control of its own.
    expect(run.stderr.endsWith('\n')).toBe(true);
    expectNoRawControls(run.stderr.slice(0, -1));
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`IR-1${HOSTILE_SHOWN}`);
  });
});
