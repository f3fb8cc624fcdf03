/**
 * report.md and report.html are one pair: a report written into the case folder replaces both or
 * neither. A write of the HTML that fails (the disk fills) is simulated: `node:fs/promises`'
 * `open` hands back, for a report.html file, a handle whose write stops part-way with ENOSPC.
 */
import type * as FsPromises from 'node:fs/promises';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderReport } from '../../src/custody/index.js';
import { buildClosedCase, useScratch } from './helpers.js';

const fault = { html: false };

vi.mock('node:fs/promises', async (original) => {
  const fs = await original<typeof FsPromises>();
  const open = (async (path: string, ...rest: unknown[]) => {
    const handle = await (fs.open as (...a: unknown[]) => Promise<FsPromises.FileHandle>)(path, ...rest);
    if (!fault.html || !basename(String(path)).startsWith('report.html')) return handle;
    return new Proxy(handle, {
      get(target, key) {
        if (key !== 'writeFile') return Reflect.get(target, key, target) as unknown;
        return async (text: string) => {
          await target.writeFile(text.slice(0, 10));
          throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
        };
      },
    });
  }) as typeof fs.open;
  return { ...fs, open, default: { ...fs, open } };
});

describe('the report pair in the case folder', () => {
  const scratch = useScratch();
  afterEach(() => {
    fault.html = false;
  });

  it('a report.html that cannot be written leaves the old pair as it was, and no temporary file', async () => {
    const kase = await buildClosedCase(scratch);
    await writeFile(join(kase.caseDir, 'report.md'), 'old markdown\n');
    await writeFile(join(kase.caseDir, 'report.html'), '<p>old html</p>\n');
    const names = (await readdir(kase.caseDir)).sort();

    fault.html = true;
    const error = await renderReport(kase.caseDir).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/ENOSPC/);

    expect(await readFile(join(kase.caseDir, 'report.md'), 'utf8')).toBe('old markdown\n');
    expect(await readFile(join(kase.caseDir, 'report.html'), 'utf8')).toBe('<p>old html</p>\n');
    expect((await readdir(kase.caseDir)).sort()).toEqual(names);
  });

  it('a report that is written replaces both files, and leaves nothing else behind', async () => {
    const kase = await buildClosedCase(scratch);
    await writeFile(join(kase.caseDir, 'report.md'), 'old markdown\n');
    await writeFile(join(kase.caseDir, 'report.html'), '<p>old html</p>\n');
    const names = (await readdir(kase.caseDir)).sort();

    await renderReport(kase.caseDir);

    expect(await readFile(join(kase.caseDir, 'report.md'), 'utf8')).toMatch(/^# /);
    expect(await readFile(join(kase.caseDir, 'report.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/i);
    expect((await readdir(kase.caseDir)).sort()).toEqual(names);
  });
});
