/**
 * Every kind of problem verify reports is looked up in docs/verify.md: counsel or an analyst
 * verifying a case months later has that page and the verdict, not the source. The kinds are
 * the `ProblemKind` union (src/custody/problems.ts) and the `kind: '…'` literals of the modules
 * that build a Problem, so a new kind without its row fails here; and the other way round, a row
 * for a kind the code does not know (renamed or removed) fails too: a reader would look for it in
 * vain. Each row's verdict (fails / warns) is held to how the code reports the kind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');
const KIND = /^[a-z]+(?:-[a-z]+)*$/;

type Severity = 'error' | 'warning';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === join(SRC, 'lab') ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The members of the `ProblemKind` union. */
function knownKinds(): Set<string> {
  const text = readFileSync(join(SRC, 'custody', 'problems.ts'), 'utf8');
  const union = /export type ProblemKind =([^;]*);/.exec(text)?.[1] ?? '';
  return new Set([...union.matchAll(/\|\s*'([^']+)'/g)].map((m) => m[1]!));
}

/**
 * Where a problem is built, what its severity is: the call or field that opens the object whose
 * `kind:` this is. `fail(`, `error(` and `severity: 'error'` make an error; `warn(` and
 * `severity: 'warning'` a warning; `.report(` either (the caller chooses: not-closed and
 * --allow-open); `return {` a helper whose callers choose (left undetermined).
 */
const OPENER = /\b(fail|error|warn)\(\{|\.report\(\{|severity: '(error|warning)'|\breturn \{/g;

function severitiesAt(text: string, at: number): Severity[] {
  let last: RegExpExecArray | undefined;
  for (const m of text.slice(0, at).matchAll(OPENER)) last = m;
  if (!last) return [];
  const [whole, call, severity] = last;
  if (call === 'warn' || severity === 'warning') return ['warning'];
  if (call === 'fail' || call === 'error' || severity === 'error') return ['error'];
  return whole.startsWith('.report') ? ['error', 'warning'] : [];
}

/** Per kind the product reports, the files that build it and the severities they give it. */
function producedKinds(known: ReadonlySet<string>): Map<string, { files: Set<string>; severities: Set<Severity> }> {
  const produced = new Map<string, { files: Set<string>; severities: Set<Severity> }>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    // Only modules that build a Problem: elsewhere `kind` is a target's, an artefact's, …
    if (!/from '\.\/problems\.js'/.test(text)) continue;
    for (const m of text.matchAll(/\bkind: '([^']+)'/g)) {
      const kind = m[1]!;
      if (!known.has(kind)) continue;
      const entry = produced.get(kind) ?? { files: new Set(), severities: new Set() };
      entry.files.add(file.slice(ROOT.length + 1));
      for (const s of severitiesAt(text, m.index)) entry.severities.add(s);
      produced.set(kind, entry);
    }
  }
  return produced;
}

/** The rows of the page's tables headed `| kind | verdict |`: the kind and the severities its verdict names. */
function documentedKinds(doc: string): Array<{ kind: string; severities: Severity[] }> {
  const rows: Array<{ kind: string; severities: Severity[] }> = [];
  let inTable = false;
  for (const line of doc.split('\n')) {
    if (/^\|\s*kind\s*\|\s*verdict\s*\|/.test(line)) {
      inTable = true;
      continue;
    }
    if (!line.startsWith('|')) inTable = false;
    if (!inTable || /^\|\s*-/.test(line)) continue;
    const [, first = '', verdict = ''] = line.split('|');
    const kind = /`([^`]+)`/.exec(first)?.[1] ?? first.trim();
    const severities: Severity[] = [];
    if (/\bfails\b/.test(verdict)) severities.push('error');
    if (/\bwarns\b/.test(verdict)) severities.push('warning');
    rows.push({ kind, severities });
  }
  return rows;
}

describe('docs/verify.md', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'verify.md'), 'utf8');
  const known = knownKinds();
  const produced = producedKinds(known);
  const rows = documentedKinds(doc);

  it('finds the kinds the code knows and reports, by every way it builds them', () => {
    expect(known.size).toBeGreaterThan(30);
    // verify.ts, chain.ts, disk-images.ts and immutable-copy.ts (verify --against).
    for (const kind of ['ledger-missing', 'hash-mismatch', 'changed-file', 'copy-retention-ended']) expect(produced.has(kind)).toBe(true);
    expect(produced.get('bad-signature')?.severities).toEqual(new Set(['error']));
    expect(produced.get('linked-file')?.severities).toEqual(new Set(['warning']));
    expect(produced.get('not-closed')?.severities).toEqual(new Set(['error', 'warning']));
  });

  it('every kind the code knows is reported somewhere', () => {
    expect([...known].filter((kind) => !produced.has(kind))).toEqual([]);
  });

  it('documents every kind the code reports', () => {
    const documented = new Set(rows.map((r) => r.kind));
    const undocumented = [...produced].filter(([kind]) => !documented.has(kind)).map(([kind, { files }]) => `${kind} (${[...files].join(', ')})`);
    expect(undocumented).toEqual([]);
  });

  it('documents no kind the code does not know', () => {
    expect(rows.length).toBeGreaterThan(30);
    expect(rows.filter((r) => !KIND.test(r.kind) || !known.has(r.kind)).map((r) => r.kind)).toEqual([]);
  });

  it('says of each kind whether it fails or warns, as the code reports it', () => {
    const documented = new Map<string, Set<Severity>>();
    for (const row of rows) {
      expect(row.severities, `${row.kind}: its verdict says neither fails nor warns`).not.toEqual([]);
      documented.set(row.kind, new Set([...(documented.get(row.kind) ?? []), ...row.severities]));
    }
    // A kind built only by a helper (hash-mismatch) has no severity of its own to compare.
    const compared = [...produced].filter(([, { severities }]) => severities.size > 0);
    expect(compared.length).toBeGreaterThan(30);
    const differ = compared
      .filter(([kind, { severities }]) => [...severities].sort().join() !== [...(documented.get(kind) ?? [])].sort().join())
      .map(([kind, { severities }]) => `${kind}: code ${[...severities].sort().join(' and ')}, page ${[...(documented.get(kind) ?? [])].sort().join(' and ') || 'nothing'}`);
    expect(differ).toEqual([]);
  });
});
