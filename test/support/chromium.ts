/**
 * Headless Chromium for checking how report.html prints: shared by the print test and
 * `npm run report:screenshot`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The Chromium binary: $CHROMIUM, else the first of the usual names on PATH. */
export function findChromium(): string | undefined {
  if (process.env.CHROMIUM && existsSync(process.env.CHROMIUM)) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    for (const dir of (process.env.PATH ?? '').split(':')) {
      const path = join(dir, name);
      if (dir && existsSync(path)) return path;
    }
  }
  return undefined;
}

export interface PrintedReport {
  pdf: string;
  png: string;
  /** Pages in the PDF. */
  pages: number;
}

/**
 * Prints `html` to an A4 PDF and takes a screenshot of its first screen (1240×1754, an A4 page
 * at 150 dpi), both written into `outDir`.
 */
export function printReport(chromium: string, html: string, outDir: string): PrintedReport {
  const pdf = join(outDir, 'report.pdf');
  const png = join(outDir, 'report.png');
  const url = pathToFileURL(html).href;
  const base = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', `--user-data-dir=${join(outDir, '.chromium')}`];
  const run = (args: string[]) => execFileSync(chromium, [...base, ...args, url], { stdio: 'pipe', timeout: 120_000 });
  run([`--print-to-pdf=${pdf}`, '--no-pdf-header-footer']);
  run([`--screenshot=${png}`, '--window-size=1240,1754', '--hide-scrollbars']);
  const pages = (readFileSync(pdf, 'latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
  return { pdf, png, pages };
}
