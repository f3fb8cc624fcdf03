// `azure:tag:` searched across several subscriptions when some of them cannot be searched: the SOC
// subscription, where the shipped deployment gives the collector no discovery role (ARM answers
// 403 AuthorizationFailed), and a subscription ARM does not know (404 SubscriptionNotFound). Each
// subscription is recorded as every provider records a scope (src/core/selector-search.ts): a
// `selector.searched` with what it found and ARM's request ids, or a `step.failed` (step
// `resolve-selector`); `selector.resolved` is the orchestrator's alone.
import { describe, expect, it } from 'vitest';
import { resolveAzureSelector } from '../../../src/providers/azure/resolve-selector.js';
import { parseAzureSelector } from '../../../src/providers/azure/targets.js';
import { LAB_CUSTOMER_SUBSCRIPTION, LAB_CUSTOMER_TENANT, LAB_SOC_SUBSCRIPTION, LAB_SOC_TENANT } from '../../../src/lab/azure/scenario.js';
import type { CaseHandle } from '../../../src/custody/open-case.js';
import { cutAt, useAzureFixture } from './fixture.js';

const fx = useAzureFixture();

const SELECTOR = parseAzureSelector('azure:tag:ForensicsEnabled=true');
const customer = { subscriptionId: LAB_CUSTOMER_SUBSCRIPTION, tenantId: LAB_CUSTOMER_TENANT };
// The SOC subscription: the collector holds no Cloud Custody Collector Discovery role there.
const denied = { subscriptionId: LAB_SOC_SUBSCRIPTION, tenantId: LAB_SOC_TENANT };
const unknown = { subscriptionId: 'dddddddd-1111-4111-8111-000000000009', tenantId: LAB_CUSTOMER_TENANT };

/** The VM listings ARM answered since `from` (an index into its log): subscription and status. */
const listingsSince = (from: number) => fx.lab.armLog.slice(from).filter((x) => x.operation === 'virtualMachines.listAll').map((x) => [x.path.split('/')[2], x.status]);
const failures = (kase: CaseHandle) => kase.entries().filter((e) => e.type === 'step.failed');

