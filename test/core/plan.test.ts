import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/core/errors.js';
import { DEFAULT_COLLECT_OPTIONS } from '../../src/core/orchestrator.js';
import { planCollection } from '../../src/core/plan.js';
import { parseSelector, parseTarget, targetKey } from '../../src/providers/targets.js';
import { FakeAwsProvider, instance, testConfig } from './fakes.js';

describe('planCollection', () => {
  it('lists the steps, calls and permissions per target without collecting or searching anything', () => {
    const provider = new FakeAwsProvider();
    const target = instance('222222222222', 1);
    const plan = planCollection({
      providers: [provider],
      targets: [target, target],
      selectors: [parseSelector('tag:ForensicsEnabled=true')],
      options: DEFAULT_COLLECT_OPTIONS,
    });
    expect(provider.collected).toEqual([]);
    expect(provider.resolved).toEqual([]);
    expect(plan.targets).toHaveLength(1);
    expect(plan.targets[0]).toMatchObject({ target: targetKey(target), provider: 'aws', scope: '222222222222/us-east-1' });
    expect(plan.targets[0]!.calls.map((c) => c.api)).toEqual(['ec2:CreateSnapshots', 'ec2:DescribeSnapshots']);
    expect(plan.permissions.map((p) => p.action)).toEqual(['ec2:CreateSnapshots', 'ec2:DescribeSnapshots']);
    expect(plan.selectors[0]).toMatchObject({ selector: 'tag:ForensicsEnabled=true', provider: 'aws' });
  });

  it('plans once a target named in two spellings of one resource (Azure ids compare case-insensitively)', () => {
    const provider = Object.assign(new FakeAwsProvider(), { handles: (target: { provider: string }) => target.provider === 'azure' });
    const id = '/subscriptions/bbbbbbbb-1111-4111-8111-000000000002/resourceGroups/Web-RG/providers/Microsoft.Compute/disks/data-1';
    const plan = planCollection({ providers: [provider], targets: [parseTarget(id), parseTarget(id.toUpperCase().replace('/SUBSCRIPTIONS/BBBBBBBB', '/subscriptions/bbbbbbbb'))], options: DEFAULT_COLLECT_OPTIONS });
    expect(plan.targets.map((t) => t.target)).toEqual([id]);
  });

  it('plans a pod once when one of its containers is also named (the pod takes every container), and lists the container with it', () => {
    const provider = Object.assign(new FakeAwsProvider(), { handles: (target: { provider: string }) => target.provider === 'kubernetes' });
    const pod = 'k8s:prod/shop/api-7d9f8b6c5d-x2x7k';
    const plan = planCollection({ providers: [provider], targets: [parseTarget(`${pod}/app`), parseTarget(pod)], options: DEFAULT_COLLECT_OPTIONS });
    expect(plan.targets.map((t) => [t.target, t.alsoCollects])).toEqual([[pod, [{ target: `${pod}/app`, reason: `a part of ${pod}, also named, which takes it whole` }]]]);
  });

  it('plans three containers of one pod named without the pod once, as the first, and lists every other container collect takes in that run', () => {
    // Listing only the first made the plan look as if the sidecar and the init container were dropped.
    const provider = Object.assign(new FakeAwsProvider(), { handles: (target: { provider: string }) => target.provider === 'kubernetes' });
    const pod = 'k8s:prod/shop/api-7d9f8b6c5d-x2x7k';
    const other = 'k8s:prod/shop/web-1/app';
    const targets = [`${pod}/app`, other, `${pod}/sidecar`, `${pod}/init-db`, `${pod}/sidecar`].map(parseTarget);
    const plan = planCollection({ providers: [provider], targets, options: DEFAULT_COLLECT_OPTIONS });
    const together = `both are parts of ${pod}, which is collected once for both`;
    expect(plan.targets.map((t) => [t.target, t.alsoCollects])).toEqual([
      [
        `${pod}/app`,
        [
          { target: `${pod}/sidecar`, reason: `collected with it: ${together}` },
          { target: `${pod}/init-db`, reason: `collected with it: ${together}` },
        ],
      ],
      [other, undefined],
    ]);
  });

  it('shows a target the policy would refuse, with the reason, and no steps', () => {
    const plan = planCollection({
      providers: [new FakeAwsProvider()],
      targets: [instance('999999999999', 1)],
      options: DEFAULT_COLLECT_OPTIONS,
    });
    expect(plan.targets[0]).toMatchObject({ refused: { code: 'E_ACCOUNT_NOT_ALLOWED' }, steps: [] });
  });

  it('shows a selector collect would refuse (its provider rejects it, or none resolves it) as refused, with the reason', () => {
    // A typo in a selector's cluster: collect refuses it before the case exists, so plan must not call it fine.
    const provider = Object.assign(new FakeAwsProvider(), {
      validateSelector(selector: { kind: string }) {
        if (selector.kind === 'aws-tag') throw new CustodyError('E_CONFIG', 'selector tag:Typo=1: cluster "prd" is not configured');
      },
    });
    const plan = planCollection({
      providers: [provider],
      targets: [],
      selectors: [parseSelector('tag:Typo=1'), parseSelector('gcp-label:app=web')],
      options: DEFAULT_COLLECT_OPTIONS,
    });
    expect(provider.resolved).toEqual([]);
    expect(plan.selectors).toEqual([
      {
        selector: 'tag:Typo=1',
        provider: 'aws',
        refused: { code: 'E_CONFIG', reason: 'selector tag:Typo=1: cluster "prd" is not configured' },
        note: 'refused: collect would refuse this selector before anything is created',
      },
      {
        selector: 'gcp-label:app=web',
        refused: { code: 'E_UNSUPPORTED', reason: 'no configured provider resolves the selector gcp-label:app=web' },
        note: 'refused: collect would refuse this selector before anything is created',
      },
    ]);
  });
});
