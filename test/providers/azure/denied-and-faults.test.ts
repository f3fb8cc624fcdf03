import { afterEach, describe, expect, it } from 'vitest';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget, type AzureVmTarget } from '../../../src/providers/azure/targets.js';
import { describeVm } from '../../../src/providers/azure/describe.js';
import { LAB_SOC_TENANT } from '../../../src/lab/azure/scenario.js';
import { startAzureFixture, type AzureFixture } from './fixture.js';
import { CustodyError } from '../../../src/core/errors.js';
import { renderReport } from '../../../src/custody/index.js';
import { readFile } from 'node:fs/promises';

let fx: AzureFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function fixture() {
  fx = await startAzureFixture();
  return fx;
}

describe('least privilege as the lab enforces it from policies/azure', () => {
  it('an untagged VM is refused, naming the action and the scope Azure refused', async () => {
    const f = await fixture();
    const kase = await f.openTestCase('IR-AZ-DENY');
    const outcome = await collectAzureTarget(f.run(kase), parseAzureTarget(f.lab.estate.ids.untaggedVm));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'Microsoft.Compute/virtualMachines/instanceView/read', resource: f.lab.estate.ids.untaggedVm });
    expect(f.lab.estate.world.snapshots.size).toBe(0);
    await kase.close();
  });

  it('an untagged disk is refused at its own scope', async () => {
    const f = await fixture();
    const kase = await f.openTestCase('IR-AZ-DENY-DISK');
    const outcome = await collectAzureTarget(f.run(kase), parseAzureTarget(f.lab.estate.ids.untaggedDisk));
    expect(outcome.status).toBe('failed');
    const failed = kase.entries().find((e) => e.type === 'step.failed')!;
    expect(failed.data.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'Microsoft.Compute/disks/read', resource: f.lab.estate.ids.untaggedDisk });
    await kase.close();
  });

  it('without disks/beginGetAccess on the source disk, ARM refuses the snapshot (linked authorization) and nothing is created', async () => {
    const f = await fixture();
    f.lab.estate.world.rbac.withoutAction('collector-role', 'Microsoft.Compute/disks/beginGetAccess/action');
    const kase = await f.openTestCase('IR-AZ-LINKED');
    const outcome = await collectAzureTarget(f.run(kase, { consistency: 'per-disk' }), parseAzureTarget(f.lab.estate.ids.vm));
    expect(outcome.status).toBe('failed');
    const failures = kase.entries().filter((e) => e.type === 'step.failed' && e.data.step === 'snapshot');
    expect(failures).toHaveLength(2);
    expect(failures[0]!.data.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'Microsoft.Compute/disks/beginGetAccess/action', resource: f.lab.estate.ids.vmOsDisk });
    expect(f.lab.estate.world.snapshots.size).toBe(0);
    await kase.close();
  });
});

describe('the stop signal', () => {
  it('a piece of evidence the case cannot store (E_LEDGER) stops the target: nothing more is asked of Azure', async () => {
    const f = await fixture();
    const kase = await f.openTestCase('IR-AZ-STOP');
    const recorder = new Proxy(kase, {
      get(target, property, receiver) {
        if (property !== 'storeEvidence') return Reflect.get(target, property, receiver);
        return async (input: { name: string }) => {
          if (input.name === 'serial-console.log') throw new CustodyError('E_LEDGER', 'the case could not record evidence serial-console.log: ENOSPC');
          return target.storeEvidence(input as Parameters<typeof target.storeEvidence>[0]);
        };
      },
    });
    const outcome = await collectAzureTarget({ ...f.run(kase), recorder }, parseAzureTarget(f.lab.estate.ids.vm)).catch((error: CustodyError) => ({ thrown: error }));
    const stopped = 'thrown' in outcome ? outcome.thrown.code : outcome.error?.code;
    expect(stopped).toBe('E_LEDGER');
    expect(kase.entries().filter((e) => /^(restorepoint|snapshot|export|copy|seal)\./.test(e.type))).toEqual([]);
    // The boot diagnostics action (before the failure) is the only request that is not a read.
    expect(f.lab.armLog.filter((x) => x.method !== 'GET').map((x) => x.operation)).toEqual(['virtualMachines.retrieveBootDiagnosticsData']);
    await kase.release();
  });
});

