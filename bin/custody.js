#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Checked before anything loads: on an older Node a dependency fails with an unrelated error.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(`custody: needs Node.js 22 or later (this is ${process.version}); README.md, "Requirements", says how to get it.\n`);
  process.exit(3);
}

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('custody: dist/ is missing; run `npm ci` (or `npm run build`) first.\n');
  process.exit(70);
}
await import(entry.href);
