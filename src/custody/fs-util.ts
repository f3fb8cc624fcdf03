import { open } from 'node:fs/promises';

/** Makes new directory entries durable; not every platform allows fsync on a directory. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close().catch(() => undefined);
}
