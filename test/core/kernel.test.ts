import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/core/errors.js';
import { allSettledOrThrow, guardRecorder, isStopSignal, recordMutation, runStep, storeOnce, type StepFailure } from '../../src/core/kernel.js';
import { openCase } from '../../src/custody/index.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function freshCase() {
  dir = await mkdtemp(join(tmpdir(), 'kernel-'));
  return openCase({ casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId: 'IR-KERNEL', analyst: 'alice', toolVersion: 'test' });
}

const input = (content: string) => ({ evidenceId: 'ev-1', name: 'pod.json', kind: 'pod', source: 'k8s:c/ns/p', content });

describe('the collection kernel', () => {
  it('stores once: a file an interrupted run left with other bytes is kept, and this run\'s copy gets its own name (a result, not an error)', async () => {
    const kase = await freshCase();
    await mkdir(join(kase.caseDir, 'evidence', 'ev-1'), { recursive: true });
    await writeFile(join(kase.caseDir, 'evidence', 'ev-1', 'pod.json'), '{"killed":"run"}');
    const first = await storeOnce(kase, input('{"this":"run"}'));
    expect(first.status === 'stored' && first.stored.name).toMatch(/^pod\.resumed-\d+\.json$/);
    // Asked again (a retry, a resumed run): the case already holds it under the resumed name.
    expect(await storeOnce(kase, input('{"this":"run"}'))).toEqual({ status: 'earlier', name: first.status === 'stored' ? first.stored.name : '' });
    await kase.release();
  });

  it('stores once: a leftover file with exactly these bytes is recorded as it is', async () => {
    const kase = await freshCase();
    await mkdir(join(kase.caseDir, 'evidence', 'ev-1'), { recursive: true });
    await writeFile(join(kase.caseDir, 'evidence', 'ev-1', 'pod.json'), '{"same":1}');
    const result = await storeOnce(kase, input('{"same":1}'));
    expect(result.status === 'stored' && result.stored.name).toBe('pod.json');
    expect(kase.entries().filter((e) => e.type === 'evidence.stored')).toHaveLength(1);
    await kase.release();
  });

  it('records before and after a mutation, and the before entry stays when the call fails', async () => {
    const kase = await freshCase();
    const recorder = guardRecorder(kase);
    await recordMutation(recorder, 't1', { type: 'change.requested', data: { attribute: 'x' } }, async () => 'req-1', (requestId) => ({ type: 'change.applied', data: { requestId } }));
    await expect(
      recordMutation(recorder, 't1', { type: 'change.requested', data: { attribute: 'y' } }, async () => {
        throw new CustodyError('E_ACCESS_DENIED', 'denied');
      }, () => ({ type: 'change.applied', data: {} })),
    ).rejects.toThrow('denied');
    expect(kase.entries().filter((e) => e.target === 't1').map((e) => e.type)).toEqual(['change.requested', 'change.applied', 'change.requested']);
    await kase.release();
  });

  it('has one stop signal, E_LEDGER: a step lets it through and records no step failure for it', async () => {
    expect(isStopSignal(new CustodyError('E_LEDGER', 'disk full'))).toBe(true);
    expect(isStopSignal(new CustodyError('E_CLOUD', 'E_LEDGER in the message'))).toBe(false);
    expect(isStopSignal(Object.assign(new Error('look-alike'), { code: 'E_LEDGER' }))).toBe(false);
    const kase = await freshCase();
    const failures: StepFailure[] = [];
    const run = { recorder: guardRecorder(kase), progress: () => undefined, key: 't1', failures };
    await expect(runStep(run, 'snapshot', async () => Promise.reject(new CustodyError('E_LEDGER', 'disk full')))).rejects.toMatchObject({ code: 'E_LEDGER' });
    expect(failures).toEqual([]);
    expect(kase.entries().filter((e) => e.type === 'step.failed')).toEqual([]);
    await kase.release();
  });

  it("a failed step's entry and remembered failure carry its extra and what onFailure makes of the error, asked only once it failed", async () => {
    const kase = await freshCase();
    const failures: StepFailure[] = [];
    const run = { recorder: guardRecorder(kase), progress: () => undefined, key: 't1', failures };
    const asked: string[] = [];
    const onFailure = (error: CustodyError) => {
      asked.push(error.code);
      return error.code === 'E_TIMEOUT' ? { leftBehind: `${error.resource ?? '?'} is still being made` } : undefined;
    };
    const extra = { volumeId: 'vol-1' };
    expect(await runStep(run, 'copy', async () => 'done', extra, onFailure)).toEqual({ ok: true, value: 'done' });
    await runStep(run, 'wait', async () => Promise.reject(new CustodyError('E_TIMEOUT', 'not yet', { resource: 'snap-1' })), extra, onFailure);
    await runStep(run, 'share', async () => Promise.reject(new CustodyError('E_ACCESS_DENIED', 'refused')), extra, onFailure);
    expect(asked).toEqual(['E_TIMEOUT', 'E_ACCESS_DENIED']);
    expect(kase.entries().filter((e) => e.type === 'step.failed').map((e) => e.data)).toEqual([
      { step: 'wait', volumeId: 'vol-1', leftBehind: 'snap-1 is still being made', error: { code: 'E_TIMEOUT', message: 'not yet', resource: 'snap-1' } },
      { step: 'share', volumeId: 'vol-1', error: { code: 'E_ACCESS_DENIED', message: 'refused' } },
    ]);
    expect(failures.map(({ error, ...rest }) => ({ ...rest, code: error.code }))).toEqual([
      { step: 'wait', volumeId: 'vol-1', leftBehind: 'snap-1 is still being made', code: 'E_TIMEOUT' },
      { step: 'share', volumeId: 'vol-1', code: 'E_ACCESS_DENIED' },
    ]);
    // The step's own fields are its own: nothing the failure told was written into them.
    expect(extra).toEqual({ volumeId: 'vol-1' });
    await kase.release();
  });

  it("onFailure adds fields, never replaces the step's own, and one that throws still leaves the failure recorded", async () => {
    const kase = await freshCase();
    const failures: StepFailure[] = [];
    const run = { recorder: guardRecorder(kase), progress: () => undefined, key: 't1', failures };
    const fail = async () => Promise.reject(new CustodyError('E_TIMEOUT', 'not yet'));
    await runStep(run, 'wait', fail, { volumeId: 'vol-1' }, () => ({ volumeId: 'vol-other', step: 'other', error: 'x', leftBehind: 'snap-1' }));
    const throwing = await runStep(run, 'copy', fail, { volumeId: 'vol-2' }, () => {
      throw new TypeError('a bug in the hook');
    });
    expect(throwing).toMatchObject({ ok: false, error: { code: 'E_TIMEOUT' } });
    expect(kase.entries().filter((e) => e.type === 'step.failed').map((e) => e.data)).toEqual([
      { step: 'wait', volumeId: 'vol-1', leftBehind: 'snap-1', error: { code: 'E_TIMEOUT', message: 'not yet' } },
      { step: 'copy', volumeId: 'vol-2', error: { code: 'E_TIMEOUT', message: 'not yet' } },
    ]);
    expect(failures.map((f) => f.step)).toEqual(['wait', 'copy']);
    await kase.release();
  });

  it('the ledger guard turns any failure to record into the stop signal (E_LEDGER)', async () => {
    const kase = await freshCase();
    await kase.release();
    const error = await guardRecorder(kase).record('step.failed', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe('E_LEDGER');
  });
});

describe('allSettledOrThrow', () => {
  it('does not throw a chain\'s stop signal until its sibling chain has finished its call, then throws the first failure in order', async () => {
    const events: string[] = [];
    let finishSibling!: () => void;
    const sibling = new Promise<string>((resolve) => {
      finishSibling = () => {
        events.push('sibling call answered');
        resolve('copied');
      };
    });
    const stopped = Promise.reject(new CustodyError('E_LEDGER', 'the ledger refused a write'));
    const all = allSettledOrThrow([stopped, sibling, Promise.reject(new Error('later'))]).catch((error: unknown) => {
      events.push(`rejected: ${(error as Error).message}`);
    });
    // Let every settled promise's reaction run: with Promise.all the rejection would be out by now.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    events.push('sibling still in flight');
    finishSibling();
    await all;
    expect(events).toEqual(['sibling still in flight', 'sibling call answered', 'rejected: the ledger refused a write']);
  });

  it('answers every value in order when none fails', async () => {
    await expect(allSettledOrThrow([Promise.resolve(1), 'two', Promise.resolve([3])])).resolves.toEqual([1, 'two', [3]]);
  });
});
