/**
 * The orchestrator's ADC, found on the (lab's) metadata server. google-auth-library also looks up
 * a project id while it builds the ADC client, by running `gcloud config config-helper` where
 * gcloud is installed (a Python process of about a second, which may refresh gcloud's own
 * login); the broker never uses that project, so it must not cost a gcloud run.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gcpDemoScenario, startGcpLab, type GcpLab } from '../../../src/lab/gcp/index.js';
import { parseGcpConfig } from '../../../src/providers/gcp/config.js';
import { GcpCredentialBroker, type ImpersonationRecord } from '../../../src/providers/gcp/credentials.js';
import { pointAdcAt } from './fixture.js';

let lab: GcpLab | undefined;
let restoreAdc: (() => void) | undefined;
let binDir: string | undefined;
const pathBefore = process.env.PATH;

afterEach(async () => {
  process.env.PATH = pathBefore;
  restoreAdc?.();
  await lab?.stop();
  if (binDir) rmSync(binDir, { recursive: true, force: true });
  lab = restoreAdc = binDir = undefined;
});

describe('the orchestrator from Application Default Credentials', () => {
  it('is found, and its collector token minted, without running gcloud', async () => {
    lab = await startGcpLab(gcpDemoScenario());
    restoreAdc = pointAdcAt(lab);
    // A gcloud first on PATH that leaves a mark when it runs.
    binDir = mkdtempSync(join(tmpdir(), 'custody-fake-gcloud-'));
    const mark = join(binDir, 'gcloud-ran');
    writeFileSync(join(binDir, 'gcloud'), `#!/bin/sh\necho "$@" >> '${mark}'\necho '{}'\n`);
    chmodSync(join(binDir, 'gcloud'), 0o755);
    process.env.PATH = `${binDir}${delimiter}${pathBefore ?? ''}`;

    const records: ImpersonationRecord[] = [];
    const broker = new GcpCredentialBroker({
      config: parseGcpConfig({ forensicsProject: 'custody-forensics', allowedProjects: ['web-prod'], endpoints: lab.endpoints }),
      attribution: { caseId: 'ir-adc', version: '0.1.0' },
      onImpersonated: async (record) => void records.push(record),
    });
    expect(await broker.orchestrator()).toBe('custody-orchestrator@custody-forensics.iam.gserviceaccount.com');
    await broker.collector('web-prod');

    expect(records.map((r) => [r.project, r.orchestrator])).toEqual([['web-prod', 'custody-orchestrator@custody-forensics.iam.gserviceaccount.com']]);
    expect(existsSync(mark) ? 'gcloud ran' : 'gcloud did not run').toBe('gcloud did not run');
  });
});
