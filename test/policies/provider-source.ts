/**
 * Test helper: the source of one provider (`src/providers/NAME/*.ts`) without its operations
 * table and without comment lines — what a test searches to hold the declared operations to
 * the calls the code makes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function providerSource(provider: 'aws' | 'azure' | 'gcp' | 'kubernetes'): string {
  const dir = join(import.meta.dirname, '../../src/providers', provider);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'operations.ts')
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n')
    .replace(/^\s*(\*|\/\/).*$/gm, '');
}
