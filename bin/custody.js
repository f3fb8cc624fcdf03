#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Checked before anything loads: on an older Node a dependency fails with an unrelated error.
// 22.19: the oldest release undici (the Kubernetes client's HTTP) supports.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`custody: needs Node.js 22.19 or later (this is ${process.version}); README.md, "Requirements", says how to get it.\n`);
  process.exit(3);
}

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('custody: dist/ is missing; run `npm ci` (or `npm run build`) first.\n');
  process.exit(70);
}
await import(entry.href);
