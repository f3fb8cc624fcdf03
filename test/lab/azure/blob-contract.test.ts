/**
 * The lab's Blob Storage against the Blob service REST description and error table
 * (blob-spec-facts.json names the sources): statuses, response headers, the XML error body, token
 * checks, data-action RBAC from policies/azure, and version-level immutability as documented —
 * a sealed version refuses delete, Put Page and metadata changes (409 with the documented code),
 * an overwrite makes a new version and keeps the sealed one, an unlocked policy lapses at its
 * expiry and can be shortened, a locked one cannot, a legal hold holds until cleared.
 * Driven with plain https requests and tokens from the lab's Entra: nothing of the product here.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureLab, type AzureLab } from '../../../src/lab/azure/server.js';
import { LAB_APP_CLIENT_ID, LAB_CUSTOMER_TENANT, LAB_SOC_TENANT } from '../../../src/lab/azure/scenario.js';
import { vhdFile } from '../../../src/lab/azure/vhd-export.js';

const facts = JSON.parse(readFileSync(join(import.meta.dirname, 'blob-spec-facts.json'), 'utf8')) as {
  everyResponse: string[];
  operations: Record<string, { method: string; statuses: number[]; responseHeaders: string[]; rangeHeaders?: string[]; propertiesWhileCopying?: string[]; propertiesWhenDone?: string[] }>;
  error: { contentType: string; header: string; elements: string[] };
  errorCodes: Record<string, number | null>;
  errorMessages: Record<string, string>;
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

let lab: AzureLab;
let storageToken = '';
let armToken = '';
let foreignToken = '';

function send(method: string, url: string, headers: Record<string, string> = {}, body?: Buffer | string, token: string | undefined = storageToken): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca: lab.tls.caPem, headers: { 'x-ms-version': '2026-06-06', ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function tokenFor(tenant: string, scope: string): Promise<string> {
  const form = new URLSearchParams({
    client_id: LAB_APP_CLIENT_ID,
    scope,
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: lab.workloadToken(),
  }).toString();
  const answer = await send('POST', `${lab.authorityHost}/${tenant}/oauth2/v2.0/token`, { 'content-type': 'application/x-www-form-urlencoded' }, form, '');
  return (JSON.parse(answer.body.toString('utf8')) as { access_token: string }).access_token;
}

beforeAll(async () => {
  lab = await startAzureLab();
  storageToken = await tokenFor(LAB_SOC_TENANT, 'https://storage.azure.com/.default');
  armToken = await tokenFor(LAB_SOC_TENANT, 'https://management.azure.com/.default');
  foreignToken = await tokenFor(LAB_CUSTOMER_TENANT, 'https://storage.azure.com/.default');
});
afterAll(async () => lab?.close());

const blobUrl = (name: string, query = '') => `${lab.evidenceContainerUrl}/${name}${query}`;

function expectShape(answer: Answer, operation: string, extra: string[] = []) {
  const fact = facts.operations[operation]!;
  expect(fact.statuses, `${operation} status ${answer.status}: ${answer.body.toString()}`).toContain(answer.status);
  for (const h of [...facts.everyResponse, ...fact.responseHeaders, ...extra]) expect(answer.headers[h], `${operation} ${h}`).toBeDefined();
}

function expectError(answer: Answer, code: string) {
  const text = answer.body.toString('utf8');
  expect(answer.status, text).toBe(facts.errorCodes[code] ?? answer.status);
  expect(answer.headers[facts.error.header]).toBe(code);
  if (text === '') return text; // HEAD: the code travels in the header alone
  expect(answer.headers['content-type']).toBe(facts.error.contentType);
  for (const element of facts.error.elements) expect(text).toMatch(new RegExp(`<${element}>[^<]*</${element}>`));
  expect(text).toContain(`<Code>${code}</Code>`);
  expect(text).toContain(`RequestId:${String(answer.headers['x-ms-request-id'])}`);
  if (facts.errorMessages[code]) expect(text).toContain(facts.errorMessages[code]);
  return text;
}

/** A page blob copied into the evidence container from a disk export, as custody makes one (CASE/EVIDENCE-ID/NAME.vhd). */
async function copiedBlob(name: string, disk = Buffer.alloc(4096, 7)): Promise<{ answer: Answer; file: Buffer }> {
  const file = vhdFile(disk);
  const source = await lab.blob!.publish('contract-exports', `${name}.vhd`, file, { pageBlob: true, expiresOn: new Date(Date.now() + 600_000) });
  const answer = await send('PUT', blobUrl(name), { 'x-ms-copy-source': source, 'x-ms-meta-caseid': 'INC-C' });
  return { answer, file };
}

