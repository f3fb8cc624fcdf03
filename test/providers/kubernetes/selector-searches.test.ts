/**
 * A Kubernetes label selector's search as the ledger records it, the same way as every provider's
 * (src/core/selector-search.ts): its one scope is the cluster's namespace. Answered, it is a
 * `selector.searched` with the pods found and the list's Audit-Id; refused, a `step.failed` (step
 * `resolve-selector`), and the selector — having no other scope — fails with that error, while a
 * selector on another namespace still resolves. The provider records no `selector.resolved`: that
 * entry is the orchestrator's, for the whole selector.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { REGISTRY } from '../../../src/providers/registry.js';
import { parseSelector } from '../../../src/providers/targets.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import { contextFor, entriesOf, openTestCase, startFixture, type K8sFixture } from './helpers.js';

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('a Kubernetes label selector search', () => {
  it('records the namespace searched with the pods found and the Audit-Id; a namespace the role cannot list is a step.failed, and the other selector still resolves', async () => {
    fixture = await startFixture();
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const unsearched: Array<[string, string]> = [];
    const ctx = { ...contextFor(kase), searchIncomplete: (scope: string, code: string) => unsearched.push([scope, code]) };

    const refused = 'k8s:lab/kube-system?labels=app=web';
    await expect(provider.resolveSelector(parseSelector(refused), ctx)).rejects.toMatchObject({ code: 'E_ACCESS_DENIED' });
    const shop = 'k8s:lab/shop?labels=app=web';
    const targets = await provider.resolveSelector(parseSelector(shop), ctx);
    const pods = ['web-7d9f8b6c5d-q8m4z', 'web-7d9f8b6c5d-x2x7k'];
    expect(targets.map((t) => (t as { pod?: string }).pod)).toEqual(pods);

    const failed = entriesOf(kase, 'step.failed');
    expect(failed.map((e) => [e.target, e.data.step, e.data.selector, e.data.provider, e.data.where, e.data.scope])).toEqual([
      [refused, 'resolve-selector', refused, 'kubernetes', 'namespace kube-system of cluster lab', { cluster: 'lab', namespace: 'kube-system' }],
    ]);
    expect(failed[0]!.data.error).toMatchObject({ code: 'E_ACCESS_DENIED' });

    const lists = fixture.lab.audit.filter((a) => a.verb === 'list' && a.resource === 'pods' && a.code === 200);
    const searched = entriesOf(kase, 'selector.searched');
    expect(searched.map((e) => [e.target, e.data.selector, e.data.provider, e.data.where, e.data.scope, e.data.found, e.data.requestIds])).toEqual([
      [shop, shop, 'kubernetes', 'namespace shop of cluster lab', { cluster: 'lab', namespace: 'shop' }, pods, [lists[0]!.auditId]],
    ]);
    expect(searched[0]!.data).toMatchObject({ labelSelector: 'app=web', resourceVersion: expect.any(String) });
    // Its only scope failed: the selector fails as a whole (the orchestrator's selector.failed), not told as partly searched.
    expect(unsearched).toEqual([]);
    expect([...entriesOf(kase, 'selector.resolved'), ...entriesOf(kase, 'selector.failed')]).toEqual([]);
    await kase.release();
  });
});
