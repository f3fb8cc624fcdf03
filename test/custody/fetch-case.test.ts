/**
 * fetch-case that fails (a case not in the bucket, a mistyped URL) leaves nothing behind: not
 * the folder, nor the folders above it that it made for it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/core/errors.js';
import { fetchCase, type ImmutableStore } from '../../src/custody/immutable-copy.js';
import { errorOf, useScratch } from './helpers.js';

/** A bucket that holds no copy of the case. */
const emptyStore: ImmutableStore = {
  url: 's3://evidence/cases/IR-NONE',
  bucket: 'evidence',
  keyFor: (path) => `cases/IR-NONE/${path}`,
  upload: () => Promise.reject(new Error('not used')),
  inspect: () => Promise.resolve(undefined),
  download: (path) => Promise.reject(new CustodyError('E_NOT_FOUND', `s3://evidence/cases/IR-NONE/${path} is not in the bucket`)),
};

describe('fetch-case of a copy that is not there', () => {
  const scratch = useScratch();

  it('fails naming the object and creates no folder, not even the parents of --dir', async () => {
    const before = await readdir(scratch.root);
    const error = await errorOf(fetchCase(emptyStore, join(scratch.root, 'restored', 'IR-NONE')));
    expect(error.code).toBe('E_NOT_FOUND');
    expect(error.message).toContain('ledger.jsonl is not in the bucket');
    expect(existsSync(join(scratch.root, 'restored'))).toBe(false);
    expect(await readdir(scratch.root)).toEqual(before);
  });
});

describe('fetch-case into a folder this user cannot write (read-only media)', () => {
  const scratch = useScratch();
  const undo: Array<() => void> = [];
  afterEach(() => {
    for (const step of undo.splice(0)) step();
  });

  it('is bad input naming --dir, never an internal error or a hint that another fetch is running', async () => {
    const media = join(scratch.root, 'media');
    await mkdir(media);
    // Root ignores permission bits, so as root the folder is made immutable instead (EPERM).
    const asRoot = process.getuid?.() === 0;
    execFileSync(asRoot ? 'chattr' : 'chmod', [asRoot ? '+i' : 'a-w', media]);
    undo.push(() => execFileSync(asRoot ? 'chattr' : 'chmod', [asRoot ? '-i' : 'u+w', media]));
    for (const dir of [join(media, 'IR-NONE'), join(media, 'restored', 'IR-NONE')]) {
      const error = await errorOf(fetchCase(emptyStore, dir));
      expect([dir, error.code]).toEqual([dir, 'E_INPUT']);
      expect(error.message).toMatch(new RegExp(`^cannot create the folder for --dir ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\((EACCES|EPERM): .*\\): give a --dir this user can write$`));
    }
    expect(await readdir(media)).toEqual([]);
  });
});
