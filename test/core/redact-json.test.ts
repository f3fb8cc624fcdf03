import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCredentialName, jsonEvidence, renderJson } from '../../src/core/redact-json.js';

// Shapes of real credentials (values made up, each ending in SECRET so a leak is easy to grep).
const SAS = 'https://diag.blob.core.windows.net/scripts/install.sh?sv=2022-11-02&se=2026-12-03T13%3A00%3A00Z&sr=b&sp=r&sig=N2I0ZDdkSECRET%3D';
const PRESIGNED =
  'https://bucket.s3.amazonaws.com/boot.sh?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=FQoGZXIvSECRET&X-Amz-Signature=abcdefSECRET';
const GCS = 'https://storage.googleapis.com/bucket/startup.sh?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p.iam.gserviceaccount.com&X-Goog-Signature=0a1bSECRET';
const CONNECTION = 'DefaultEndpointsProtocol=https;AccountName=appdata;AccountKey=c2VjcmV0SECRET==;EndpointSuffix=core.windows.net';
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAuSECRET\n-----END RSA PRIVATE KEY-----\n';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the description redaction', () => {
  it('leaves a description with no credential as the plain render, with no redaction record', () => {
    const value = { id: 'i-1', tokenExpiry: '2026-12-03', ClientToken: 'idempotency-1', Tags: [{ Key: 'TOKEN_TTL', Value: '3600' }], url: 'https://example.com/a?api-version=1' };
    expect(jsonEvidence(value)).toEqual({ content: renderJson(value) });
  });

  it('cuts only the signature-bearing parameters of a SAS, presigned and signed URL, keeps the rest readable, and lists each path', () => {
    const value = { properties: { settings: { fileUris: [SAS, 'https://plain.example/x.sh'] } }, s3: PRESIGNED, gcs: GCS };
    const { content, redaction } = jsonEvidence(value);
    expect(content).not.toContain('SECRET');
    const stored = JSON.parse(content);
    expect(stored.properties.settings.fileUris).toEqual([
      'https://diag.blob.core.windows.net/scripts/install.sh?sv=2022-11-02&se=2026-12-03T13%3A00%3A00Z&sr=b&sp=r&sig=REDACTED',
      'https://plain.example/x.sh',
    ]);
    expect(stored.s3).toBe(
      'https://bucket.s3.amazonaws.com/boot.sh?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED',
    );
    expect(stored.gcs).toBe('https://storage.googleapis.com/bucket/startup.sh?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p.iam.gserviceaccount.com&X-Goog-Signature=REDACTED');
    const kind = 'a signed URL (SAS, presigned or signed URL)';
    expect(redaction).toEqual({
      originalSha256: sha(renderJson(value)),
      redacted: [
        { path: '$.properties.settings.fileUris[0]', kind },
        { path: '$.s3', kind },
        { path: '$.gcs', kind },
      ],
    });
  });

  it('cuts a connection string key, a bearer token, a private key body and a URL password, keeping what names the resource', () => {
    const value = { conn: CONNECTION, auth: 'Bearer eyJhbGciSECRET', pem: PEM, web: 'https://app:hunter2SECRET@web.internal/app' };
    const { content, redaction } = jsonEvidence(value);
    expect(content).not.toContain('SECRET');
    expect(JSON.parse(content)).toEqual({
      conn: 'DefaultEndpointsProtocol=https;AccountName=appdata;AccountKey=REDACTED;EndpointSuffix=core.windows.net',
      auth: 'Bearer REDACTED',
      pem: '-----BEGIN RSA PRIVATE KEY-----\nREDACTED\n-----END RSA PRIVATE KEY-----\n',
      web: 'https://app:REDACTED@web.internal/app',
    });
    expect(redaction?.redacted.map((r) => r.path)).toEqual(['$.conn', '$.auth', '$.pem', '$.web']);
  });

  it('cuts the value under a credential-named key and of a name/value pair named like a credential, and names non-identifier members by their quoted key', () => {
    const value = {
      env: [
        { name: 'DB_PASSWORD', value: 'hunter2SECRET' },
        { name: 'PASSWORD_MIN_LENGTH', value: '12' },
        { name: 'secret_name', value: 'db-credentials' },
        { name: 'EMPTY_TOKEN', value: '' },
      ],
      metadata: { annotations: { 'example.com/token': 'not matched by a key rule', 'ci.example/url': GCS } },
      credentials: { password: 'p4ssSECRET', passwordPolicy: 'strict' },
      Tags: [{ Key: 'GITHUB_TOKEN', Value: 'ghp_SECRET' }],
    };
    const { content, redaction } = jsonEvidence(value);
    expect(content).not.toContain('SECRET');
    const stored = JSON.parse(content);
    expect(stored.env).toEqual([
      { name: 'DB_PASSWORD', value: 'REDACTED' },
      { name: 'PASSWORD_MIN_LENGTH', value: '12' },
      { name: 'secret_name', value: 'db-credentials' },
      { name: 'EMPTY_TOKEN', value: '' },
    ]);
    expect(stored.metadata.annotations['example.com/token']).toBe('not matched by a key rule');
    expect(stored.credentials).toEqual({ password: 'REDACTED', passwordPolicy: 'strict' });
    expect(redaction?.redacted).toEqual([
      { path: '$.env[0].value', kind: 'a value named like a credential' },
      { path: '$.metadata.annotations["ci.example/url"]', kind: 'a signed URL (SAS, presigned or signed URL)' },
      { path: '$.credentials.password', kind: 'a value under a credential-named key' },
      { path: '$.Tags[0].Value', kind: 'a value named like a credential' },
    ]);
  });

  it('renders dates and a renderer\'s dropped members as the render does, so only the cut values differ from the unredacted file', () => {
    const launched = new Date('2026-12-01T08:00:00.000Z');
    const render = (v: unknown) => `${JSON.stringify(v, (key, x: unknown) => (key.startsWith('_') ? undefined : x), 2)}\n`;
    const value = { launched, _oneof: 'id', items: [{ key: 'startup-script-url', value: GCS }] };
    const { content, redaction } = jsonEvidence(value, render);
    expect(content).toBe(render(value).replace('X-Goog-Signature=0a1bSECRET', 'X-Goog-Signature=REDACTED'));
    expect(redaction?.originalSha256).toBe(sha(render(value)));
  });

  it('gives the same bytes for the same answer (a resumed run recognises the file)', () => {
    const value = { a: [SAS, { name: 'API_KEY', value: 'k' }] };
    expect(jsonEvidence(structuredClone(value))).toEqual(jsonEvidence(value));
  });

  it('names credential variables by their ending, not by a word anywhere', () => {
    for (const name of ['DB_PASSWORD', 'GITHUB_TOKEN', 'stripe-api-key', 'AWS_SECRET_ACCESS_KEY', 'CLIENT_SECRET', 'STORAGE_CONNECTION_STRING', 'token']) expect(isCredentialName(name), name).toBe(true);
    for (const name of ['PASSWORD_MIN_LENGTH', 'TOKEN_TTL', 'SECRET_NAME', 'AWS_ACCESS_KEY_ID', 'Name', 'startup-script-url']) expect(isCredentialName(name), name).toBe(false);
  });
});
