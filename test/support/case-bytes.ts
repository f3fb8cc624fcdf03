// Leak checks of a case folder: every file holding a secret, and a redacted file's record.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import type { LedgerEntry } from '../../src/core/ports.js';

/** Every file under `caseDir` whose bytes contain `needle` (what a leak check greps for). */
export function filesHolding(caseDir: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && readFileSync(path).includes(needle)) found.push(relative(caseDir, path));
    }
  };
  walk(caseDir);
  return found;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Checks the `evidence.stored` entry of a redacted file: `sha256` is the stored bytes', and
 * `redaction` lists `redacted` and the hash of the file with each `[cut, original]` put back (the
 * file as it would have been). Returns the stored text.
 */
export function expectRedactionRecord(caseDir: string, stored: LedgerEntry, putBack: Array<[string, string]>, redacted: Array<{ path: string; kind: string }>): string {
  const text = readFileSync(join(caseDir, String(stored.data.path)), 'utf8');
  const original = putBack.reduce((t, [cut, was]) => t.replace(cut, was), text);
  expect(stored.data).toMatchObject({ sha256: sha(text), redaction: { originalSha256: sha(original), redacted } });
  return text;
}
