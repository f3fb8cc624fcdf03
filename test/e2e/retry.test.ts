// A burst of server errors outlasting the SDK's own retries fails one attempt of one target; the
// orchestrator records it, tries the target again, and the case ends with every target collected
// and no volume snapshotted twice. Run through the library with a short pause before the retry
// (its `retry` option): the default pause (2 s) is the same code waiting longer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, loadConfig } from '../../src/app/library.js';
import { snapshotsPerVolume, useLabFixture } from './lab-fixture.js';

const fx = useLabFixture({ credentials: true });

describe('a transient EC2 outage in one account', () => {
  it('is outlasted: the failed attempt is recorded, the target is collected on the next after the pause the caller set, nothing is taken twice', async () => {
    // More consecutive 500s than the SDK retries (8 attempts): the first attempt must fail.
    fx.lab.control.failNext({ action: 'ec2:CreateSnapshots', account: '333333333333', code: 'InternalError', status: 500, count: 8 });
    const targets = [fx.instanceArn('web-01'), fx.instanceArn('api-01')];
    const result = await collect({ config: loadConfig(fx.configPath), caseId: 'IR-OUTAGE', analyst: 'alice', targets, retry: { delayMs: 5 } });
    expect(result.outcomes.map((o) => o.status)).toEqual(['collected', 'collected']);
    expect(result.verify?.ok).toBe(true);
    const entries = readFileSync(join(result.caseDir, 'ledger.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; target?: string; data: Record<string, unknown> });
    const requeued = entries.filter((e) => e.type === 'target.requeued');
    expect(requeued).toHaveLength(1);
    expect(requeued[0]).toMatchObject({ target: fx.instanceArn('api-01'), data: { attempt: 1, delayMs: 5, error: { retryable: true } } });
    expect(entries.filter((e) => e.type === 'target.completed').map((e) => e.data.status)).toEqual(['collected', 'collected']);
    expect([...snapshotsPerVolume(fx.lab, 'IR-OUTAGE').values()].every((n) => n === 1)).toBe(true);
  }, 90_000);
});