describe('an Azure tag search that cannot look in every subscription', () => {
  it('a subscription the shipped roles deny and one ARM does not know are recorded and told to the run; the tagged VM in the other subscription is still found', async () => {
    const kase = await fx.openTestCase('IR-AZ-PART');
    const before = fx.lab.armLog.length;
    const unsearched: Array<[string, string]> = [];
    const found = await resolveAzureSelector(fx.run(kase, { subscriptions: [denied, customer, unknown] }), SELECTOR, (scope, code) => unsearched.push([scope, code]));

    expect(found.map((t) => t.id)).toEqual([fx.lab.estate.ids.vm]);
    // Every subscription was asked, in the configured order: one failure does not end the search.
    expect(listingsSince(before)).toEqual([
      [LAB_SOC_SUBSCRIPTION, 403],
      [LAB_CUSTOMER_SUBSCRIPTION, 200],
      ['dddddddd-1111-4111-8111-000000000009', 404],
    ]);
    expect(unsearched).toEqual([
      [`subscription ${LAB_SOC_SUBSCRIPTION}`, 'E_ACCESS_DENIED'],
      ['subscription dddddddd-1111-4111-8111-000000000009', 'E_NOT_FOUND'],
    ]);
    // As AWS's: a step.failed of the search per scope, under the selector, naming the refused
    // action and the subscription; the answered subscription keeps its own entry.
    const failed = failures(kase);
    expect(failed.map((e) => [e.target, e.data.step, e.data.selector, (e.data.scope as { subscriptionId: string }).subscriptionId])).toEqual([
      [SELECTOR.key, 'resolve-selector', SELECTOR.key, LAB_SOC_SUBSCRIPTION],
      [SELECTOR.key, 'resolve-selector', SELECTOR.key, 'dddddddd-1111-4111-8111-000000000009'],
    ]);
    expect(failed[0]!.data.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'Microsoft.Compute/virtualMachines/read', resource: `/subscriptions/${LAB_SOC_SUBSCRIPTION}`, requestId: expect.any(String) });
    expect(String((failed[0]!.data.error as { message: string }).message)).toContain('Cloud Custody Collector Discovery');
    expect(failed[1]!.data.error).toMatchObject({ code: 'E_NOT_FOUND', resource: '/subscriptions/dddddddd-1111-4111-8111-000000000009' });
    expect(String((failed[1]!.data.error as { message: string }).message)).toContain('SubscriptionNotFound');
    expect(kase.entries().filter((e) => e.type === 'selector.searched').map((e) => [e.data.scope, e.data.found])).toEqual([[{ subscriptionId: LAB_CUSTOMER_SUBSCRIPTION }, [fx.lab.estate.ids.vm]]]);
    await kase.close();
  });

  it('when no subscription can be searched, the selector fails with the first failure (as AWS does), after each is recorded; nothing is told as merely unsearched', async () => {
    const kase = await fx.openTestCase('IR-AZ-NONE');
    const unsearched: Array<[string, string]> = [];
    await expect(resolveAzureSelector(fx.run(kase, { subscriptions: [denied, unknown] }), SELECTOR, (scope, code) => unsearched.push([scope, code]))).rejects.toMatchObject({
      code: 'E_ACCESS_DENIED',
      action: 'Microsoft.Compute/virtualMachines/read',
      resource: `/subscriptions/${LAB_SOC_SUBSCRIPTION}`,
    });
    expect(failures(kase).map((e) => [(e.data.scope as { subscriptionId: string }).subscriptionId, (e.data.error as { code: string }).code])).toEqual([
      [LAB_SOC_SUBSCRIPTION, 'E_ACCESS_DENIED'],
      ['dddddddd-1111-4111-8111-000000000009', 'E_NOT_FOUND'],
    ]);
    expect(unsearched).toEqual([]);
    await kase.close();
  });

  it('a ledger that cannot record the failure stops the search (E_LEDGER): it is not one more unsearched subscription', async () => {
    const kase = await fx.openTestCase('IR-AZ-LEDGER');
    const before = fx.lab.armLog.length;
    const unsearched: string[] = [];
    await expect(resolveAzureSelector(fx.run(cutAt(kase, 'step.failed'), { subscriptions: [denied, customer] }), SELECTOR, (scope) => unsearched.push(scope))).rejects.toMatchObject({ code: 'E_LEDGER' });
    // The customer subscription was never searched after the case stopped recording.
    expect(listingsSince(before)).toEqual([[LAB_SOC_SUBSCRIPTION, 403]]);
    expect(unsearched).toEqual([]);
    await kase.release();
  });

  it('a run stopped during the search searches no further subscription and ends the search as stopped, not as a partial result', async () => {
    const kase = await fx.openTestCase('IR-AZ-STOP');
    const stop = new AbortController();
    // The stop arrives as the first subscription's answer is recorded (Ctrl-C mid-search).
    const recorder: CaseHandle = Object.assign(Object.create(kase) as CaseHandle, {
      record: async (type: string, data: Record<string, unknown>, target?: string) => {
        const entry = await kase.record(type, data, target);
        if (type === 'selector.searched') stop.abort(new Error('Ctrl-C'));
        return entry;
      },
    });
    const before = fx.lab.armLog.length;
    const unsearched: string[] = [];
    await expect(resolveAzureSelector({ ...fx.run(recorder, { subscriptions: [customer, denied] }), signal: stop.signal }, SELECTOR, (scope) => unsearched.push(scope))).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(listingsSince(before)).toEqual([[LAB_CUSTOMER_SUBSCRIPTION, 200]]);
    expect(failures(kase)).toEqual([]);
    expect(unsearched).toEqual([]);
    await kase.close();
  });

  it('records each subscription searched with what it found and the request ids; a refused one is a step.failed, and the other still resolves', async () => {
    const kase = await fx.openTestCase('IR-AZ-SCOPES');
    const before = fx.lab.armLog.length;
    const found = await resolveAzureSelector(fx.run(kase, { subscriptions: [denied, customer] }), SELECTOR);
    expect(found.map((t) => t.id)).toEqual([fx.lab.estate.ids.vm]);
    const listed = fx.lab.armLog.slice(before).filter((x) => x.operation === 'virtualMachines.listAll' && x.status === 200);

    const searched = kase.entries().filter((e) => e.type === 'selector.searched');
    expect(searched.map((e) => [e.target, e.data.selector, e.data.provider, e.data.where, e.data.scope, e.data.found, e.data.requestIds])).toEqual([
      [SELECTOR.key, SELECTOR.key, 'azure', `subscription ${LAB_CUSTOMER_SUBSCRIPTION}`, { subscriptionId: LAB_CUSTOMER_SUBSCRIPTION }, [fx.lab.estate.ids.vm], listed.map((x) => x.requestId)],
    ]);
    expect(listed.length).toBeGreaterThan(0);

    const failed = kase.entries().filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => [e.target, e.data.step, e.data.selector, e.data.provider, e.data.where, e.data.scope])).toEqual([
      [SELECTOR.key, 'resolve-selector', SELECTOR.key, 'azure', `subscription ${LAB_SOC_SUBSCRIPTION}`, { subscriptionId: LAB_SOC_SUBSCRIPTION }],
    ]);
    expect(failed[0]!.data.error).toMatchObject({ code: 'E_ACCESS_DENIED', requestId: expect.any(String) });
    expect(kase.entries().filter((e) => e.type === 'selector.resolved' || e.type === 'selector.failed')).toEqual([]);
    await kase.close();
  });
});
