import { describe, expect, it } from 'vitest';
import { VolumePlan } from '../../../src/providers/aws/volume-plan.js';

const notDone = (key: string) => ({ volumeId: key.split('/')[2] ?? key, done: false, cloudIds: {} });

describe('VolumePlan', () => {
  it('an instance that ends without a chain for its volumes ends its own open claims, and no one else\'s', async () => {
    const plan = new VolumePlan();
    expect(plan.claim('111/eu-west-1/vol-a', 'i-1')).toEqual({ own: true });
    expect(plan.claim('111/eu-west-1/vol-b', 'i-1')).toEqual({ own: true });
    expect(plan.claim('111/eu-west-1/vol-c', 'i-2')).toEqual({ own: true });
    plan.settle('111/eu-west-1/vol-a', 'i-1', { volumeId: 'vol-a', done: true, cloudIds: { snapshotId: 'snap-a' } });
    plan.settleRemaining('i-1', notDone);
    await expect(plan.current('111/eu-west-1/vol-a')!.result).resolves.toMatchObject({ done: true, cloudIds: { snapshotId: 'snap-a' } });
    await expect(plan.current('111/eu-west-1/vol-b')!.result).resolves.toMatchObject({ volumeId: 'vol-b', done: false });
    let otherSettled = false;
    void plan.current('111/eu-west-1/vol-c')!.result.then(() => (otherSettled = true));
    await new Promise((r) => setImmediate(r));
    expect(otherSettled).toBe(false);
    // A retry of the instance claims its volume again as its own, and ending it ends that claim.
    expect(plan.claim('111/eu-west-1/vol-b', 'i-1')).toEqual({ own: true });
    plan.settleRemaining('i-1', notDone);
    await expect(plan.current('111/eu-west-1/vol-b')!.result).resolves.toMatchObject({ done: false });
  });
});
