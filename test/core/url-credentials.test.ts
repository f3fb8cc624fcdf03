import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/core/errors.js';
import { hasSignedQuery, hasUrlPassword, redactUrlCredentials, urlCredentialProblem, withoutUrlCredentials } from '../../src/core/url-credentials.js';
import { parseConfig } from '../../src/providers/config.js';
import { KubernetesHttpError, statusOf } from '../../src/providers/kubernetes/call.js';

// Shapes of real signed URLs (values made up): an Azure SAS, an S3 presigned URL with a session
// token, a Cloud Storage V4 signed URL and its older form.
const SAS = 'https://socevidence.blob.core.windows.net/evidence/disk.vhd?sv=2022-11-02&se=2026-12-03T13%3A00%3A00Z&sr=b&sp=r&sig=N2I0ZDdkSECRET%3D';
const PRESIGNED =
  'https://bucket.s3.amazonaws.com/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=FQoGZXIvSECRET&X-Amz-Signature=abcdefSECRET';
const GCS = 'https://storage.googleapis.com/bucket/object?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p.iam.gserviceaccount.com&X-Goog-Signature=0a1bSECRET';
const GCS_V2 = 'https://storage.googleapis.com/bucket/object?GoogleAccessId=sa@p.iam.gserviceaccount.com&Expires=1700000000&Signature=dGVzdSECRET';

