import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The layers DESIGN.md draws, held by walking every import in src/.
const SRC = join(import.meta.dirname, '..', '..', 'src');
const SDK = /^(@aws-sdk|@smithy|@kubernetes\/client-node|@azure|@google-cloud|googleapis|google-auth-library|ws)(\/|$)/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

interface Import {
  from: string;
  /** Relative to src/ for project files, else the package specifier. */
  to: string;
  typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  const pattern = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(pattern)) {
    const spec = m[3] ?? m[4] ?? '';
    const to = spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts') : spec;
    found.push({ from: relative(SRC, file), to, typeOnly: m[2] !== undefined });
  }
  return found;
}

const imports = filesUnder(SRC).flatMap(importsOf);
const layerOf = (path: string) => path.split('/')[0] ?? '';
const providerOf = (path: string) => (path.startsWith('providers/') ? path.split('/')[1] : undefined);

describe('layers', () => {
  it('finds the imports it checks', () => {
    expect(imports.length).toBeGreaterThan(300);
    expect(imports.some((i) => i.from === 'providers/registry.ts' && i.to === 'providers/aws/module.ts')).toBe(true);
  });

  it('core imports no SDK and nothing from providers, custody, cli, app or lab', () => {
    const bad = imports.filter((i) => layerOf(i.from) === 'core' && (SDK.test(i.to) || ['providers', 'custody', 'cli', 'app', 'lab'].includes(layerOf(i.to))));
    expect(bad).toEqual([]);
  });

  it('custody imports no SDK, provider, cli, app or lab code', () => {
    // The off-machine copy's S3 store is given to custody by its caller (an interface), never imported.
    const bad = imports.filter((i) => layerOf(i.from) === 'custody' && (SDK.test(i.to) || ['providers', 'cli', 'app', 'lab'].includes(layerOf(i.to))));
    expect(bad).toEqual([]);
  });

  it('the application service (app/) imports no CLI and no lab: a Lambda function gets no demo', () => {
    const bad = imports.filter((i) => layerOf(i.from) === 'app' && ['cli', 'lab'].includes(layerOf(i.to)));
    expect(bad).toEqual([]);
  });

  it('a provider folder imports no other provider folder, nor the registry (shared code lives in providers/shared)', () => {
    const folder = (path: string) => (/^providers\/[^/]+\//.test(path) ? path.split('/')[1] : undefined);
    const bad = imports.filter((i) => {
      const own = folder(i.from);
      if (!own || own === 'shared') return false;
      const other = folder(i.to);
      // The composed config's type is the one root file a provider may name (type only).
      if (i.to === 'providers/config.ts') return !i.typeOnly;
      if (i.to.startsWith('providers/') && !other) return true;
      return other !== undefined && other !== own && other !== 'shared';
    });
    expect(bad).toEqual([]);
  });

  it('only provider folders, the lab and the CLI\'s lazy wiring import an SDK', () => {
    const bad = imports.filter((i) => SDK.test(i.to) && !['providers', 'lab'].includes(layerOf(i.from)));
    expect(bad).toEqual([]);
  });

  it('a provider\'s module.ts (loaded by every command) imports no SDK and none of its heavy files statically', () => {
    const heavy = imports.filter((i) => /^providers\/[^/]+\/module\.ts$/.test(i.from) && !i.typeOnly && (SDK.test(i.to) || /\/provider\.ts$|\/preflight\.ts$|\/credentials\.ts$/.test(i.to)));
    // Dynamic imports are allowed: the regex sees them too, so tell them apart by the text.
    const staticOnes = heavy.filter((i) => !readFileSync(join(SRC, i.from), 'utf8').includes(`import('./${i.to.split('/').pop()!.replace(/\.ts$/, '.js')}')`));
    expect(staticOnes).toEqual([]);
  });

  it('no static import cycle in src/ (the kernel is not the sequence: collect-pod.ts imports its steps, the steps import pod-run.ts)', () => {
    const graph = new Map<string, string[]>();
    for (const i of imports) {
      if (i.typeOnly || !i.to.endsWith('.ts')) continue;
      const text = readFileSync(join(SRC, i.from), 'utf8');
      // A dynamic import() is lazy loading, not a cycle at load time.
      if (text.includes(`import('${i.to.split('/').pop()!.replace(/\.ts$/, '.js')}`) && !new RegExp(`from ['"][^'"]*${i.to.split('/').pop()!.replace(/\.ts$/, '')}\\.js['"]`).test(text)) continue;
      graph.set(i.from, [...(graph.get(i.from) ?? []), i.to]);
    }
    const cycles: string[][] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (node: string, path: string[]) => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'open') {
        cycles.push([...path.slice(path.indexOf(node)), node]);
        return;
      }
      state.set(node, 'open');
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, 'done');
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });
});

describe('questions about the case past', () => {
  it('go to the case history (an index), never a scan of the ledger by a provider', () => {
    // `recorder.entries()` is the whole ledger: a provider asking it "hashed before?" per target
    // costs a scan each time (src/core/case-history.ts answers from an index instead).
    const scans = filesUnder(join(SRC, 'providers'))
      .filter((file) => /recorder\.entries\(\)/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SRC, file));
    expect(scans).toEqual([]);
  });
});
