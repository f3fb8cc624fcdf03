/**
 * A GCE instance whose metadata carries a signed `startup-script-url` and a startup script with a
 * storage connection string (the customer's own credentials, in its description): collected
 * through the real provider and Compute client against the lab into a real case folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LabGcpState } from '../../../src/lab/gcp/index.js';
import { openCase, verifyCase } from '../../../src/custody/index.js';
import { collectGcpTarget } from '../../../src/providers/gcp/collect.js';
import { parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { expectRedactionRecord, filesHolding } from '../../support/case-bytes.js';
import { useGcpFixtures, type ContentRecorder } from './fixture.js';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

const WEB_1 = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
const SIGNED = 'https://storage.googleapis.com/ops-scripts/boot.sh?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=deployer%40web-prod.iam.gserviceaccount.com%2F20261203%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20261203T120000Z&X-Goog-Expires=604800&X-Goog-SignedHeaders=host&X-Goog-Signature=8f3a0cSECRET';
const SCRIPT = '#!/bin/sh\nexport AZ_CONN="DefaultEndpointsProtocol=https;AccountName=opsdata;AccountKey=b3BzZGF0YQSECRET==;EndpointSuffix=core.windows.net"\n/opt/app/start\n';

const startFixture = useGcpFixtures();
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a GCE instance whose metadata carries a signed URL and a connection string', () => {
  it('is collected with both secrets cut out of instance.json, each cut and the pre-redaction hash recorded, and the case verifies', async () => {
    const fx = await startFixture();
    fx.lab.state.instances.get(LabGcpState.instanceKey('web-prod', 'us-central1-a', 'web-1'))!.metadata = [
      { key: 'startup-script-url', value: SIGNED },
      { key: 'startup-script', value: SCRIPT },
      { key: 'enable-oslogin', value: 'TRUE' },
    ];
    dir = await mkdtemp(join(tmpdir(), 'gcp-redact-'));
    const kase = await openCase({ casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId: 'IR-GCP-REDACT', analyst: 'alice', toolVersion: 'test' });
    const outcome = await collectGcpTarget({ session: fx.newSession(kase as unknown as ContentRecorder), recorder: kase }, parseGcpTarget(WEB_1));
    expect(outcome.status, outcome.reason).toBe('collected');
    await kase.close({ outcomes: [outcome] });

    expect(filesHolding(kase.caseDir, 'SECRET')).toEqual([]);
    const stored = kase.entries().find((e) => e.type === 'evidence.stored' && e.data.name === 'instance.json')!;
    const text = expectRedactionRecord(
      kase.caseDir,
      stored,
      [['X-Goog-Signature=REDACTED', 'X-Goog-Signature=8f3a0cSECRET'], ['AccountKey=REDACTED', 'AccountKey=b3BzZGF0YQSECRET==']],
      [
        { path: '$.metadata.items[0].value', kind: 'a signed URL (SAS, presigned or signed URL)' },
        { path: '$.metadata.items[1].value', kind: 'a connection string with a key' },
      ],
    );
    expect(JSON.parse(text).metadata.items).toEqual([
      { key: 'startup-script-url', value: SIGNED.replace('X-Goog-Signature=8f3a0cSECRET', 'X-Goog-Signature=REDACTED') },
      { key: 'startup-script', value: SCRIPT.replace('AccountKey=b3BzZGF0YQSECRET==', 'AccountKey=REDACTED') },
      { key: 'enable-oslogin', value: 'TRUE' },
    ]);
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
  });
});
