/**
 * `npx custody` outside the checkout resolves the npm package named `custody`, which is not this
 * tool: no doc, help text or output may tell a user to run it. The README warns against it, once.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COLLECT_HELP, DEMO_HELP, MAIN_HELP, REPORT_HELP, VERIFY_HELP } from '../../src/cli/help.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NPX_CUSTODY = /npx\s+custody/;
const THIS_FILE = 'test/cli/no-npx.test.ts';

describe('nothing tells a user to run npx custody', () => {
  it('no tracked file mentions it, except the README warning against it', () => {
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && f !== THIS_FILE && !f.endsWith('package-lock.json') && !/\.(png|jpe?g|pdf|gz|zip)$/.test(f));
    const hits: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(`${ROOT}${file}`, 'utf8');
      } catch {
        continue; // listed but deleted in the working tree
      }
      text.split('\n').forEach((line, i) => {
        if (NPX_CUSTODY.test(line)) hits.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatch(/^README\.md:\d+: .*Do \*\*not\*\* run `npx custody` outside this$/);
  });

  it('the README installs the CLI, and its two commands are still the demo and npm test', () => {
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    expect(readme).toContain('npm install -g .');
    expect(readme).toContain('npm install -g cloud-custody');
    const twoCommands = /## Two commands\n\n```sh\n(.*)\n(.*)\n```/.exec(readme);
    expect(twoCommands?.[1]).toMatch(/^npm ci && npm run demo\s+#/);
    expect(twoCommands?.[2]).toMatch(/^npm test\s+#/);
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { name: string; bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.name).toBe('cloud-custody');
    expect(pkg.bin.custody).toBe('bin/custody.js');
    expect(pkg.scripts.demo).toBe('node bin/custody.js demo');
  });

  it('no help text says it', () => {
    for (const help of [MAIN_HELP, COLLECT_HELP, VERIFY_HELP, REPORT_HELP, DEMO_HELP]) expect(help).not.toMatch(NPX_CUSTODY);
  });
});
