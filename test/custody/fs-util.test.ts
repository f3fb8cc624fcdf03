import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syncDirShared } from '../../src/custody/fs-util.js';

describe('syncDirShared', () => {
  it('files placed in one folder together share one directory fsync', async () => {
    let syncs = 0;
    const sync = async () => { syncs += 1; };
    await Promise.all(Array.from({ length: 5 }, () => syncDirShared('/case/evidence/ev-1', sync)));
    expect(syncs).toBe(1);
  });

  it('a file placed while an fsync runs waits for the next one, which starts after it', async () => {
    const events: string[] = [];
    let release!: () => void;
    let first = true;
    const sync = async () => {
      events.push('sync started');
      if (first) {
        first = false;
        await new Promise<void>((r) => (release = r));
      }
      events.push('sync done');
    };
    const early = syncDirShared('/case/evidence/ev-2', sync).then(() => events.push('early resolved'));
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['sync started']);
    const late = syncDirShared('/case/evidence/ev-2', sync).then(() => events.push('late resolved'));
    release();
    await Promise.all([early, late]);
    // Two fsyncs: the late caller is covered only by the one that started after its call.
    expect(events.filter((e) => e === 'sync started')).toHaveLength(2);
    expect(events.indexOf('early resolved')).toBeGreaterThan(events.indexOf('sync done'));
    expect(events.indexOf('late resolved')).toBeGreaterThan(events.lastIndexOf('sync done'));
    expect(events.lastIndexOf('sync started')).toBeGreaterThan(events.indexOf('sync done'));
  });

  it('a real folder is synced, and one that cannot be opened is not an error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'custody-sync-'));
    try {
      await expect(syncDirShared(dir)).resolves.toBeUndefined();
      await expect(syncDirShared(join(dir, 'missing'))).resolves.toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