describe('faults', () => {
  it('a 429 with Retry-After is retried and both requests are on the record', async () => {
    const f = await fixture();
    f.lab.faults.push({ operation: 'virtualMachines.get', status: 429, code: 'TooManyRequests', message: 'throttled', times: 1, retryAfterSeconds: 0 });
    const kase = await f.openTestCase('IR-AZ-429');
    const { clients } = f.run(kase);
    await describeVm(kase, clients, parseAzureTarget(f.lab.estate.ids.vm) as AzureVmTarget, 'ev-000000000001');
    const gets = f.lab.armLog.filter((x) => x.operation === 'virtualMachines.get');
    expect(gets.map((x) => x.status)).toEqual([429, 200]);
    const stored = kase.entries().find((e) => e.type === 'evidence.stored' && e.data.name === 'vm-model.json')!;
    expect(stored.data.requestIds).toEqual(gets.map((x) => x.requestId));
    await kase.release();
  });

  it('throttling that does not end fails the target as E_THROTTLED, retryable', async () => {
    const f = await fixture();
    f.lab.faults.push({ operation: 'virtualMachines.get', status: 429, code: 'TooManyRequests', message: 'throttled', times: 10, retryAfterSeconds: 0 });
    const kase = await f.openTestCase('IR-AZ-429X');
    const outcome = await collectAzureTarget(f.run(kase), parseAzureTarget(f.lab.estate.ids.vm));
    expect(outcome.error).toMatchObject({ code: 'E_THROTTLED', retryable: true });
    await kase.release();
  });

  it('a VM deleted mid-run is not found, and the outcome says so', async () => {
    const f = await fixture();
    f.lab.faults.push({ operation: 'virtualMachines.instanceView', status: 404, code: 'ResourceNotFound', message: "The Resource 'Microsoft.Compute/virtualMachines/web-1' under resource group 'Web-RG' was not found.", times: 1 });
    const kase = await f.openTestCase('IR-AZ-GONE');
    const outcome = await collectAzureTarget(f.run(kase), parseAzureTarget(f.lab.estate.ids.vm));
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'E_NOT_FOUND' } });
    await kase.release();
  });

  it('a VM, scale-set VM or disk id that does not exist (a typo) fails with an error naming the id and no evidence claimed: nothing was stored under its evidence id', async () => {
    const f = await fixture();
    const kase = await f.openTestCase('IR-AZ-TYPO');
    const ids = [f.lab.estate.ids.vm.replace(/web-1$/, 'web-9'), f.lab.estate.ids.aksNode.replace(/\/0$/, '/7'), f.lab.estate.ids.vmDataDisk.replace(/[^/]+$/, 'no-such-disk')];
    const outcomes = [];
    for (const id of ids) outcomes.push(await collectAzureTarget(f.run(kase), parseAzureTarget(id)));
    // The discovery role reads VMs subscription-wide, so ARM says 404; a disk is readable only
    // through its own (disk-scoped) assignment, so ARM answers a mistyped disk id with 403.
    expect(outcomes.map((o) => [o.status, o.error?.code, o.error?.resource, o.evidenceIds])).toEqual([
      ['failed', 'E_NOT_FOUND', ids[0], []],
      ['failed', 'E_NOT_FOUND', ids[1], []],
      ['failed', 'E_ACCESS_DENIED', ids[2], []],
    ]);
    for (const [i, o] of outcomes.entries()) expect(o.reason).toContain(ids[i]);
    expect(outcomes[2]!.reason).toContain(`Azure answers the same for a disk id that does not exist: check ${ids[2]} first.`);
    // Where the collector may read the disk's resource group, ARM says 404: E_NOT_FOUND, as for a VM.
    f.lab.estate.world.rbac.assign(f.lab.estate.principals.customer, 'collector-role', ids[2]!.replace(/\/providers\/.*$/, ''));
    const disk = await collectAzureTarget(f.run(kase), parseAzureTarget(ids[2]!));
    expect([disk.status, disk.error?.code, disk.error?.resource, disk.reason]).toEqual(['failed', 'E_NOT_FOUND', ids[2], `${ids[2]} was not found (ResourceNotFound)`]);
    expect(kase.entries().filter((e) => e.type === 'evidence.stored' || e.type === 'artifact.recorded')).toEqual([]);
    // A VM whose model was stored before a later read was refused keeps that evidence id.
    const denied = await collectAzureTarget(f.run(kase), parseAzureTarget(f.lab.estate.ids.untaggedVm));
    const stored = kase.entries().filter((e) => e.type === 'evidence.stored').map((e) => e.data.evidenceId);
    expect(stored).toHaveLength(1);
    expect(denied.evidenceIds).toEqual(stored);
    await kase.release();
  });

  it('a subscription configured with the wrong tenant gets InvalidAuthenticationTokenTenant: a credentials error, not a silent cross-tenant call', async () => {
    const f = await fixture();
    const kase = await f.openTestCase('IR-AZ-TENANT');
    const ctx = f.run(kase, { subscriptions: [{ subscriptionId: f.config.subscriptions[0]!.subscriptionId, tenantId: LAB_SOC_TENANT }] });
    const outcome = await collectAzureTarget(ctx, parseAzureTarget(f.lab.estate.ids.vm));
    expect(outcome.error).toMatchObject({ code: 'E_CREDENTIALS' });
    expect(String(outcome.error!.message)).toContain('InvalidAuthenticationTokenTenant');
    await kase.release();
  });

  it('a token ARM holds expired is a credentials error naming ExpiredAuthenticationToken, not a silent retry', async () => {
    const f = await fixture();
    const kase = await f.openTestCase('IR-AZ-EXPIRED');
    const ctx = f.run(kase);
    const target = parseAzureTarget(f.lab.estate.ids.vm) as AzureVmTarget;
    await describeVm(kase, ctx.clients, target, 'ev-000000000002');
    // The cached token is still fresh to the client, expired to ARM (clock moved 2 h).
    f.lab.clock.offsetMs = 2 * 3600 * 1000;
    const outcome = await collectAzureTarget(ctx, target);
    expect(outcome.error).toMatchObject({ code: 'E_CREDENTIALS' });
    expect(String(outcome.error!.message)).toContain('ExpiredAuthenticationToken');
    await kase.release();
  });

  it('an export whose operation fails while it is polled is recorded with the code and the request id ARM answered with', async () => {
    const f = await fixture();
    f.lab.faults.push({ operation: 'locations.operations', status: 409, code: 'OperationNotAllowed', message: 'The export was refused.', times: 1 });
    const kase = await f.openTestCase('IR-AZ-GRANT-FAILS');
    const outcome = await collectAzureTarget(f.run(kase, { consistency: 'per-disk' }), parseAzureTarget(f.lab.estate.ids.vm));
    expect(outcome.status).toBe('partial');
    const refused = f.lab.armLog.find((x) => x.operation === 'locations.operations' && x.status === 409)!;
    const failed = kase.entries().find((e) => e.type === 'step.failed' && e.data.step === 'export')!;
    expect(failed.data.error).toMatchObject({ requestId: refused.requestId });
    expect(String((failed.data.error as { message: string }).message)).toContain('OperationNotAllowed');
    expect(failed.data.exchanges).toEqual(expect.arrayContaining([expect.objectContaining({ status: 409, requestId: refused.requestId, correlationRequestId: refused.correlationRequestId })]));
    await kase.release();
  });

  it('a restore point refused after its collection was created still records the collection ARM created, with its request id', async () => {
    const f = await fixture();
    f.lab.faults.push({ operation: 'restorePoints.create', status: 409, code: 'OperationNotAllowed', message: 'Restore points are not allowed now.', times: 1 });
    const kase = await f.openTestCase('IR-AZ-RPC');
    await collectAzureTarget(f.run(kase), parseAzureTarget(f.lab.estate.ids.vm));
    const created = f.lab.armLog.find((x) => x.operation === 'restorePointCollections.createOrUpdate' && x.status < 300)!;
    expect(created).toBeDefined();
    const ledger = kase.entries();
    const failedAt = ledger.findIndex((e) => e.type === 'step.failed' && e.data.step === 'restore-point');
    expect(failedAt).toBeGreaterThan(0);
    const recorded = ledger.slice(0, failedAt).filter((e) => JSON.stringify(e.data).includes(created.requestId));
    expect(recorded.map((e) => e.type)).toEqual(['restorepoint.collection.created']);
    expect(recorded[0]!.data).toMatchObject({ collectionId: expect.stringContaining('/restorePointCollections/custody-ev-') });
    await kase.release();
  });

  it('a subscription outside azure.subscriptions is refused before any call', async () => {
    const f = await fixture();
    const kase = await f.openTestCase('IR-AZ-OUTSIDE');
    const outcome = await collectAzureTarget(f.run(kase), parseAzureTarget('/subscriptions/dddddddd-1111-4111-8111-000000000009/resourceGroups/x/providers/Microsoft.Compute/virtualMachines/y'));
    expect(outcome).toMatchObject({ status: 'skipped', error: { code: 'E_ACCOUNT_NOT_ALLOWED' } });
    expect(f.lab.armLog).toHaveLength(0);
    await kase.release();
  });
});

