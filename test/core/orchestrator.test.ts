import { REGISTRY } from '../../src/providers/registry.js';
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/core/errors.js';
import type { ProviderContext } from '../../src/core/ports.js';
import { DEFAULT_COLLECT_OPTIONS, runCollection, type CollectionResult, type RunCollectionInput } from '../../src/core/orchestrator.js';
import { parseSelector, parseTarget, targetKey } from '../../src/providers/targets.js';
import { FakeAwsProvider, MemoryRecorder, deferred, instance, testConfig } from './fakes.js';

const options = DEFAULT_COLLECT_OPTIONS;

/** Runs a collection with one provider, the test config and the default options unless `extra` says otherwise. */
function collectWith(
  provider: FakeAwsProvider,
  recorder: MemoryRecorder,
  targets: RunCollectionInput['targets'],
  extra: Partial<RunCollectionInput> = {},
): Promise<CollectionResult> {
  return runCollection({ config: testConfig(), providers: [provider], parser: REGISTRY, recorder, targets, options, ...extra });
}

describe('runCollection', () => {
  it('refuses a target in an account outside the allowed list before any cloud call, and the case records why', async () => {
    const provider = new FakeAwsProvider();
    const recorder = new MemoryRecorder();
    const foreign = instance('999999999999', 1);
    const good = instance('222222222222', 2);
    const { outcomes } = await collectWith(provider, recorder, [foreign, good]);

    expect(provider.collected).toEqual([targetKey(good)]);
    const refused = recorder.ofType('target.refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.target).toBe(targetKey(foreign));
    expect(String(refused[0]!.data.reason)).toContain('999999999999');
    // Refusals come before the first collection step touches anything.
    const firstCloudStep = recorder.log.findIndex((e) => e.type === 'snapshot.requested');
    expect(recorder.log.indexOf(refused[0]!)).toBeLessThan(firstCloudStep);
    expect(outcomes.find((o) => o.target === targetKey(foreign))).toMatchObject({ status: 'failed', error: { code: 'E_ACCOUNT_NOT_ALLOWED' } });
    expect(outcomes.find((o) => o.target === targetKey(good))).toMatchObject({ status: 'collected' });
  });

  it('records the start of the collection with its targets and options, and one completion per target', async () => {
    const provider = new FakeAwsProvider();
    const recorder = new MemoryRecorder();
    const targets = [instance('222222222222', 1), instance('333333333333', 2)];
    await collectWith(provider, recorder, targets, { options: { ...options, preserve: true } });

    const started = recorder.ofType('collection.started')[0]!;
    expect(started.data.targets).toEqual(targets.map(targetKey));
    expect(started.data.options).toMatchObject({ preserve: true, screenshot: false });
    const completed = recorder.ofType('target.completed');
    expect(completed.map((e) => e.target).sort()).toEqual(targets.map(targetKey).sort());
    expect(completed.every((e) => e.data.status === 'collected')).toBe(true);
    expect(recorder.ofType('collection.finished')[0]!.data).toMatchObject({ total: 2, collected: 2 });
  });

  it('collects once a target named twice in two spellings of one resource (an Azure id in another case), as first written', async () => {
    // Two runs of one VM at once would take two restore points and copy both into one evidence blob.
    const provider = Object.assign(new FakeAwsProvider(), { handles: (target: { provider: string }) => target.provider === 'azure' });
    const recorder = new MemoryRecorder();
    const id = '/subscriptions/bbbbbbbb-1111-4111-8111-000000000002/resourceGroups/Web-RG/providers/Microsoft.Compute/virtualMachines/web-1';
    const other = '/subscriptions/bbbbbbbb-1111-4111-8111-000000000002/resourcegroups/web-rg/providers/microsoft.compute/virtualmachines/WEB-1';
    const { outcomes } = await collectWith(provider, recorder, [parseTarget(id), parseTarget(other)]);
    expect(provider.collected).toEqual([id]);
    expect(outcomes.map((o) => o.target)).toEqual([id]);
    expect(recorder.ofType('collection.started')[0]!.data.targets).toEqual([id, other]);
  });

  /** The entries of a run whose one target `by` covers `covered` and is collected. */
  const coveredThenCollected = (covered: string, by: string) => [
    ['collection.started', null],
    ['target.covered', covered],
    ['snapshot.requested', by],
    ['target.completed', by],
    ['collection.finished', null],
  ];

  describe('a pod named beside one of its own containers is collected once, as the pod', () => {
    const pod = 'k8s:prod/shop/api-7d9f8b6c5d-x2x7k';
    const container = `${pod}/app`;
    const kubernetes = () => Object.assign(new FakeAwsProvider(), { handles: (target: { provider: string }) => target.provider === 'kubernetes' });

    it.each([
      ['container first', [container, pod]],
      ['pod first', [pod, container]],
    ])('named %s: the pod is collected, the container target is recorded as covered by it before anything runs', async (_order, keys) => {
      const provider = kubernetes();
      const recorder = new MemoryRecorder();
      const { outcomes } = await collectWith(provider, recorder, keys.map(parseTarget));
      expect(provider.collected).toEqual([pod]);
      expect(outcomes.map((o) => [o.target, o.status])).toEqual([[pod, 'collected']]);
      expect(recorder.log.map((e) => [e.type, e.target ?? null])).toEqual(coveredThenCollected(container, pod));
      expect(recorder.ofType('target.covered')[0]!.data.coveredBy).toBe(pod);
    });

    it('a selector that finds the pod takes the named container with it', async () => {
      const provider = kubernetes();
      provider.selectorResult = [parseTarget(pod)];
      const recorder = new MemoryRecorder();
      const { outcomes } = await collectWith(provider, recorder, [parseTarget(container)], { selectors: [parseSelector('tag:Incident=IR-1')] });
      expect(provider.collected).toEqual([pod]);
      expect(outcomes.map((o) => o.target)).toEqual([pod]);
    });

    it('a resume of a case that named both collects neither again once the pod is collected', async () => {
      const provider = kubernetes();
      const recorder = new MemoryRecorder([
        { type: 'collection.started', data: { targets: [pod, container], selectors: [] } },
        { type: 'target.covered', target: container, data: { coveredBy: pod } },
        { type: 'target.completed', target: pod, data: { status: 'collected', evidenceIds: ['ev-pod'] } },
        { type: 'collection.interrupted', data: {} },
      ]);
      const { outcomes } = await collectWith(provider, recorder, []);
      expect(provider.collected).toEqual([]);
      expect(outcomes.map((o) => [o.target, o.status])).toEqual([[pod, 'collected']]);
      expect(recorder.ofType('target.skipped').map((e) => e.target)).toEqual([pod]);
    });
  });

  describe('two containers of one pod named without the pod are collected together, by the first', () => {
    const pod = 'k8s:prod/shop/api-7d9f8b6c5d-x2x7k';
    const [app, sidecar] = [`${pod}/app`, `${pod}/sidecar`];
    const kubernetes = () => Object.assign(new FakeAwsProvider(), { handles: (target: { provider: string }) => target.provider === 'kubernetes' });

    it('the first takes the second (alongside), which is recorded as covered by it before anything runs', async () => {
      const provider = kubernetes();
      const taken: string[][] = [];
      provider.behaviour = async (target, ctx) => {
        taken.push([target.key, ...(target.alongside ?? []).map((t) => t.key)]);
        await ctx.recorder.record('snapshot.requested', {}, target.key);
        return { target: target.key, status: 'collected', evidenceIds: ['ev-pod'] };
      };
      const recorder = new MemoryRecorder();
      const { outcomes } = await collectWith(provider, recorder, [parseTarget(app), parseTarget(sidecar)]);
      expect(taken).toEqual([[app, sidecar]]);
      expect(outcomes.map((o) => [o.target, o.status])).toEqual([[app, 'collected']]);
      expect(recorder.log.map((e) => [e.type, e.target ?? null])).toEqual(coveredThenCollected(sidecar, app));
      expect(recorder.ofType('target.covered')[0]!.data).toMatchObject({ coveredBy: app, within: pod });
    });

    it('a resume after the first was collected collects neither again: the covered one is skipped as collected with it', async () => {
      const provider = kubernetes();
      const recorder = new MemoryRecorder([
        { type: 'collection.started', data: { targets: [app, sidecar], selectors: [] } },
        { type: 'target.covered', target: sidecar, data: { coveredBy: app, within: pod } },
        { type: 'target.completed', target: app, data: { status: 'collected', evidenceIds: ['ev-pod'] } },
        { type: 'collection.interrupted', data: {} },
      ]);
      const { outcomes } = await collectWith(provider, recorder, []);
      expect(provider.collected).toEqual([]);
      expect(outcomes.map((o) => [o.target, o.status])).toEqual([[app, 'collected'], [sidecar, 'collected']]);
      expect(recorder.ofType('target.skipped').map((e) => e.target)).toEqual([app, sidecar]);
    });

    it('a container added to a case whose other container an earlier run collected alone is collected, not folded into the skipped one', async () => {
      const provider = kubernetes();
      const recorder = new MemoryRecorder([
        { type: 'collection.started', data: { targets: [app], selectors: [] } },
        { type: 'target.completed', target: app, data: { status: 'collected', evidenceIds: ['ev-pod'] } },
        { type: 'collection.finished', data: {} },
      ]);
      await collectWith(provider, recorder, [parseTarget(sidecar)]);
      expect(provider.collected).toEqual([sidecar]);
      expect(recorder.ofType('target.covered')).toEqual([]);
    });

    it('a resume after the first was interrupted folds them again', async () => {
      const provider = kubernetes();
      const recorder = new MemoryRecorder([
        { type: 'collection.started', data: { targets: [app, sidecar], selectors: [] } },
        { type: 'target.covered', target: sidecar, data: { coveredBy: app, within: pod } },
        { type: 'collection.interrupted', data: {} },
      ]);
      await collectWith(provider, recorder, []);
      expect(provider.collected).toEqual([app]);
      expect(recorder.ofType('target.covered').map((e) => [e.target, e.data.coveredBy])).toEqual([[sidecar, app], [sidecar, app]]);
    });
  });

  it('collects a target named twice only once', async () => {
    const provider = new FakeAwsProvider();
    const arn = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0';
    const { outcomes } = await collectWith(provider, new MemoryRecorder(), [parseTarget(arn), parseTarget(` ${arn}`)]);
    expect(provider.collected).toEqual([arn]);
    expect(outcomes).toHaveLength(1);
  });

  it('keeps collecting the other targets when one fails, and records the failure on its target', async () => {
    const provider = new FakeAwsProvider();
    const locked = instance('222222222222', 7);
    const base = provider.behaviour;
    provider.behaviour = async (target, ctx) => {
      if (targetKey(target) === targetKey(locked)) {
        throw new CustodyError('E_ACCESS_DENIED', 'ec2:CreateSnapshots was denied on volume/vol-1', { action: 'ec2:CreateSnapshots' });
      }
      return base(target, ctx);
    };
    const recorder = new MemoryRecorder();
    const targets = [instance('222222222222', 6), locked, instance('333333333333', 8)];
    const { outcomes, summary } = await collectWith(provider, recorder, targets);

    expect(summary).toMatchObject({ total: 3, collected: 2, failed: 1 });
    expect(outcomes.find((o) => o.target === targetKey(locked))).toMatchObject({
      status: 'failed',
      error: { code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshots' },
    });
    const completion = recorder.ofType('target.completed').find((e) => e.target === targetKey(locked))!;
    expect(completion.data).toMatchObject({ status: 'failed', reason: expect.stringContaining('ec2:CreateSnapshots') });
  });

  it('stops everything and rethrows when the ledger cannot be written', async () => {
    const provider = new FakeAwsProvider();
    const recorder = new MemoryRecorder();
    // collection.started is write 1, the first target's snapshot.requested write 2.
    recorder.failAtWrite = 3;
    const targets = Array.from({ length: 6 }, (_, i) => instance('222222222222', i + 1));
    const run = collectWith(provider, recorder, targets, { config: testConfig({ perScope: 1, total: 1 }) });
    await expect(run).rejects.toMatchObject({ code: 'E_LEDGER' });
    // The run stopped after the first target: none of the queued ones started.
    expect(provider.collected).toHaveLength(1);
  });

  it('treats a provider that reports a ledger failure as an outcome the same way: the run stops', async () => {
    const provider = new FakeAwsProvider();
    provider.behaviour = async (target) => ({
      target: targetKey(target),
      status: 'failed',
      reason: 'ledger unwritable',
      error: { code: 'E_LEDGER', message: 'ledger unwritable' },
      evidenceIds: [],
    });
    const run = collectWith(
      provider,
      new MemoryRecorder(),
      [instance('222222222222', 1), instance('222222222222', 2)],
      { config: testConfig({ perScope: 1, total: 1 }) },
    );
    await expect(run).rejects.toBeInstanceOf(CustodyError);
    expect(provider.collected).toHaveLength(1);
  });

  it('never runs more targets at once than allowed per account and overall', async () => {
    const provider = new FakeAwsProvider();
    const gates: Array<() => void> = [];
    provider.behaviour = async (target) => {
      const gate = deferred();
      gates.push(gate.resolve);
      await gate.promise;
      return { target: targetKey(target), status: 'collected', evidenceIds: [] };
    };
    const targets = [
      ...Array.from({ length: 5 }, (_, i) => instance('222222222222', i + 1)),
      ...Array.from({ length: 5 }, (_, i) => instance('333333333333', i + 100)),
    ];
    const run = collectWith(provider, new MemoryRecorder(), targets, { config: testConfig({ perScope: 2, total: 3 }) });
    // Release targets one at a time as they start, until all ten have run.
    while (provider.collected.length < 10 || provider.inFlight > 0) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
    const { summary } = await run;
    expect(summary.collected).toBe(10);
    expect(provider.maxInFlight).toBe(3);
    expect(Math.max(...provider.maxInFlightByScope.values())).toBe(2);
  });

  it('requesting a snapshot never waits behind other targets\' snapshot waits: a target that has requested gives its slot to the next', async () => {
    const provider = new FakeAwsProvider();
    const requested: string[] = [];
    const snapshotsDone = deferred();
    provider.behaviour = async (target, ctx) => {
      requested.push(targetKey(target));
      ctx.requested?.();
      await snapshotsDone.promise; // every target waits for its snapshot, outside its slot
      return { target: targetKey(target), status: 'collected', evidenceIds: [] };
    };
    const targets = Array.from({ length: 6 }, (_, i) => instance('222222222222', i + 1));
    const run = collectWith(provider, new MemoryRecorder(), targets, { config: testConfig({ perScope: 1, total: 1 }) });
    while (requested.length < targets.length) await new Promise((r) => setImmediate(r));
    // All six requested while the first is still waiting: one slot, six targets in flight.
    expect(provider.maxInFlight).toBe(6);
    snapshotsDone.resolve();
    const { summary } = await run;
    expect(summary.collected).toBe(6);
  });

  it('follows the targets a collection discovers, once each, and records where they came from', async () => {
    const provider = new FakeAwsProvider();
    const node = instance('222222222222', 50);
    const base = provider.behaviour;
    provider.behaviour = async (target, ctx) => {
      const outcome = await base(target, ctx);
      // Both pods run on the same node; the node must be collected once.
      return targetKey(target) === targetKey(node) ? outcome : { ...outcome, followUps: [node] };
    };
    const recorder = new MemoryRecorder();
    await collectWith(provider, recorder, [instance('222222222222', 1), instance('222222222222', 2)]);
    expect(provider.collected.filter((t) => t === targetKey(node))).toHaveLength(1);
    expect(recorder.ofType('target.discovered')).toHaveLength(1);
    expect(recorder.ofType('target.completed')).toHaveLength(3);
  });

  describe('resume re-derives every target earlier runs admitted', () => {
    const pod = instance('222222222222', 1); // stands for the pod: collected, its node cut off
    const node = instance('222222222222', 50);
    const other = instance('333333333333', 2);

    it('a followed-up node cut off by the interruption is taken up again, and never drops out of the outcomes', async () => {
      const provider = new FakeAwsProvider();
      const recorder = new MemoryRecorder([
        { type: 'collection.started', data: { targets: [targetKey(pod), targetKey(other)], selectors: [] } },
        { type: 'target.completed', target: targetKey(pod), data: { status: 'collected', evidenceIds: ['ev-pod'] } },
        { type: 'target.discovered', target: targetKey(node), data: { from: targetKey(pod) } },
        { type: 'target.completed', target: targetKey(node), data: { status: 'failed', reason: 'stopped waiting for snap-1', evidenceIds: [] } },
        { type: 'target.completed', target: targetKey(other), data: { status: 'collected', evidenceIds: ['ev-other'] } },
        { type: 'collection.interrupted', data: {} },
      ]);
      // The same command line again, with --resume: the node is not named on it.
      const { outcomes } = await collectWith(provider, recorder, [pod, other]);
      expect(provider.collected).toEqual([targetKey(node)]);
      expect(outcomes.map((o) => [o.target, o.status]).sort()).toEqual(
        [[targetKey(pod), 'collected'], [targetKey(node), 'collected'], [targetKey(other), 'collected']].sort(),
      );
      expect(recorder.ofType('collection.started')[1]!.data.fromEarlierRuns).toEqual({ targets: [targetKey(node)], selectors: [] });
    });

    it('a follow-up recorded with its target but never admitted (interrupted first) is taken up on resume', async () => {
      const provider = new FakeAwsProvider();
      const recorder = new MemoryRecorder([
        { type: 'collection.started', data: { targets: [targetKey(pod)], selectors: [] } },
        { type: 'target.completed', target: targetKey(pod), data: { status: 'collected', evidenceIds: ['ev-pod'], followUps: [targetKey(node)] } },
        { type: 'collection.interrupted', data: {} },
      ]);
      const { outcomes } = await collectWith(provider, recorder, [pod]);
      expect(provider.collected).toEqual([targetKey(node)]);
      expect(outcomes.find((o) => o.target === targetKey(node))).toMatchObject({ status: 'collected' });
    });

    it('a follow-up is recorded in its target.completed, so an interruption before it is admitted cannot lose it', async () => {
      const provider = new FakeAwsProvider();
      const base = provider.behaviour;
      provider.behaviour = async (target, ctx) => {
        const outcome = await base(target, ctx);
        return targetKey(target) === targetKey(node) ? outcome : { ...outcome, followUps: [node] };
      };
      const recorder = new MemoryRecorder();
      await collectWith(provider, recorder, [pod]);
      expect(recorder.ofType('target.completed').find((e) => e.target === targetKey(pod))!.data.followUps).toEqual([targetKey(node)]);
    });

    it('with no targets and no selectors, the recorded targets and selectors are continued', async () => {
      const provider = new FakeAwsProvider();
      provider.selectorResult = [other];
      const recorder = new MemoryRecorder([
        { type: 'collection.started', data: { targets: [targetKey(pod)], selectors: ['tag:Incident=IR-1'] } },
        { type: 'collection.interrupted', data: {} },
      ]);
      const { outcomes } = await collectWith(provider, recorder, []);
      expect(provider.resolved).toEqual(['aws-tag']);
      expect(provider.collected.sort()).toEqual([targetKey(pod), targetKey(other)].sort());
      expect(outcomes).toHaveLength(2);
    });

    it('a target an earlier run admitted but was refused stays in the outcomes as not collected', async () => {
      const provider = new FakeAwsProvider();
      const foreign = instance('999999999999', 3);
      const recorder = new MemoryRecorder([
        { type: 'target.discovered', target: targetKey(foreign), data: { from: targetKey(pod) } },
        { type: 'target.refused', target: targetKey(foreign), data: {} },
      ]);
      const { outcomes } = await collectWith(provider, recorder, [pod]);
      expect(outcomes.find((o) => o.target === targetKey(foreign))).toMatchObject({ status: 'failed', error: { code: 'E_ACCOUNT_NOT_ALLOWED' } });
    });
  });

  it('a discovered target in a refused account is recorded as refused, not collected', async () => {
    const provider = new FakeAwsProvider();
    const foreignNode = instance('999999999999', 3);
    provider.behaviour = async (target) => ({ target: targetKey(target), status: 'collected', evidenceIds: [], followUps: [foreignNode] });
    const recorder = new MemoryRecorder();
    const { outcomes } = await collectWith(provider, recorder, [instance('222222222222', 1)]);
    expect(provider.collected).not.toContain(targetKey(foreignNode));
    expect(recorder.ofType('target.refused')[0]).toMatchObject({ target: targetKey(foreignNode), data: { from: targetKey(instance('222222222222', 1)) } });
    expect(outcomes).toHaveLength(2);
  });

  it('resolves a tag selector, records what it found, and collects each target once even when also named', async () => {
    const provider = new FakeAwsProvider();
    const a = instance('222222222222', 1);
    const b = instance('333333333333', 2);
    provider.selectorResult = [a, b];
    const recorder = new MemoryRecorder();
    const { outcomes } = await collectWith(provider, recorder, [a], { selectors: [parseSelector('tag:Incident=IR-1')] });
    expect(recorder.ofType('selector.resolved')[0]!.data).toMatchObject({ selector: 'tag:Incident=IR-1', targets: [targetKey(a), targetKey(b)] });
    expect(provider.collected.sort()).toEqual([targetKey(a), targetKey(b)].sort());
    expect(outcomes.map((o) => o.status)).toEqual(['collected', 'collected']);
  });

  it('a selector no provider handles is refused and recorded, and the named targets are still collected', async () => {
    const provider = new FakeAwsProvider();
    const recorder = new MemoryRecorder();
    const { outcomes } = await collectWith(
      provider,
      recorder,
      [instance('222222222222', 1)],
      { selectors: [parseSelector('k8s:prod/default?labels=app=api')] },
    );
    expect(recorder.ofType('selector.refused')).toHaveLength(1);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['collected', 'failed']);
  });

  /** A provider whose search for `denied` is refused by the cloud, and whose other searches find nothing. */
  const denyingSearch = (denied: string): FakeAwsProvider =>
    Object.assign(new FakeAwsProvider(), {
      resolveSelector: async (selector: Parameters<FakeAwsProvider['resolveSelector']>[0]) => {
        if (selector.key === denied) throw new CustodyError('E_ACCESS_DENIED', `ec2:DescribeInstances was denied for ${denied}`, { action: 'ec2:DescribeInstances' });
        return [];
      },
    });

  it('a search that fails, with nothing named and nothing from earlier runs, ends as nothing selected with the failure and its code, not as a finished collection', async () => {
    const recorder = new MemoryRecorder();
    const result = await collectWith(denyingSearch('tag:Incident=IR-1'), recorder, [], { selectors: [parseSelector('tag:Incident=IR-1'), parseSelector('tag:Incident=IR-2')] });
    expect(result.nothingSelected).toEqual({ selectors: ['tag:Incident=IR-1', 'tag:Incident=IR-2'], failedSearches: [{ selector: 'tag:Incident=IR-1', code: 'E_ACCESS_DENIED' }] });
    expect(result.outcomes).toEqual([expect.objectContaining({ target: 'tag:Incident=IR-1', status: 'failed', error: expect.objectContaining({ code: 'E_ACCESS_DENIED' }) })]);
    expect(recorder.log.map((e) => e.type).slice(1)).toEqual(['selector.failed', 'selector.resolved', 'collection.nothing-selected']);
    expect(recorder.log.at(-1)!.data).toMatchObject({ total: 1, failed: 1, selectors: ['tag:Incident=IR-1', 'tag:Incident=IR-2'], failedSearches: [{ selector: 'tag:Incident=IR-1', code: 'E_ACCESS_DENIED' }] });
  });

  it('scopes a search could not look in are named in nothing selected for a selector that answered, not for one that failed outright; the ledger entry keeps its fields', async () => {
    const provider = Object.assign(new FakeAwsProvider(), {
      resolveSelector: async (selector: Parameters<FakeAwsProvider['resolveSelector']>[0], ctx: ProviderContext) => {
        ctx.searchIncomplete?.('account 333333333333 in us-east-1', 'E_ACCESS_DENIED');
        if (selector.key === 'tag:Incident=IR-1') throw new CustodyError('E_ACCESS_DENIED', 'denied everywhere');
        return [];
      },
    });
    const recorder = new MemoryRecorder();
    const result = await collectWith(provider, recorder, [], { selectors: [parseSelector('tag:Incident=IR-1'), parseSelector('tag:Incident=IR-2')] });
    expect(result.nothingSelected).toEqual({
      selectors: ['tag:Incident=IR-1', 'tag:Incident=IR-2'],
      failedSearches: [{ selector: 'tag:Incident=IR-1', code: 'E_ACCESS_DENIED' }],
      unsearchedScopes: [{ selector: 'tag:Incident=IR-2', scope: 'account 333333333333 in us-east-1', code: 'E_ACCESS_DENIED' }],
    });
    expect(result.unsearchedScopes).toEqual(result.nothingSelected!.unsearchedScopes);
    expect(Object.keys(recorder.log.at(-1)!.data)).not.toContain('unsearchedScopes');
  });

  it('a search that could not look in one scope but found a target elsewhere collects it, and the result names the scope (not as nothing selected); the ledger entries keep their fields', async () => {
    const found = instance('222222222222', 1);
    const provider = Object.assign(new FakeAwsProvider(), {
      resolveSelector: async (_selector: Parameters<FakeAwsProvider['resolveSelector']>[0], ctx: ProviderContext) => {
        ctx.searchIncomplete?.('account 333333333333 in us-east-1', 'E_ACCESS_DENIED');
        return [found];
      },
    });
    const recorder = new MemoryRecorder();
    const result = await collectWith(provider, recorder, [], { selectors: [parseSelector('tag:Incident=IR-3')] });
    expect(result.outcomes.map((o) => [o.target, o.status])).toEqual([[targetKey(found), 'collected']]);
    expect(result.nothingSelected).toBeUndefined();
    expect(result.unsearchedScopes).toEqual([{ selector: 'tag:Incident=IR-3', scope: 'account 333333333333 in us-east-1', code: 'E_ACCESS_DENIED' }]);
    expect(recorder.log.at(-1)!.type).toBe('collection.finished');
    expect(Object.keys(recorder.log.at(-1)!.data)).not.toContain('unsearchedScopes');
  });

  it('a search that fails beside a target an earlier run admitted ends as a finished collection: the case has something to close', async () => {
    const earlier = instance('222222222222', 1);
    const recorder = new MemoryRecorder([{ type: 'collection.started', data: { targets: [targetKey(earlier)], selectors: [] } }]);
    const result = await collectWith(denyingSearch('tag:Incident=IR-1'), recorder, [], { selectors: [parseSelector('tag:Incident=IR-1')] });
    expect(result.nothingSelected).toBeUndefined();
    // Outcomes are in queue order: the search's failure is known before any target runs.
    expect(result.outcomes.map((o) => [o.target, o.status])).toEqual([
      ['tag:Incident=IR-1', 'failed'],
      [targetKey(earlier), 'collected'],
    ]);
    expect(recorder.log.at(-1)!.type).toBe('collection.finished');
  });

  it('a resumed run does not collect again a target an earlier run finished', async () => {
    const done = instance('222222222222', 1);
    const interrupted = instance('222222222222', 2);
    const recorder = new MemoryRecorder([
      { type: 'collection.started', data: {} },
      { type: 'target.completed', target: targetKey(done), data: { status: 'collected', evidenceIds: ['ev-aaaaaaaaaaaa'] } },
    ]);
    const provider = new FakeAwsProvider();
    const { outcomes } = await collectWith(provider, recorder, [done, interrupted]);
    expect(provider.collected).toEqual([targetKey(interrupted)]);
    expect(outcomes.find((o) => o.target === targetKey(done))).toMatchObject({ status: 'collected', evidenceIds: ['ev-aaaaaaaaaaaa'] });
    expect(recorder.ofType('target.skipped')[0]!.target).toBe(targetKey(done));
  });

  it('an aborted run starts no new target, passes the abort to the running one and says the rest were skipped', async () => {
    const provider = new FakeAwsProvider();
    const controller = new AbortController();
    let sawAbort = false;
    provider.behaviour = async (target, ctx) => {
      controller.abort();
      sawAbort = ctx.signal.aborted;
      return { target: targetKey(target), status: 'partial', reason: 'interrupted', evidenceIds: [] };
    };
    const recorder = new MemoryRecorder();
    const targets = [instance('222222222222', 1), instance('222222222222', 2), instance('222222222222', 3)];
    const { outcomes } = await collectWith(provider, recorder, targets, { config: testConfig({ perScope: 1, total: 1 }), signal: controller.signal });
    expect(sawAbort).toBe(true);
    expect(provider.collected).toHaveLength(1);
    expect(outcomes.map((o) => o.status)).toEqual(['partial', 'skipped', 'skipped']);
    expect(recorder.ofType('collection.interrupted')).toHaveLength(1);
  });

  it('collects again a target that failed on throttling, and records the failed attempt', async () => {
    const provider = new FakeAwsProvider();
    const base = provider.behaviour;
    let calls = 0;
    provider.behaviour = async (target, ctx) => {
      calls += 1;
      if (calls === 1) {
        throw new CustodyError('E_THROTTLED', 'ec2:CreateSnapshots was throttled (RequestLimitExceeded) after 8 attempts', { retryable: true });
      }
      return base(target, ctx);
    };
    const recorder = new MemoryRecorder();
    const { outcomes } = await collectWith(provider, recorder, [instance('222222222222', 1)], { retry: { attempts: 2, delayMs: 0 } });
    expect(outcomes[0]).toMatchObject({ status: 'collected' });
    expect(recorder.ofType('target.requeued')[0]!.data).toMatchObject({ attempt: 1, status: 'failed', error: { code: 'E_THROTTLED' } });
    expect(recorder.ofType('target.completed')).toEqual([expect.objectContaining({ data: expect.objectContaining({ status: 'collected', attempts: 2 }) })]);
  });

  it('does not retry a refusal, and gives up on a retryable failure after the allowed attempts', async () => {
    const denied = new FakeAwsProvider();
    denied.behaviour = async () => {
      throw new CustodyError('E_ACCESS_DENIED', 'ec2:CreateSnapshots was denied');
    };
    await collectWith(denied, new MemoryRecorder(), [instance('222222222222', 1)], { retry: { attempts: 2, delayMs: 0 } });
    expect(denied.collected).toHaveLength(1);

    const flaky = new FakeAwsProvider();
    flaky.behaviour = async () => {
      throw new CustodyError('E_CLOUD', 'InternalError (500)', { retryable: true });
    };
    const recorder = new MemoryRecorder();
    const { outcomes } = await collectWith(flaky, recorder, [instance('222222222222', 1)], { retry: { attempts: 2, delayMs: 0 } });
    expect(flaky.collected).toHaveLength(3);
    expect(recorder.ofType('target.requeued')).toHaveLength(2);
    expect(outcomes[0]).toMatchObject({ status: 'failed', error: { code: 'E_CLOUD', retryable: true } });
  });

  it('an abort while waiting to retry ends the wait and records the failure as it stood', async () => {
    const provider = new FakeAwsProvider();
    const controller = new AbortController();
    provider.behaviour = async () => {
      setImmediate(() => controller.abort());
      throw new CustodyError('E_THROTTLED', 'throttled', { retryable: true });
    };
    const recorder = new MemoryRecorder();
    const { outcomes } = await collectWith(
      provider,
      recorder,
      [instance('222222222222', 1)],
      { signal: controller.signal, retry: { attempts: 2, delayMs: 3_600_000 } },
    );
    expect(provider.collected).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ status: 'failed', error: { code: 'E_THROTTLED' } });
    expect(recorder.ofType('target.completed')).toHaveLength(1);
  });
});
