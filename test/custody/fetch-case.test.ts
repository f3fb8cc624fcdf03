/**
 * fetch-case that fails (a case not in the bucket, a mistyped URL) leaves nothing behind: not
 * the folder, nor the folders above it that it made for it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/core/errors.js';
import { fetchCase, type ImmutableStore } from '../../src/custody/immutable-copy.js';
import { openCase } from '../../src/custody/index.js';
import { caseOptions, errorOf, useScratch } from './helpers.js';

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

describe('fetch-case of a copy whose ledger names an unsafe evidence path', () => {
  const scratch = useScratch();

  it('refuses it, quoting the path with its direction override escaped', async () => {
    const kase = await openCase(caseOptions(scratch, { caseId: 'IR-FETCH-ODD' }));
    await kase.storeEvidence({ evidenceId: 'ev-1', name: 'a.txt', kind: 'console-output', source: 'i-1', content: 'log\n' });
    await kase.close({ outcomes: [] });
    // A tampered copy: its ledger leads the evidence path out of evidence/, behind a direction override.
    const ledger = (await readFile(join(kase.caseDir, 'ledger.jsonl'), 'utf8')).replace('"evidence/ev-1/a.txt"', '"evidence/../\\u202etxt.exe"');
    const bodies: Record<string, string> = { 'ledger.jsonl': ledger, 'manifest.json': await readFile(join(kase.caseDir, 'manifest.json'), 'utf8') };
    const tampered: ImmutableStore = {
      ...emptyStore,
      download: (path) => Promise.resolve({ body: (async function* () { yield Buffer.from(bodies[path] ?? ''); })() }),
    };
    const error = await errorOf(fetchCase(tampered, join(scratch.root, 'restored', 'IR-FETCH-ODD')));
    expect(error.code).toBe('E_VERIFY');
    expect(error.message).toContain('unsafe evidence path "evidence/../\\u202etxt.exe"');
    expect(error.message).not.toContain('\u202e');
  });
});
