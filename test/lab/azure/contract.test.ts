/**
 * The lab's ARM against the published REST descriptions (spec-facts.json names each source):
 * statuses, required request and response fields, the async-operation header and path, the
 * error body, and the request-id headers. Driven with plain https requests and a token from the
 * lab's Entra, so nothing of the product is under test here.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureLab, type AzureLab } from '../../../src/lab/azure/server.js';
import { LAB_APP_CLIENT_ID, LAB_CUSTOMER_SUBSCRIPTION, LAB_CUSTOMER_TENANT, LAB_STAGING_RG } from '../../../src/lab/azure/scenario.js';
import { key } from '../../../src/lab/azure/world.js';

const facts = JSON.parse(readFileSync(join(import.meta.dirname, 'spec-facts.json'), 'utf8')) as {
  operations: Record<string, { statuses: number[]; requestFields?: string[]; responseFields?: string[]; asyncHeader?: string; asyncPath?: string; finalFields?: string[] }>;
  errorResponse: { required: string[] };
  headers: { everyResponse: string[] };
};

let lab: AzureLab;
let token = '';
beforeAll(async () => {
  lab = await startAzureLab({ operationPolls: 0 });
  const form = new URLSearchParams({
    client_id: LAB_APP_CLIENT_ID,
    scope: 'https://management.azure.com/.default',
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: lab.workloadToken(),
  }).toString();
  const answer = await send('POST', `${lab.authorityHost}/${LAB_CUSTOMER_TENANT}/oauth2/v2.0/token`, form, { 'content-type': 'application/x-www-form-urlencoded' });
  token = (answer.body as { access_token: string }).access_token;
});
afterAll(async () => lab?.close());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

function send(method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca: lab.tls.caPem, headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const arm = (path: string, version: string) => `${lab.armEndpoint}${path}${path.includes('?') ? '&' : '?'}api-version=${version}`;
const json = { 'content-type': 'application/json' };

function field(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);
}

function expectShape(answer: Answer, name: string) {
  const fact = facts.operations[name]!;
  expect(fact.statuses, `${name} status`).toContain(answer.status);
  for (const f of fact.responseFields ?? []) expect(field(answer.body, f), `${name} ${f}`).toBeDefined();
  for (const h of facts.headers.everyResponse) expect(answer.headers[h], `${name} ${h}`).toBeDefined();
}

function asyncPathMatches(location: string, name: string) {
  const shape = facts.operations[name]!.asyncPath!.replace(/\{[^}]+\}/g, '[^/?]+');
  expect(new URL(location).pathname).toMatch(new RegExp(`^${shape}$`));
}

async function pollToEnd(location: string): Promise<Answer> {
  for (let i = 0; i < 10; i++) {
    const answer = await send('GET', location);
    if (answer.status !== 202) return answer;
  }
  throw new Error('operation never finished');
}

describe('the lab ARM holds to the REST descriptions', () => {
  const sub = LAB_CUSTOMER_SUBSCRIPTION;
  const snapshotPath = `/subscriptions/${sub}/resourceGroups/${LAB_STAGING_RG}/providers/Microsoft.Compute/snapshots/contract-1`;

  it('Snapshots_CreateOrUpdate, GrantAccess (Location → accessSAS) and RevokeAccess', async () => {
    const disk = lab.estate.ids.vmOsDisk;
    const create = await send('PUT', arm(snapshotPath, '2025-01-02'), JSON.stringify({ location: 'eastus', properties: { creationData: { createOption: 'Copy', sourceResourceId: disk }, incremental: true } }), json);
    expectShape(create, 'Snapshots_CreateOrUpdate');
    const grant = await send('POST', arm(`${snapshotPath}/beginGetAccess`, '2025-01-02'), JSON.stringify({ access: 'Read', durationInSeconds: 300, fileFormat: 'VHD' }), json);
    expectShape(grant, 'Snapshots_GrantAccess');
    const location = String(grant.headers.location);
    asyncPathMatches(location, 'Snapshots_GrantAccess');
    const final = await pollToEnd(location);
    for (const f of facts.operations.Snapshots_GrantAccess!.finalFields!) expect(field(final.body, f)).toBeDefined();
    const revoke = await send('POST', arm(`${snapshotPath}/endGetAccess`, '2025-01-02'), undefined, json);
    expectShape(revoke, 'Snapshots_RevokeAccess');
    asyncPathMatches(String(revoke.headers.location), 'Snapshots_RevokeAccess');
  });

  it('RestorePoints_Create answers 201 with disk restore point ids shaped as the spec shows', async () => {
    const rpc = `/subscriptions/${sub}/resourceGroups/${LAB_STAGING_RG}/providers/Microsoft.Compute/restorePointCollections/contract-rpc`;
    const made = await send('PUT', arm(rpc, '2025-04-01'), JSON.stringify({ location: 'eastus', properties: { source: { id: lab.estate.ids.vm } } }), json);
    expect([200, 201]).toContain(made.status);
    const point = await send('PUT', arm(`${rpc}/restorePoints/rp1`, '2025-04-01'), JSON.stringify({ properties: { consistencyMode: 'CrashConsistent' } }), json);
    const done = await send('GET', arm(`${rpc}/restorePoints/rp1`, '2025-04-01'));
    expect(point.status).toBe(201);
    expectShape({ ...done, status: 201 }, 'RestorePoints_Create');
    const drp = String(field(done.body, 'properties.sourceMetadata.storageProfile.osDisk.diskRestorePoint.id'));
    expect(drp).toMatch(/\/restorePoints\/rp1\/diskRestorePoints\/[^/]+_[0-9a-f-]{36}$/);
  });

  it('RestorePoints_Get after the VM and its disks are deleted: the point stays, with the sourceMetadata captured when it was made', async () => {
    const { ids, world } = lab.estate;
    const rpc = `/subscriptions/${sub}/resourceGroups/${LAB_STAGING_RG}/providers/Microsoft.Compute/restorePointCollections/contract-gone`;
    await send('PUT', arm(rpc, '2025-04-01'), JSON.stringify({ location: 'eastus', properties: { source: { id: ids.vm } } }), json);
    await send('PUT', arm(`${rpc}/restorePoints/rp1`, '2025-04-01'), JSON.stringify({ properties: { consistencyMode: 'CrashConsistent' } }), json);
    const before = await send('GET', arm(`${rpc}/restorePoints/rp1`, '2025-04-01'));
    const deleted = [ids.vm, ids.vmOsDisk, ids.vmDataDisk].map((id) => [key(id), world.vms.get(key(id)), world.disks.get(key(id))] as const);
    world.vms.delete(key(ids.vm));
    for (const id of [ids.vmOsDisk, ids.vmDataDisk]) world.disks.delete(key(id));
    try {
      const after = await send('GET', arm(`${rpc}/restorePoints/rp1`, '2025-04-01'));
      expectShape(after, 'RestorePoints_Get');
      expect(field(after.body, 'properties.sourceMetadata')).toEqual(field(before.body, 'properties.sourceMetadata'));
      expect(field(after.body, 'properties.sourceMetadata.storageProfile.osDisk.managedDisk.id')).toBe(ids.vmOsDisk);
      expect(field(after.body, 'properties.sourceMetadata.storageProfile.dataDisks')).toEqual([expect.objectContaining({ lun: 0, managedDisk: { id: ids.vmDataDisk } })]);
    } finally {
      for (const [k, vm, disk] of deleted) {
        if (vm) world.vms.set(k, vm);
        if (disk) world.disks.set(k, disk);
      }
    }
  });

  it('VirtualMachines_RetrieveBootDiagnosticsData returns both blob URIs', async () => {
    const answer = await send('POST', arm(`${lab.estate.ids.vm}/retrieveBootDiagnosticsData?sasUriExpirationTimeInMinutes=5`, '2025-04-01'));
    expectShape(answer, 'VirtualMachines_RetrieveBootDiagnosticsData');
  });

  it('errors carry error.code and error.message; a missing api-version and a foreign tenant are refused as ARM does', async () => {
    const missing = await send('GET', `${lab.armEndpoint}${lab.estate.ids.vm}`);
    expect(missing.status).toBe(400);
    for (const f of facts.errorResponse.required) expect(field(missing.body, f)).toBeDefined();
    expect(field(missing.body, 'error.code')).toBe('MissingApiVersionParameter');
    const denied = await send('GET', arm(`${lab.estate.ids.untaggedVm}/instanceView`, '2025-04-01'));
    expect(denied.status).toBe(403);
    expect(String(field(denied.body, 'error.message'))).toContain("perform action 'Microsoft.Compute/virtualMachines/instanceView/read' over scope");
    const socVm = `/subscriptions/${lab.estate.world.socSubscription}/resourceGroups/x/providers/Microsoft.Compute/virtualMachines/y`;
    const foreign = await send('GET', arm(socVm, '2025-04-01'));
    expect(foreign.status).toBe(401);
    expect(field(foreign.body, 'error.code')).toBe('InvalidAuthenticationTokenTenant');
  });

  it('ids are case-insensitive: a lower-cased path finds the VM and the answer keeps its casing', async () => {
    const answer = await send('GET', arm(lab.estate.ids.vm.toLowerCase(), '2025-04-01'));
    expect(answer.status).toBe(200);
    expect(field(answer.body, 'id')).toBe(lab.estate.ids.vm);
  });
});
