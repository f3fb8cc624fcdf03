/**
 * Every ledger entry type the product writes is described in docs/ledger-format.md: an analyst or
 * counsel reading a case months later has that page and the ledger, not the source. The types
 * are found in the source (src/, not the lab) where entries are written, so a new entry type
 * without its line in the page fails here; and the other way round, an entry type the page's
 * tables describe that nothing writes (renamed or removed in the code) fails too: a reader would
 * look for it in vain, or take its absence from a case for a gap.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEDGER_EVENTS } from '../../src/core/ledger-events.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');
// `snapshot.failed`, `node.not-mapped`, `restorepoint.collection.created`: lower case, dotted.
const TYPE = /^[a-z]+(?:-[a-z]+)*(?:\.[a-z]+(?:-[a-z]+)*)+$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === join(SRC, 'lab') ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The string literals in `text`. */
function literals(text: string): string[] {
  return [...text.matchAll(/'([^'\n]*)'/g)].map((m) => m[1]!);
}

/**
 * Where entries are written: the first argument of `record(…)` / `append(…)` (a literal, or a
 * choice between literals), and the `type:` (a literal, or a choice) of the before/after objects
 * recordMutation takes.
 */
function writtenTypes(text: string): string[] {
  const firstArguments = [...text.matchAll(/\b(?:record|append)\(\s*([^,()]*?),/g)].flatMap((m) => literals(m[1]!));
  // `type: 'a'`, or a choice `type: listed ? 'a' : 'b'`.
  const mutationTypes = [...text.matchAll(/\btype:\s*([^,}\n]*)/g)].flatMap((m) => literals(m[1]!));
  return [...firstArguments, ...mutationTypes].filter((t) => TYPE.test(t));
}

const written = new Map<string, string>();
for (const file of sourceFiles(SRC)) {
  for (const type of writtenTypes(readFileSync(file, 'utf8'))) if (!written.has(type)) written.set(type, file.slice(ROOT.length + 1));
}
for (const type of Object.values(LEDGER_EVENTS)) if (!written.has(type)) written.set(type, 'src/core/ledger-events.ts');

/**
 * The entry types the page's tables describe: the first column of every table headed `| type |`
 * (one entry type per row, or `a` / `b` choices) or `| entry |` (fields added to an entry).
 */
function documentedTypes(doc: string): string[] {
  const types: string[] = [];
  let inEntryTable = false;
  for (const line of doc.split('\n')) {
    if (/^\|\s*(?:type|entry)\s*\|/.test(line)) {
      inEntryTable = true;
      continue;
    }
    if (!line.startsWith('|')) inEntryTable = false;
    if (!inEntryTable) continue;
    const firstCell = line.split('|')[1] ?? '';
    types.push(...[...firstCell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((t) => TYPE.test(t)));
  }
  return types;
}

describe('docs/ledger-format.md', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'ledger-format.md'), 'utf8');

  it('finds the entry types the source writes, by every way it writes them', () => {
    expect(written.size).toBeGreaterThan(70);
    // A literal record(…), a choice of two, a recordMutation `type:` (a literal, a choice), a LEDGER_EVENTS constant.
    for (const type of ['case.closed', 'collection.interrupted', 'change.applied', 'snapshot.share-unconfirmed', 'snapshot.failed', 'disk.hashed']) expect(written.has(type)).toBe(true);
  });

  it('describes every entry type the product writes', () => {
    const undocumented = [...written].filter(([type]) => !doc.includes(`\`${type}\``)).map(([type, file]) => `${type} (${file})`);
    expect(undocumented).toEqual([]);
  });

  it('describes no entry type the product never writes', () => {
    const described = documentedTypes(doc);
    expect(described.length).toBeGreaterThan(70);
    const neverWritten = [...new Set(described)].filter((type) => !written.has(type));
    expect(neverWritten).toEqual([]);
  });
});