describe('signed URLs', () => {
  it('are recognised whatever cloud signed them, and plain URLs and queries are not', () => {
    for (const url of [SAS, PRESIGNED, GCS, GCS_V2, '?sv=2022-11-02&sig=abc', 'https://compute.googleapis.com/x?alt=json&access_token=ya29.SECRET']) {
      expect(hasSignedQuery(url), url).toBe(true);
    }
    for (const text of [
      'https://socevidence.blob.core.windows.net/evidence/disk.vhd',
      'https://management.azure.com/subscriptions/x?api-version=2024-03-02',
      'https://socevidence.blob.core.windows.net/evidence?restype=container&comp=list',
      'is the signature valid? sig=',
      'design=1&signature=',
    ]) {
      expect(hasSignedQuery(text), text).toBe(false);
    }
  });

  it('an AWS console federation link (SigninToken) is one, and a target given as one is refused without echoing the token', () => {
    const link = 'https://signin.aws.amazon.com/federation?Action=login&Issuer=https%3A%2F%2Fsso.example.org&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fec2%2F&SigninToken=VCQgTcSECRETtoken';
    expect(hasSignedQuery(link)).toBe(true);
    expect(withoutUrlCredentials(`invalid target "${link}"`)).toBe('invalid target "https://signin.aws.amazon.com/federation?…"');
  });

  it('lose their query in error text, which still names the resource; other queries stay', () => {
    // A comma may belong to a query, so the cut takes the one after the GCS URL too: it errs on
    // the side of cutting.
    const text = `copy from ${SAS} failed: 403; also GET ${GCS}, then "${PRESIGNED}" (https://management.azure.com/x?api-version=2024-03-02)`;
    expect(withoutUrlCredentials(text)).toBe(
      'copy from https://socevidence.blob.core.windows.net/evidence/disk.vhd?… failed: 403; also GET https://storage.googleapis.com/bucket/object?… ' +
        'then "https://bucket.s3.amazonaws.com/key?…" (https://management.azure.com/x?api-version=2024-03-02)',
    );
    expect(withoutUrlCredentials('nothing to cut?')).toBe('nothing to cut?');
  });

  it('are cut when the URL is quoted XML-escaped, JSON-escaped or percent-encoded, and so are URL passwords', () => {
    const quoted = [
      '<Error><Url>https://acct.blob.core.windows.net/c/d.vhd?sv=2022-11-02&amp;sig=N2I0SECRET</Url></Error>',
      '{"source":"https:\\/\\/acct.blob.core.windows.net\\/c\\/d.vhd?sv=2022-11-02\\u0026sig=N2I0SECRET"}',
      'copySource=https%3A%2F%2Facct.blob.core.windows.net%2Fc%2Fd.vhd%3Fsv%3D2022-11-02%26sig%3DN2I0SECRET',
      'GET https://admin:SECRET@registry.example/v2/ failed',
    ];
    for (const text of quoted) {
      expect(hasSignedQuery(text) || hasUrlPassword(text), text).toBe(true);
      expect(withoutUrlCredentials(text), text).not.toContain('SECRET');
    }
    expect(withoutUrlCredentials(quoted[3]!)).toBe('GET https://…@registry.example/v2/ failed');
    // An image reference or a containerd id is no URL with a password.
    expect(hasUrlPassword('docker-pullable://nginx:1.25@sha256:0123')).toBe(false);
    expect(hasUrlPassword('containerd://4f2a')).toBe(false);
    // A database or broker URL in an application's environment carries its password too.
    for (const url of ['postgres://shop:s3cr3t@db:5432/shop', 'mongodb+srv://app:pw@cluster0.example.net/db', 'redis://default:pw@cache:6379', 'amqps://svc:pw@mq.example/vhost']) {
      expect(hasUrlPassword(url), url).toBe(true);
    }
  });

  it('are cut when a bracket, quote or angle bracket in the query comes before the signature', () => {
    // QUERY_TEXT stops at a bracket, so the signing parameter after it is outside the query it finds.
    for (const text of [
      'GET https://acct.blob.core.windows.net/c/d.vhd?a=(1)&sig=N2I0SECRET failed',
      'GET https://acct.blob.core.windows.net/c/d.vhd?a=[x]&sv=2022-11-02&sig=N2I0SECRET failed',
      "copy https://bucket.s3.amazonaws.com/key?note='x'&X-Amz-Signature=abcdefSECRET denied",
      'https://storage.googleapis.com/b/o?x={y}&X-Goog-Signature=0a1bSECRET',
    ]) {
      expect(hasSignedQuery(text), text).toBe(true);
      expect(withoutUrlCredentials(text), text).not.toContain('SECRET');
    }
    // What is not a credential stays readable.
    expect(withoutUrlCredentials('GET https://acct.blob.core.windows.net/c/d.vhd?a=(1)&sig=N2I0SECRET failed')).toBe(
      'GET https://acct.blob.core.windows.net/c/d.vhd?a=(1)&sig=… failed',
    );
  });

  it('are cut whole when the value itself holds a bracket (a client secret may), and a closing bracket after the URL stays', () => {
    // Azure AD client secrets may hold [ ] ( ) { }: QUERY_TEXT stops there, so the value must be cut on its own, whole.
    for (const text of [
      'POST https://login.example/token?client_id=app&client_secret=J8.xy(SECRET)tail refused',
      'POST https://login.example/token?client_id=app&client_secret=[SECRET]tail refused',
      'POST https://login.example/token?client_id=app&client_secret={SECRET} refused',
      'GET https://acct.blob.core.windows.net/c/d.vhd?sv=1&sig=N2I0]SECRET failed',
    ]) {
      expect(withoutUrlCredentials(text), text).not.toContain('SECRET');
      expect(redactUrlCredentials(text, 'REDACTED'), text).not.toContain('SECRET');
    }
    expect(withoutUrlCredentials('POST https://login.example/token?client_secret=J8.xy(SECRET)tail refused')).toBe('POST https://login.example/token?… refused');
    // The bracket that closes the text around a URL is no part of its signature.
    expect(withoutUrlCredentials('copy failed (https://acct.blob.core.windows.net/c/d.vhd?sig=N2I0SECRET) at 12:00')).toBe(
      'copy failed (https://acct.blob.core.windows.net/c/d.vhd?…) at 12:00',
    );
    expect(redactUrlCredentials('see (https://acct.blob.core.windows.net/c/d.vhd?sig=N2I0SECRET) here', 'REDACTED')).toBe(
      'see (https://acct.blob.core.windows.net/c/d.vhd?sig=REDACTED) here',
    );
    // A token an earlier mask replaced stays whole.
    expect(withoutUrlCredentials('x-amz-security-token=[not kept] &X-Amz-Security-Token=[not kept]')).toBe('x-amz-security-token=[not kept] &X-Amz-Security-Token=[not kept]');
    // Only the marker itself: a value that merely starts with it is cut.
    expect(withoutUrlCredentials('https://x.example/t?a=1&access_token=[not kept]SECRET')).not.toContain('SECRET');
  });

  it('a value followed by a long run of closing brackets it did not open is cut in one pass over it', () => {
    // Text a target controls (a pod annotation may be 256 KiB) reaches the redaction: counting the
    // brackets again for every one trimmed made this quadratic, and a collection stalled on it.
    const closings = ')'.repeat(60_000);
    expect(withoutUrlCredentials(`GET https://x.example/d?sig=N2I0SECRET${closings} failed`)).toBe(`GET https://x.example/d?…${closings} failed`);
    expect(redactUrlCredentials(`?sig=(N2I0SECRET${closings}`, 'REDACTED')).toBe(`?sig=REDACTED${closings.slice(1)}`);
  });

  it('a URL with a password and no user name (redis://:password@host) is found and cut', () => {
    for (const url of ['redis://:s3cr3tSECRET@cache:6379/0', 'rediss://:s3cr3tSECRET@cache.example:6380']) {
      expect(hasUrlPassword(url), url).toBe(true);
      expect(withoutUrlCredentials(`connect ${url} refused`), url).not.toContain('SECRET');
      expect(redactUrlCredentials(url, 'REDACTED'), url).not.toContain('SECRET');
    }
    expect(withoutUrlCredentials('connect redis://:s3cr3tSECRET@cache:6379/0 refused')).toBe('connect redis://…@cache:6379/0 refused');
  });

  it('never reach an error message, its resource or its record', () => {
    const error = new CustodyError('E_CLOUD', `beginCopyFromURL ${SAS} answered 409`, { resource: SAS });
    expect(error.message).toBe('beginCopyFromURL https://socevidence.blob.core.windows.net/evidence/disk.vhd?… answered 409');
    expect(error.resource).toBe('https://socevidence.blob.core.windows.net/evidence/disk.vhd?…');
    expect(JSON.stringify(error.toRecord())).not.toContain('SECRET');
  });

  it('are cut from a Kubernetes Status message where it is read, for every step that records one', () => {
    const body = JSON.stringify({ kind: 'Status', message: `proxy error from https://kubelet.example:10250/logs?access_token=ya29.SECRET`, reason: 'BadRequest' });
    const { status, message, reason } = statusOf(new KubernetesHttpError(400, body));
    expect({ status, reason }).toEqual({ status: 400, reason: 'BadRequest' });
    expect(message).toBe('proxy error from https://kubelet.example:10250/logs?…');
  });

  it('configured URLs may carry neither a password nor a signature', () => {
    expect(urlCredentialProblem('https://user:hunter2@ec2.example.com')).toMatch(/user name or password/);
    expect(urlCredentialProblem(SAS)).toMatch(/signature or token in its query/);
    expect(urlCredentialProblem('http://127.0.0.1:4566')).toBeUndefined();
  });
});

