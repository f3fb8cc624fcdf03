/**
 * A pod whose spec carries the application's own credentials — a database URL with a password,
 * a storage connection string and a token in `env`, a presigned URL in an annotation — collected
 * through the real provider against the lab API server: pod.json keeps every name and the
 * readable parts, the secrets are nowhere in the case folder, and the ledger says what was cut.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { verifyCase } from '../../../src/custody/index.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import { REGISTRY } from '../../../src/providers/registry.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { expectRedactionRecord, filesHolding } from '../../support/case-bytes.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';

const PRESIGNED =
  'https://shop-exports.s3.amazonaws.com/nightly.tar?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261203T120000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=5e1fSECRET';
const CONNECTION = 'DefaultEndpointsProtocol=https;AccountName=shopdata;AccountKey=c2hvcGRhdGESECRET==;EndpointSuffix=core.windows.net';

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('a pod whose spec carries credentials in env and annotations', () => {
  it('is collected with the secrets cut out of pod.json, each cut recorded with the pre-redaction hash, and the case verifies', async () => {
    fixture = await startFixture((cluster, scenario) => {
      const pod = cluster.pods.find((p) => p.name === scenario.compromisedPod)!;
      pod.annotations = { 'backup.example.com/last-export': PRESIGNED, 'kubernetes.io/description': 'shop web' };
      const app = pod.containers.find((c) => c.name === 'app')!;
      app.env = { ...app.env, STORAGE_CONNECTION_STRING: CONNECTION, PAYMENTS_API_TOKEN: 'tok_live_SECRET', LOG_LEVEL: 'info' };
    });
    const { scenario } = fixture;
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture, 'IR-K8S-REDACT');
    const outcome = await provider.collect(parseTarget(`k8s:lab/${scenario.namespace}/${scenario.compromisedPod}`), contextFor(kase));
    expect(outcome.status, outcome.reason).toBe('collected');
    await kase.close({ outcomes: [outcome] });

    for (const secret of ['SECRET', 's3cr3t-lab-only']) expect(filesHolding(kase.caseDir, secret), secret).toEqual([]);
    const stored = entriesOf(kase, 'evidence.stored').find((e) => e.data.name === 'pod.json')!;
    const path = (field: string) => `$.spec.containers[0].env[${field}].value`;
    const text = expectRedactionRecord(
      kase.caseDir,
      stored,
      [
        ['X-Amz-Signature=REDACTED', 'X-Amz-Signature=5e1fSECRET'],
        ['shop:REDACTED@', 'shop:s3cr3t-lab-only@'],
        ['AccountKey=REDACTED', 'AccountKey=c2hvcGRhdGESECRET=='],
        ['"value": "REDACTED"', '"value": "tok_live_SECRET"'],
      ],
      [
        { path: '$.metadata.annotations["backup.example.com/last-export"]', kind: 'a signed URL (SAS, presigned or signed URL)' },
        { path: path('1'), kind: 'a URL with a password' },
        { path: path('2'), kind: 'a connection string with a key' },
        { path: path('3'), kind: 'a value named like a credential' },
      ],
    );
    const pod = JSON.parse(text);
    expect(pod.metadata.annotations).toEqual({ 'backup.example.com/last-export': PRESIGNED.replace('X-Amz-Signature=5e1fSECRET', 'X-Amz-Signature=REDACTED'), 'kubernetes.io/description': 'shop web' });
    expect(pod.spec.containers[0].name).toBe('app');
    expect(pod.spec.containers[0].env).toEqual([
      { name: 'NODE_ENV', value: 'production' },
      { name: 'DATABASE_URL', value: 'postgres://shop:REDACTED@db:5432/shop' },
      { name: 'STORAGE_CONNECTION_STRING', value: CONNECTION.replace('c2hvcGRhdGESECRET==', 'REDACTED') },
      { name: 'PAYMENTS_API_TOKEN', value: 'REDACTED' },
      { name: 'LOG_LEVEL', value: 'info' },
    ]);
    // Raw evidence is not touched by it: the logs and exec output carry no redaction record.
    for (const e of entriesOf(kase, 'evidence.stored').filter((x) => x.data.mediaType !== 'application/json')) expect(e.data.redaction).toBeUndefined();
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
  });
});
