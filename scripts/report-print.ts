/**
 * Renders a case's report.html in headless Chromium: an A4 PDF (as counsel would print it) and a
 * PNG of the first screen, beside the report. Without an argument it runs the demo first.
 *
 *   npm run report:screenshot                       # the demo's report
 *   npm run report:screenshot -- cases/IR-42        # a case folder (runs custody report first)
 *
 * Needs Chromium (`apt-get install chromium`, or CHROMIUM=/path/to/chrome).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findChromium, printReport } from '../test/support/chromium.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'bin', 'custody.js');

const chromium = findChromium();
if (!chromium) {
  console.error('report:screenshot needs Chromium: apt-get install chromium, or set CHROMIUM=/path/to/chrome');
  process.exit(3);
}
let caseDir = process.argv[2] ? resolve(process.argv[2]) : undefined;
if (!caseDir) {
  const dir = mkdtempSync(join(tmpdir(), 'custody-report-print-'));
  const demo = JSON.parse(execFileSync(process.execPath, [CLI, 'demo', '--dir', dir, '--json'], { encoding: 'utf8' })) as { caseDir: string };
  caseDir = demo.caseDir;
} else {
  execFileSync(process.execPath, [CLI, 'report', caseDir], { stdio: 'inherit' });
}
const html = join(caseDir, 'report.html');
if (!existsSync(html)) {
  console.error(`no report.html in ${caseDir}`);
  process.exit(3);
}
const out = printReport(chromium, html, join(caseDir, '..'));
console.log(`PDF (${out.pages} A4 pages): ${out.pdf}\nfirst screen: ${out.png}`);
