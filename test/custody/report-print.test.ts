/**
 * report.html as counsel prints it, in headless Chromium (skipped where no Chromium is
 * installed: apt-get install chromium). The summary ends its own page; the PDF and a screenshot
 * are real renderings, not string checks.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/custody/index.js';
import { findChromium, printReport } from '../support/chromium.js';
import { buildClosedCase, useScratch } from './helpers.js';

const chromium = findChromium();

describe.skipIf(!chromium)('report.html in headless Chromium', () => {
  const scratch = useScratch();

  it('prints to A4 with the summary on a page of its own, and renders a first screen', async () => {
    const kase = await buildClosedCase(scratch);
    const { html } = await renderReport(kase.caseDir);
    const out = printReport(chromium!, html, scratch.root);
    expect(readFileSync(out.pdf, 'latin1').startsWith('%PDF-')).toBe(true);
    // The summary (up to "Changes made to targets") fills page 1, the rest follows: at least 2.
    expect(out.pages).toBeGreaterThanOrEqual(2);
    const png = readFileSync(out.png);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(statSync(join(scratch.root, 'report.png')).size).toBeGreaterThan(10_000);
  }, 180_000);
});