/** A lab-only role with every blob data action, for the deletes a sealed version must refuse. */
function grantOwner(): void {
  const rbac = lab.estate.world.rbac;
  if (!rbac.roles.has('test-blob-owner')) {
    rbac.roles.set('test-blob-owner', { name: 'test-blob-owner', roleName: 'test', permissions: [{ actions: [], notActions: [], dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*'], notDataActions: [] }] });
    rbac.assign(lab.estate.principals.soc, 'test-blob-owner', lab.estate.ids.evidenceContainer);
  }
}

describe('the lab Blob Storage holds to the Blob service REST description', () => {
  it('Copy Blob answers 202 pending, Get Blob Properties shows the copy until success, Get Blob serves ranges', async () => {
    const { answer, file } = await copiedBlob('INC-C/ev-copy/copy.vhd');
    expectShape(answer, 'Blob_StartCopyFromURL');
    expect(answer.headers['x-ms-copy-status']).toBe('pending');
    const pending = await send('HEAD', blobUrl('INC-C/ev-copy/copy.vhd'));
    expectShape(pending, 'Blob_GetProperties', facts.operations.Blob_StartCopyFromURL!.propertiesWhileCopying);
    expect(pending.headers['x-ms-copy-status']).toBe('pending');
    expect(pending.headers['x-ms-copy-source']).not.toMatch(/sig=/);
    const done = await send('HEAD', blobUrl('INC-C/ev-copy/copy.vhd'));
    expectShape(done, 'Blob_GetProperties', facts.operations.Blob_StartCopyFromURL!.propertiesWhenDone);
    expect(done.headers).toMatchObject({ 'x-ms-copy-status': 'success', 'x-ms-copy-progress': `${file.length}/${file.length}`, 'x-ms-blob-type': 'PageBlob', 'content-length': String(file.length), 'x-ms-meta-caseid': 'INC-C', 'x-ms-is-current-version': 'true' });

    const whole = await send('GET', blobUrl('INC-C/ev-copy/copy.vhd'));
    expectShape(whole, 'Blob_Download');
    expect(whole.status).toBe(200);
    expect(whole.body.equals(file)).toBe(true);
    const ranged = await send('GET', blobUrl('INC-C/ev-copy/copy.vhd'), { 'x-ms-range': 'bytes=4096-4607' });
    expectShape(ranged, 'Blob_Download', facts.operations.Blob_Download!.rangeHeaders);
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes 4096-4607/${file.length}`);
    expect(ranged.body.subarray(0, 8).toString('latin1')).toBe('conectix');
    const open = await send('GET', blobUrl('INC-C/ev-copy/copy.vhd'), { range: 'bytes=4000-' });
    expect(open.body.equals(file.subarray(4000))).toBe(true);
    expectError(await send('GET', blobUrl('INC-C/ev-copy/copy.vhd'), { 'x-ms-range': `bytes=${file.length}-` }), 'InvalidRange');
  });

  it('a copy whose source SAS has lapsed is refused as CannotVerifyCopySource with the source status', async () => {
    const source = await lab.blob!.publish('contract-exports', 'old.vhd', vhdFile(Buffer.alloc(512)), { pageBlob: true, expiresOn: new Date(Date.now() - 1000) });
    const answer = await send('PUT', blobUrl('INC-C/ev-old/old.vhd'), { 'x-ms-copy-source': source });
    const text = expectError(answer, 'CannotVerifyCopySource');
    expect(answer.status).toBe(403);
    expect(text).toContain('<CopySourceStatusCode>403</CopySourceStatusCode>');
    // A SAS with a forged signature is refused too; the export account takes no token at all.
    const forged = source.replace(/sig=[^&]+/, 'sig=AAAA');
    expect((await send('GET', forged, {}, undefined, '')).status).toBe(403);
    expectError(await send('GET', source.split('?')[0]!), 'AuthenticationFailed');
  });

  it('tokens are checked for expiry, audience and issuer (401 InvalidAuthenticationInfo with the detail); none at all is 401', async () => {
    await copiedBlob('INC-C/ev-auth/auth.vhd');
    expect(expectError(await send('HEAD', blobUrl('INC-C/ev-auth/auth.vhd'), {}, undefined, armToken), 'InvalidAuthenticationInfo')).toBe('');
    const wrongAudience = await send('GET', blobUrl('INC-C/ev-auth/auth.vhd'), {}, undefined, armToken);
    expect(expectError(wrongAudience, 'InvalidAuthenticationInfo')).toContain('Audience validation failed');
    expect(expectError(await send('GET', blobUrl('INC-C/ev-auth/auth.vhd'), {}, undefined, foreignToken), 'InvalidAuthenticationInfo')).toContain('Issuer validation failed');
    lab.clock.offsetMs = 2 * 3600_000;
    try {
      expect(expectError(await send('GET', blobUrl('INC-C/ev-auth/auth.vhd')), 'InvalidAuthenticationInfo')).toContain('Lifetime validation failed');
    } finally {
      lab.clock.offsetMs = 0;
    }
    expect((await send('GET', blobUrl('INC-C/ev-auth/auth.vhd'), {}, undefined, '')).status).toBe(401);
  });

  it('data actions are decided from policies/azure: the writer cannot delete, and the refusal names the data action and scope', async () => {
    await copiedBlob('INC-C/ev-rbac/rbac.vhd');
    const text = expectError(await send('DELETE', blobUrl('INC-C/ev-rbac/rbac.vhd')), 'AuthorizationPermissionMismatch');
    expect(text).toContain("perform action 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'");
    expect(text).toContain(`over scope '${lab.estate.ids.evidenceContainer}/blobs/INC-C/ev-rbac/rbac.vhd'`);
  });

  it('Set Blob Immutability Policy and Set Blob Legal Hold answer what they set, and Get Blob Properties shows it', async () => {
    await copiedBlob('INC-C/ev-seal/seal.vhd');
    await send('HEAD', blobUrl('INC-C/ev-seal/seal.vhd'));
    const until = new Date(Date.now() + 86_400_000);
    const policy = await send('PUT', blobUrl('INC-C/ev-seal/seal.vhd', '?comp=immutabilityPolicies'), { 'x-ms-immutability-policy-until-date': until.toUTCString(), 'x-ms-immutability-policy-mode': 'Unlocked' });
    expectShape(policy, 'Blob_SetImmutabilityPolicy');
    expect(policy.headers).toMatchObject({ 'x-ms-immutability-policy-until-date': until.toUTCString(), 'x-ms-immutability-policy-mode': 'Unlocked' });
    const hold = await send('PUT', blobUrl('INC-C/ev-seal/seal.vhd', '?comp=legalhold'), { 'x-ms-legal-hold': 'true' });
    expectShape(hold, 'Blob_SetLegalHold');
    expect(hold.headers['x-ms-legal-hold']).toBe('true');
    const props = await send('HEAD', blobUrl('INC-C/ev-seal/seal.vhd'));
    expect(props.headers).toMatchObject({ 'x-ms-immutability-policy-until-date': until.toUTCString(), 'x-ms-immutability-policy-mode': 'Unlocked', 'x-ms-legal-hold': 'true' });
  });
});

describe('version-level immutability, as custody relies on it', () => {
  it('a sealed version refuses delete, Put Page and metadata changes; an overwrite keeps it as a previous version', async () => {
    grantOwner();
    const { file } = await copiedBlob('INC-V/ev-sealed/sealed.vhd');
    const first = await send('HEAD', blobUrl('INC-V/ev-sealed/sealed.vhd'));
    await send('HEAD', blobUrl('INC-V/ev-sealed/sealed.vhd'));
    const versionId = String(first.headers['x-ms-version-id']);
    const until = new Date(Date.now() + 86_400_000).toUTCString();
    await send('PUT', blobUrl('INC-V/ev-sealed/sealed.vhd', '?comp=immutabilityPolicies'), { 'x-ms-immutability-policy-until-date': until, 'x-ms-immutability-policy-mode': 'Unlocked' });

    expectError(await send('DELETE', blobUrl('INC-V/ev-sealed/sealed.vhd', `?versionid=${encodeURIComponent(versionId)}`)), 'BlobImmutableDueToPolicy');
    expectError(await send('PUT', blobUrl('INC-V/ev-sealed/sealed.vhd', '?comp=page'), { 'x-ms-page-write': 'update', 'x-ms-range': 'bytes=0-511', 'content-length': '512' }, Buffer.alloc(512, 1)), 'BlobImmutableDueToPolicy');
    expectError(await send('PUT', blobUrl('INC-V/ev-sealed/sealed.vhd', '?comp=metadata'), { 'x-ms-meta-caseid': 'tampered' }), 'BlobImmutableDueToPolicy');

    const overwrite = await send('PUT', blobUrl('INC-V/ev-sealed/sealed.vhd'), { 'x-ms-blob-type': 'BlockBlob', 'content-length': '8' }, Buffer.from('tampered'));
    expect(overwrite.status).toBe(201);
    expect(overwrite.headers['x-ms-version-id']).not.toBe(versionId);
    const kept = await send('GET', blobUrl('INC-V/ev-sealed/sealed.vhd', `?versionid=${encodeURIComponent(versionId)}`));
    expect(kept.body.equals(file)).toBe(true);
    expect(kept.headers).toMatchObject({ 'x-ms-is-current-version': 'false', 'x-ms-immutability-policy-until-date': until });
    // Deleting the current version keeps it too (versioning); the sealed one still refuses.
    expect((await send('DELETE', blobUrl('INC-V/ev-sealed/sealed.vhd'))).status).toBe(202);
    expectError(await send('HEAD', blobUrl('INC-V/ev-sealed/sealed.vhd')), 'BlobNotFound');
    expectError(await send('DELETE', blobUrl('INC-V/ev-sealed/sealed.vhd', `?versionid=${encodeURIComponent(versionId)}`)), 'BlobImmutableDueToPolicy');
  });

  it('a legal hold holds until cleared; an unlocked policy lapses at its expiry and can be shortened; a locked one cannot', async () => {
    grantOwner();
    await copiedBlob('INC-V/ev-hold/hold.vhd');
    const versionId = String((await send('HEAD', blobUrl('INC-V/ev-hold/hold.vhd'))).headers['x-ms-version-id']);
    const version = `?versionid=${encodeURIComponent(versionId)}`;
    const inAnHour = new Date(Date.now() + 3600_000).toUTCString();
    await send('PUT', blobUrl('INC-V/ev-hold/hold.vhd', '?comp=immutabilityPolicies'), { 'x-ms-immutability-policy-until-date': inAnHour, 'x-ms-immutability-policy-mode': 'Unlocked' });
    await send('PUT', blobUrl('INC-V/ev-hold/hold.vhd', '?comp=legalhold'), { 'x-ms-legal-hold': 'true' });
    lab.clock.offsetMs = 2 * 3600_000;
    try {
      // Past the policy's expiry: the hold alone still refuses (tokens are re-issued under the moved clock).
      storageToken = await tokenFor(LAB_SOC_TENANT, 'https://storage.azure.com/.default');
      expectError(await send('DELETE', blobUrl('INC-V/ev-hold/hold.vhd', version)), 'BlobImmutableDueToLegalHold');
      expect((await send('PUT', blobUrl('INC-V/ev-hold/hold.vhd', '?comp=legalhold'), { 'x-ms-legal-hold': 'false' })).status).toBe(200);
      expect((await send('DELETE', blobUrl('INC-V/ev-hold/hold.vhd', version))).status).toBe(202);
    } finally {
      lab.clock.offsetMs = 0;
      storageToken = await tokenFor(LAB_SOC_TENANT, 'https://storage.azure.com/.default');
    }

    await copiedBlob('INC-V/ev-lock/lock.vhd');
    const lockVersion = `?versionid=${encodeURIComponent(String((await send('HEAD', blobUrl('INC-V/ev-lock/lock.vhd'))).headers['x-ms-version-id']))}`;
    const far = new Date(Date.now() + 10 * 86_400_000).toUTCString();
    const near = new Date(Date.now() + 86_400_000).toUTCString();
    await send('PUT', blobUrl('INC-V/ev-lock/lock.vhd', '?comp=immutabilityPolicies'), { 'x-ms-immutability-policy-until-date': far, 'x-ms-immutability-policy-mode': 'Unlocked' });
    expect((await send('PUT', blobUrl('INC-V/ev-lock/lock.vhd', '?comp=immutabilityPolicies'), { 'x-ms-immutability-policy-until-date': near, 'x-ms-immutability-policy-mode': 'Unlocked' })).status).toBe(200);
    expect((await send('DELETE', blobUrl('INC-V/ev-lock/lock.vhd', '?comp=immutabilityPolicies'))).status).toBe(200);
    expect((await send('PUT', blobUrl('INC-V/ev-lock/lock.vhd', '?comp=immutabilityPolicies'), { 'x-ms-immutability-policy-until-date': far, 'x-ms-immutability-policy-mode': 'Locked' })).status).toBe(200);
    expectError(await send('PUT', blobUrl('INC-V/ev-lock/lock.vhd', '?comp=immutabilityPolicies'), { 'x-ms-immutability-policy-until-date': near, 'x-ms-immutability-policy-mode': 'Locked' }), 'BlobImmutableDueToPolicy');
    expectError(await send('DELETE', blobUrl('INC-V/ev-lock/lock.vhd', '?comp=immutabilityPolicies')), 'BlobImmutableDueToPolicy');
    expectError(await send('DELETE', blobUrl('INC-V/ev-lock/lock.vhd', lockVersion)), 'BlobImmutableDueToPolicy');
  });

  it('an operation the lab does not model answers 501 in the same error form', async () => {
    const answer = await send('GET', blobUrl('INC-C/ev-copy/copy.vhd', '?comp=tags'));
    expect(answer.status).toBe(501);
    expect(answer.headers[facts.error.header]).toBe('NotImplemented');
  });
});
