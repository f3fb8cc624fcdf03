/**
 * The deploy pages' commands name the shipped files so that they work for a user who installed
 * the package (`npm install -g cloud-custody`: the files are under `$(npm root -g)/cloud-custody`)
 * as for a checkout: through `$CC`, which each page sets, and only files package.json's `files`
 * ships. Every infra/ or policies/ path a page names, in a command or not, exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');
const SHIPPED = (JSON.parse(read('package.json')) as { files: string[] }).files;
const PAGES = ['docs/deploy-aws.md', 'docs/deploy-azure.md', 'docs/deploy-gcp.md', 'docs/kubernetes.md', 'README.md'];
const CC = 'CC="$(npm root -g)/cloud-custody"';
/** A path into the shipped folders, with what precedes it on its line. */
const PATH = /(\S*?)((?:infra|policies)\/[\w./-]*[\w-])/g;

/** What a user pastes into a shell: the ```sh blocks, and inline code spans that run a command. */
function commands(page: string): string[] {
  const blocks = [...page.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const inline = [...page.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!).filter((c) => /^(kubectl|aws|az|terraform|sed|cp|mkdir) /.test(c));
  return [...blocks, ...inline];
}

describe.each(PAGES)('%s', (name) => {
  const page = read(name);

  it('names every shipped file a command uses through $CC, a file package.json ships', () => {
    const paths = commands(page).flatMap((c) => [...c.matchAll(PATH)]);
    for (const [, before, path] of paths) {
      expect(`${before}${path}`, `${path} in a command of ${name}`).toMatch(/\$CC\/(infra|policies)\//);
      expect(existsSync(`${ROOT}${path}`), path).toBe(true);
      expect(SHIPPED, path).toContain(path!.split('/')[0]);
    }
  });

  it('sets CC (installed package, or a checkout) before the first command that uses it', () => {
    const used = page.indexOf('$CC/');
    if (used === -1) return;
    expect(page.indexOf(CC), `${name} sets ${CC}`).toBeGreaterThan(-1);
    expect(page.indexOf(CC)).toBeLessThan(used);
  });

  it('names only infra/ and policies/ files that exist', () => {
    const named = [...page.matchAll(/(?<![\w$/-])(?:\.\.\/)*((?:infra|policies)\/[\w./-]*[\w-])/g)].map((m) => m[1]!);
    for (const path of named) expect(existsSync(`${ROOT}${path}`), `${path} in ${name}`).toBe(true);
  });
});

it('the deploy pages are all there is: every docs page with a command that uses a shipped file is checked', () => {
  const pages = ['deploy-aws.md', 'deploy-azure.md', 'deploy-gcp.md', 'kubernetes.md', 'azure.md', 'gcp.md', 'providers.md', 'ledger-format.md'];
  const using = pages.filter((p) => commands(read(`docs/${p}`)).some((c) => /(?:infra|policies)\//.test(c)));
  expect(using.map((p) => `docs/${p}`).every((p) => PAGES.includes(p))).toBe(true);
});
