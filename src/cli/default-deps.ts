/**
 * The real wiring behind the CLI: the application service's (src/app/services.ts), plus what
 * only the CLI does — preflight tables, reports, the copy checks, and the rehearsal lab for
 * `custody demo`.
 */
import { renderReport } from '../custody/index.js';
import { REGISTRY } from '../providers/registry.js';
import { appServices, toVerifyOutcome } from '../app/services.js';
import type { CliDeps, DemoLab } from './deps.js';

export { toVerifyOutcome } from '../app/services.js';

export function defaultDeps(): CliDeps {
  return {
    ...appServices(),
    preflight: (input) => REGISTRY.preflight({ config: input.config, targets: input.targets, scopes: input.scopes, ...(input.analyst ? { analyst: input.analyst } : {}) }),
    async renderReport(caseDir, options) {
      const { markdown, html, verification, redactedFiles, leftInCloud } = await renderReport(caseDir, options);
      return { markdown, html, redactedFiles, leftInCloud, verify: toVerifyOutcome(caseDir, verification) };
    },
    startDemoLab,
    async verifyAgainst(caseDir, url, config) {
      const { verifyAgainstCopy } = await import('../custody/immutable-copy.js');
      const { evidenceBucketOptions, openEvidenceBucket } = await import('../providers/aws/evidence-bucket.js');
      const store = openEvidenceBucket(evidenceBucketOptions(config ?? {}, { url }));
      try {
        const result = await verifyAgainstCopy(caseDir, store);
        const { warnings, problems, ...rest } = result;
        return { ...rest, problems: [...problems, ...warnings] };
      } finally {
        store.destroy();
      }
    },
    async fetchCase(url, dir, config) {
      const { fetchCase } = await import('../custody/immutable-copy.js');
      const { evidenceBucketOptions, openEvidenceBucket } = await import('../providers/aws/evidence-bucket.js');
      const store = openEvidenceBucket(evidenceBucketOptions(config ?? {}, { url }));
      try {
        const fetched = await fetchCase(store, dir);
        return { dir: fetched.dir, objects: fetched.objects.length };
      } finally {
        store.destroy();
      }
    },
  };
}

// The labs are loaded only for the demo: collection never needs them.
async function startDemoLab(): Promise<DemoLab> {
  const { startDemoLab: start } = await import('../lab/demo/index.js');
  return start();
}
