/**
 * A VM whose Custom Script extension carries SAS `fileUris` (the customer's own credential, in
 * its model): collected through the real provider against the lab, the case folder keeps the
 * extension readable and the signature nowhere, and the ledger says what was cut and the hash of
 * the model before the cut.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CustodyError } from '../../../src/core/errors.js';
import { verifyCase } from '../../../src/custody/index.js';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { key } from '../../../src/lab/azure/world.js';
import { filesHolding } from '../../support/case-bytes.js';
import { caseWith } from '../../support/case-with.js';
import { useAzureFixture } from './fixture.js';

const SIGNATURE = 'Zm9yZW5zaWNzU0FTc2lnbmF0dXJl%2BSECRET%3D';
const SAS = `https://opsscripts.blob.core.windows.net/scripts/install.sh?sv=2022-11-02&se=2026-12-31T00%3A00%3A00Z&sr=b&sp=r&sig=${SIGNATURE}`;

const fx = useAzureFixture();
// Runs after the fixture's own beforeAll (registered first): the lab is up.
beforeAll(() => {
  fx.lab.estate.world.vms.get(key(fx.lab.estate.ids.vm))!.extensions = [
    { name: 'CustomScript', publisher: 'Microsoft.Azure.Extensions', type: 'CustomScript', typeHandlerVersion: '2.1', settings: { fileUris: [SAS], commandToExecute: 'sh install.sh' } },
  ];
});

const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

describe('an Azure VM whose extension settings carry a SAS', () => {
  it('is collected with the signature cut out of vm-model.json, the cut recorded with the model\'s pre-redaction hash, and the case verifies', async () => {
    const kase = await fx.openTestCase('IR-AZ-REDACT');
    const outcome = await collectAzureTarget(fx.run(kase), parseAzureTarget(fx.lab.estate.ids.vm));
    expect(outcome.status, outcome.reason).toBe('collected');
    await kase.close({ outcomes: [outcome] });

    expect(filesHolding(kase.caseDir, 'SECRET')).toEqual([]);
    const stored = kase.entries().find((e) => e.type === 'evidence.stored' && e.data.name === 'vm-model.json')!;
    const bytes = readFileSync(join(kase.caseDir, String(stored.data.path)));
    const model = JSON.parse(bytes.toString('utf8'));
    expect(model.resources[0].properties.settings).toEqual({
      fileUris: ['https://opsscripts.blob.core.windows.net/scripts/install.sh?sv=2022-11-02&se=2026-12-31T00%3A00%3A00Z&sr=b&sp=r&sig=REDACTED'],
      commandToExecute: 'sh install.sh',
    });
    // The hash of the model as ARM sent it, rendered as the file would have been: a re-fetched
    // answer proves the original; `sha256` stays the stored bytes' for verify.
    const original = `${JSON.stringify(model, null, 2)}\n`.replace('sig=REDACTED', `sig=${SIGNATURE}`);
    expect(stored.data).toMatchObject({
      sha256: sha(bytes),
      redaction: { originalSha256: sha(original), redacted: [{ path: '$.resources[0].properties.settings.fileUris[0]', kind: 'a signed URL (SAS, presigned or signed URL)' }] },
    });
    // The instance view and the disks carry none: stored as they were, with no redaction record.
    const others = kase.entries().filter((e) => e.type === 'evidence.stored' && e.data.name !== 'vm-model.json');
    expect(others.length).toBeGreaterThan(0);
    for (const e of others) expect(e.data.redaction, String(e.data.name)).toBeUndefined();
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
  });

  it('a run killed after placing the redacted model but before recording it: the resumed run recognises the same bytes and records them, with the redaction, under the same name', async () => {
    const caseId = 'IR-AZ-REDACT-CUT';
    const target = parseAzureTarget(fx.lab.estate.ids.vm);
    const first = await fx.openTestCase(caseId);
    // The store places the file, then the process dies before the entry is written.
    const killed = caseWith(first, {
      storeEvidence: async (input) => {
        const dir = join(first.caseDir, 'evidence', input.evidenceId);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, input.name), input.content as string);
        throw new CustodyError('E_LEDGER', `test cut: ${input.name} was placed but not recorded`);
      },
    });
    await expect(collectAzureTarget(fx.run(killed), target)).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), target);
    expect(outcome.status, outcome.reason).toBe('collected');
    await again.close({ outcomes: [outcome] });
    const models = again.entries().filter((e) => e.data.name === 'vm-model.json' || String(e.data.path ?? '').endsWith('/vm-model.json'));
    expect(models.map((e) => e.type)).toEqual(['evidence.recovered', 'evidence.stored']);
    const [recovered, stored] = models;
    expect(stored!.data).toMatchObject({ path: recovered!.data.path, sha256: recovered!.data.sha256, redaction: { redacted: [{ path: '$.resources[0].properties.settings.fileUris[0]' }] } });
    expect(readdirSync(join(again.caseDir, 'evidence', String(stored!.data.evidenceId))).filter((n) => n.startsWith('vm-model'))).toEqual(['vm-model.json']);
    expect(filesHolding(again.caseDir, 'SECRET')).toEqual([]);
    expect((await verifyCase(again.caseDir)).ok).toBe(true);
  });
});