describe('configuration refuses a URL that is a credential, without repeating it', () => {
  const azure = {
    socTenantId: '00000000-0000-4000-8000-000000000001',
    socSubscriptionId: '00000000-0000-4000-8000-000000000002',
    clientId: '00000000-0000-4000-8000-000000000003',
    assertion: { source: 'token-file', path: '/run/secrets/token' },
    subscriptions: [{ subscriptionId: '00000000-0000-4000-8000-000000000004', tenantId: '00000000-0000-4000-8000-000000000005' }],
  };
  const aws = { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222'] };

  function refusal(raw: unknown): string {
    try {
      parseConfig(raw);
    } catch (error) {
      expect(error).toBeInstanceOf(CustodyError);
      expect((error as CustodyError).code).toBe('E_CONFIG');
      return (error as CustodyError).message;
    }
    throw new Error('expected the config to be refused');
  }

  it('an Azure evidence container given as a SAS URL, or with any query', () => {
    const sas = refusal({ azure: { ...azure, evidenceContainerUrl: 'https://socevidence.blob.core.windows.net/evidence?sv=2022-11-02&sp=racw&sig=N2I0SECRET' } });
    expect(sas).toMatch(/azure\.evidenceContainerUrl: must not carry a signature or token in its query/);
    expect(sas).not.toContain('SECRET');
    expect(refusal({ azure: { ...azure, evidenceContainerUrl: 'https://socevidence.blob.core.windows.net/evidence?restype=container' } })).toMatch(
      /azure\.evidenceContainerUrl: must be the container URL without a query/,
    );
    expect(parseConfig({ azure: { ...azure, evidenceContainerUrl: 'https://socevidence.blob.core.windows.net/evidence' } }).azure?.evidenceContainerUrl).toBe(
      'https://socevidence.blob.core.windows.net/evidence',
    );
  });

  it('a container URL that is no URL at all is a configuration error, not a crash', () => {
    expect(refusal({ azure: { ...azure, evidenceContainerUrl: 'not a url' } })).toMatch(/azure\.evidenceContainerUrl: must be an https URL/);
  });

  it('endpoints and API servers with a user name and password', () => {
    const message = refusal({
      aws: { ...aws, endpoints: { ec2: 'https://admin:hunter2@ec2.internal.example' } },
      gcp: { forensicsProject: 'forensics-prod', allowedProjects: ['victim-prod'], endpoints: { compute: 'https://u:hunter2@compute.example' } },
      kubernetes: { clusters: { prod: { server: 'https://u:hunter2@k8s.example', eks: { name: 'prod', account: '222222222222', region: 'us-east-1' } } } },
    });
    expect(message).toMatch(/aws\.endpoints\.ec2: must not carry a user name or password/);
    expect(message).toMatch(/gcp\.endpoints\.compute: must not carry a user name or password/);
    expect(message).toMatch(/kubernetes\.clusters\.prod\.server: must not carry a user name or password/);
    expect(message).not.toContain('hunter2');
  });
});