describe('a read grant left open', () => {
  it('an endGetAccess ARM refuses leaves the target partial, naming the action and the snapshot, and the ledger says the grant is still open and until when', async () => {
    const f = await fixture();
    f.lab.faults.push({ operation: 'snapshots.revokeAccess', status: 409, code: 'OperationNotAllowed', message: 'The access cannot be revoked now.', times: 1 });
    const kase = await f.openTestCase('IR-AZ-REVOKE-FAILS');
    const outcome = await collectAzureTarget(f.run(kase), parseAzureTarget(f.lab.estate.ids.vmDataDisk));
    const snapshot = [...f.lab.estate.world.snapshots.values()][0]!;
    expect(snapshot.activeSas, 'the lab still holds the grant open').toBeDefined();
    const refused = f.lab.armLog.find((x) => x.operation === 'snapshots.revokeAccess' && x.status === 409)!;

    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain('endGetAccess');
    expect(outcome.reason).toContain(snapshot.id);
    expect(outcome.error).toMatchObject({ action: 'Microsoft.Compute/snapshots/endGetAccess/action', resource: snapshot.id, requestId: refused.requestId });

    const entries = kase.entries();
    const granted = entries.find((e) => e.type === 'export.granted')!;
    const failed = entries.filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['revoke']);
    expect(failed[0]!.data).toMatchObject({ source: snapshot.id, grantStillOpen: true, grantExpiresOn: granted.data.expiresOn });
    expect(granted.data.expiresOn).toEqual(expect.any(String));
    // The copy itself was made, hashed and sealed: the only thing wrong is the open grant.
    expect(entries.map((e) => e.type)).toEqual(expect.arrayContaining(['copy.completed', 'evidence.hashed', 'evidence.sealed']));
    expect(entries.map((e) => e.type)).not.toContain('export.revoked');
    await kase.release();
  });
});

