// Test fixture: the lab's Azure (Entra + ARM + Blob Storage over https with a fresh CA) — or, with
// `azurite: true`, Azurite on the same CA in place of the lab's Blob Storage — a config pointing
// the unchanged product at them, and real case folders.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { openCase, type CaseHandle } from '../../../src/custody/open-case.js';
import { azureConfigSchema, type AzureConfig } from '../../../src/providers/azure/config.js';
import type { AzureClients } from '../../../src/providers/azure/clients.js';
import type { TokenRecord } from '../../../src/providers/azure/identity.js';
import { createRecordingClients } from '../../../src/providers/azure/provider.js';
import { collectAzureTarget, type AzureRunContext } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { verifyCase } from '../../../src/custody/index.js';
import { startAzurite, type AzuriteInstance } from '../../../src/lab/azure/azurite.js';
import { startAzureLab, type AzureLab, type AzureLabOptions } from '../../../src/lab/azure/server.js';
import { createLabTls } from '../../../src/lab/azure/tls.js';
import { LAB_APP_CLIENT_ID, LAB_CUSTOMER_SUBSCRIPTION, LAB_CUSTOMER_TENANT, LAB_EVIDENCE_ACCOUNT, LAB_EVIDENCE_CONTAINER, LAB_SOC_SUBSCRIPTION, LAB_SOC_TENANT } from '../../../src/lab/azure/scenario.js';
import { CustodyError } from '../../../src/core/errors.js';
import { caseWith } from '../../support/case-with.js';

export const EVIDENCE_CONTAINER = 'evidence';

export interface AzureFixture {
  dir: string;
  lab: AzureLab;
  azurite?: AzuriteInstance;
  config: AzureConfig;
  tokens: TokenRecord[];
  cases: CaseHandle[];
  openTestCase(caseId?: string, resume?: boolean): Promise<CaseHandle>;
  run(recorder: CaseHandle, overrides?: Partial<AzureConfig>): AzureRunContext & { clients: AzureClients };
  close(): Promise<void>;
}

export interface AzureFixtureOptions {
  azurite?: boolean;
  lab?: AzureLabOptions;
}

export async function startAzureFixture(options: AzureFixtureOptions = {}): Promise<AzureFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'custody-azure-'));
  const tls = createLabTls();
  const azurite = options.azurite ? await startAzurite(tls) : undefined;
  const lab = await startAzureLab({ tls, ...(azurite ? { blobHost: azurite.blobHost } : {}), ...options.lab });
  if (azurite) await azurite.admin.getContainerClient(EVIDENCE_CONTAINER).createIfNotExists();
  const caFile = join(dir, 'lab-ca.pem');
  await writeFile(caFile, tls.caPem);
  const tokenFile = join(dir, 'federated-token');
  await writeFile(tokenFile, lab.workloadToken());
  const config = azureConfigSchema.parse({
    socTenantId: LAB_SOC_TENANT,
    socSubscriptionId: LAB_SOC_SUBSCRIPTION,
    clientId: LAB_APP_CLIENT_ID,
    assertion: { source: 'token-file', path: tokenFile },
    subscriptions: [{ subscriptionId: LAB_CUSTOMER_SUBSCRIPTION, tenantId: LAB_CUSTOMER_TENANT }],
    evidenceContainerUrl: azurite ? `${azurite.accountUrl}/${EVIDENCE_CONTAINER}` : lab.evidenceContainerUrl!,
    endpoints: { resourceManager: lab.armEndpoint, authorityHost: lab.authorityHost },
    caFile,
    pollIntervalMs: 0,
    waitTimeoutMs: 30_000,
  });
  const tokens: TokenRecord[] = [];
  const cases: CaseHandle[] = [];
  return {
    dir,
    lab,
    ...(azurite ? { azurite } : {}),
    config,
    tokens,
    cases,
    async openTestCase(caseId = 'IR-AZ-1', resume = false) {
      const kase = await openCase({ casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId, analyst: 'alice', toolVersion: 'test', ...(resume ? { resume: true } : {}) });
      cases.push(kase);
      return kase;
    },
    run(recorder, overrides = {}) {
      const merged = { ...config, ...overrides };
      const clients = createRecordingClients(merged, () => recorder, `corr-${recorder.caseId}`, {}, (record) => tokens.push(record));
      return { recorder, clients, config: merged, sleep: async () => {}, now: () => Date.now() };
    },
    async close() {
      for (const kase of cases) await kase.release().catch(() => {});
      await lab.close();
      await azurite?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Resumes `caseId` and collects the lab's tagged VM again, which must end `collected`; closes the
 * case, which must verify. Returns the entries from its `case.resumed` on (the last resume's).
 */
export async function resumeCollected(fx: AzureFixture, caseId: string, overrides: Partial<AzureConfig> = {}) {
  const again = await fx.openTestCase(caseId, true);
  const outcome = await collectAzureTarget(fx.run(again, overrides), parseAzureTarget(fx.lab.estate.ids.vm));
  expect(outcome.status, outcome.reason).toBe('collected');
  const resumed = again.entries().slice(again.entries().findLastIndex((e) => e.type === 'case.resumed'));
  await again.close({ outcomes: [outcome] });
  expect((await verifyCase(again.caseDir)).ok).toBe(true);
  return resumed;
}

/**
 * The fixture of the calling test file (or describe block), started before its tests and closed
 * after them: once for all of them, or afresh for each test with `perTest` (a test that changes
 * the lab for good). The object returned is filled in when the fixture starts, so tests and
 * helpers read `fx.lab`, `fx.run(…)` as usual; `startTimeoutMs` for a slow start (Azurite).
 */
export function useAzureFixture(options: AzureFixtureOptions = {}, how: { perTest?: boolean; startTimeoutMs?: number } = {}): AzureFixture {
  const fx = {} as AzureFixture;
  const [before, after] = how.perTest ? [beforeEach, afterEach] : [beforeAll, afterAll];
  let started: AzureFixture | undefined;
  before(async () => {
    started = await startAzureFixture(options);
    Object.assign(fx, started);
  }, how.startTimeoutMs);
  after(async () => {
    await started?.close();
    started = undefined;
  });
  return fx;
}

/**
 * `kase` as the collector sees it, except that from the first `type` entry on nothing can be
 * recorded any more (E_LEDGER, as a poisoned ledger answers): that entry and everything after it
 * never reach the ledger — what a kill -9 or a full disk leaves: the cloud did the work, the case
 * never heard the answer.
 */
export function cutAt(kase: CaseHandle, type: string): CaseHandle {
  let cut = false;
  const refuse = (what: string) => {
    cut = true;
    return Promise.reject(new CustodyError('E_LEDGER', `test cut: ${what} was not recorded`));
  };
  return caseWith(kase, {
    record: (t, data, target) => (cut || t === type ? refuse(t) : kase.record(t, data, target)),
    storeEvidence: (input) => (cut ? refuse(input.name) : kase.storeEvidence(input)),
    recordArtifact: (input) => (cut ? refuse(input.kind) : kase.recordArtifact(input)),
  });
}

/** Versions the lab's evidence container holds for each blob of `caseId` (current + previous). */
export function evidenceVersions(fx: AzureFixture, caseId: string): Record<string, number> {
  const container = fx.lab.estate.blobStore.container(LAB_EVIDENCE_ACCOUNT, LAB_EVIDENCE_CONTAINER)!;
  const counts: Record<string, number> = {};
  for (const [name, blob] of container.blobs) {
    if (name.startsWith(`${caseId}/`)) counts[name] = blob.previous.length + (blob.current ? 1 : 0);
  }
  return counts;
}
