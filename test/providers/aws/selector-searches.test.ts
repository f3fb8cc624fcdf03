/**
 * A `tag:` selector's search as the ledger records it, the same way as every provider's
 * (src/core/selector-search.ts): one `selector.searched` per account and region answered, with
 * what it found and EC2's request ids; one `step.failed` (step `resolve-selector`) per account and
 * region that could not be searched, while the others still resolve. `selector.resolved` is the
 * orchestrator's alone.
 */
import { describe, expect, it } from 'vitest';
import { parseSelector } from '../../../src/providers/targets.js';
import { contextFor } from './helpers.js';
import { instanceArn, REGION, useAwsLab } from './lab-fixture.js';

const world = useAwsLab({ scratchPrefix: 'custody-aws-select-' });
const SELECTOR = 'tag:Incident=INC-42';

describe('an AWS tag search, scope by scope', () => {
  it('records each account and region it searched with what it found and the request ids; a refused account is a step.failed, and the other still resolves', async () => {
    const worker = world.instanceNamed('worker-07');
    const holder = instanceArn(worker).split(':')[4]!;
    const refusing = ['222222222222', '333333333333'].find((a) => a !== holder)!;
    world.lab.control.failNext({ action: 'ec2:DescribeInstances', code: 'UnauthorizedOperation', status: 403, account: refusing, count: 1 });
    const kase = await world.newCase('select-scopes');
    const unsearched: Array<[string, string]> = [];
    const targets = await world.provider().resolveSelector(parseSelector(SELECTOR), { ...contextFor(kase), searchIncomplete: (scope, code) => unsearched.push([scope, code]) });
    expect(targets.map((t) => (t as { instanceId?: string }).instanceId)).toEqual([worker.id]);

    const searched = kase.entries().filter((e) => e.type === 'selector.searched');
    expect(searched.map((e) => [e.target, e.data.selector, e.data.provider, e.data.where, e.data.scope, e.data.found])).toEqual([
      [SELECTOR, SELECTOR, 'aws', `account ${holder} in ${REGION}`, { account: holder, region: REGION }, [worker.id]],
    ]);
    expect(searched[0]!.data.requestIds).toEqual([expect.stringMatching(/\S/)]);

    const failed = kase.entries().filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => [e.target, e.data.step, e.data.selector, e.data.provider, e.data.where, e.data.scope])).toEqual([
      [SELECTOR, 'resolve-selector', SELECTOR, 'aws', `account ${refusing} in ${REGION}`, { account: refusing, region: REGION }],
    ]);
    expect(failed[0]!.data.error).toMatchObject({ code: 'E_ACCESS_DENIED' });
    expect(unsearched).toEqual([[`account ${refusing} in ${REGION}`, 'E_ACCESS_DENIED']]);
    // The provider resolves nothing itself: the orchestrator records the selector's resolution.
    expect(kase.entries().filter((e) => e.type === 'selector.resolved' || e.type === 'selector.failed')).toEqual([]);
    await kase.release();
  });
});