describe('a collector whose clock is off', () => {
  it('every credentials.obtained records how far Microsoft’s clock (the Date of the token answer) was from this machine’s, so the ledger lines up with the Activity Log', async () => {
    const f = await fixture();
    // Azure's clock 20 minutes ahead of this machine's.
    f.lab.clock.offsetMs = 20 * 60_000;
    const kase = await f.openTestCase('IR-AZ-CLOCK');
    const outcome = await collectAzureTarget(f.run(kase), parseAzureTarget(f.lab.estate.ids.vmDataDisk));
    expect(outcome.status).toBe('collected');
    const obtained = kase.entries().filter((e) => e.type === 'credentials.obtained');
    expect(obtained.map((e) => e.data.identity)).toEqual(expect.arrayContaining(['soc', 'target']));
    for (const entry of obtained) {
      // The Date header has whole seconds.
      expect(Math.abs(Number(entry.data.azureClockOffsetMs) - 20 * 60_000)).toBeLessThan(1_500);
    }
    await kase.release();
  });

  it("ARM's and Blob Storage's own clocks, off from Entra's, are recorded from their first answers with the request id, once per subscription, and shown in the report", async () => {
    const f = await fixture();
    // Entra's clock is this machine's; ARM's runs 20 minutes ahead, the evidence account's 90 s behind.
    f.lab.clockSkew.armMs = 20 * 60_000;
    f.lab.clockSkew.storageMs = -90_000;
    const kase = await f.openTestCase('IR-AZ-ARM-CLOCK');
    const outcome = await collectAzureTarget(f.run(kase, { consistency: 'per-disk' }), parseAzureTarget(f.lab.estate.ids.vm));
    expect(outcome.status).toBe('collected');
    const entries = kase.entries();
    for (const entry of entries.filter((e) => e.type === 'credentials.obtained')) expect(Math.abs(Number(entry.data.azureClockOffsetMs))).toBeLessThan(1_500);

    const observed = entries.filter((e) => e.type === 'clock.observed');
    // One for ARM in the target's subscription (every ARM call of this target is there), one for Storage.
    expect(observed.map((e) => e.data.service)).toEqual(['arm', 'storage']);
    const [arm, storage] = observed.map((e) => e.data);
    expect(arm).toMatchObject({ provider: 'azure', service: 'arm', subscriptionId: f.lab.estate.ids.vm.split('/')[2] });
    expect(Math.abs(Number(arm!.armClockOffsetMs) - 20 * 60_000)).toBeLessThan(1_500);
    expect(Math.abs(Number(storage!.storageClockOffsetMs) + 90_000)).toBeLessThan(1_500);
    // Each names the answer it was read from: ARM's, and Storage's, request id and Date.
    const armAnswer = f.lab.armLog.find((x) => x.requestId === arm!.requestId)!;
    expect(armAnswer).toBeDefined();
    expect(arm!.clientRequestId).toBe(armAnswer.clientRequestId);
    expect(Date.parse(String(arm!.date))).toBeGreaterThan(Date.now() + 19 * 60_000);
    expect(f.lab.blob!.log.some((x) => x.requestId === storage!.requestId)).toBe(true);
    expect(String(storage!.url)).not.toContain('?');
    // Before the ARM times the ledger copies: the first snapshot's timeCreated is ARM's.
    const firstArmTime = entries.findIndex((e) => e.type === 'snapshot.completed');
    expect(entries.findIndex((e) => e.type === 'clock.observed' && e.data.service === 'arm')).toBeLessThan(firstArmTime);

    await kase.close();
    const report = await renderReport(kase.caseDir);
    for (const path of [report.markdown, report.html]) {
      const text = (await readFile(path, 'utf8')).replaceAll('&#39;', "'");
      // The Date header has whole seconds: the words may be a second off either way.
      expect(text).toMatch(/(20 min 0 s|19 min 59 s) behind Azure Resource Manager's \(ARM's answers to 1 subscription session;/);
      expect(text).toMatch(/1 min (30|31) s ahead of Azure Blob Storage's \(the evidence account's answers to 1 run;/);
      expect(text).toContain("within a second of Microsoft's (the identity endpoint's answers");
    }
  });
});
