/**
 * Core's one way of recording a selector's scope (src/core/selector-search.ts): `scope` runs the
 * provider's search and writes `selector.searched`, or `step.failed` (step `resolve-selector`) when
 * it throws; the run's stop and a ledger that cannot be written are never recorded as a scope
 * that failed. The providers' own tests (test/providers/<p>/selector-searches) hold the entries
 * each cloud writes through it.
 */
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/core/errors.js';
import { startSelectorSearch } from '../../src/core/selector-search.js';
import { MemoryRecorder } from './fakes.js';

const SELECTOR = 'tag:Incident=INC-42';
const EAST = { where: 'account 111111111111 in us-east-1', fields: { account: '111111111111', region: 'us-east-1' } };
const WEST = { where: 'account 111111111111 in us-west-2', fields: { account: '111111111111', region: 'us-west-2' } };

describe('a selector search, one scope at a time', () => {
  it('records an answered scope and returns its answer; a refused one is a step.failed with the error record (its request id) and the provider detail, and the search goes on', async () => {
    const recorder = new MemoryRecorder();
    const incomplete: Array<[string, string]> = [];
    const search = startSelectorSearch({
      recorder,
      selector: SELECTOR,
      provider: 'aws',
      searchIncomplete: (scope, code) => incomplete.push([scope, code]),
      failureDetail: (error) => ({ seen: (error as Error).message }),
    });
    const answered = await search.scope(EAST, async () => ({ found: ['i-1'], requestIds: ['req-1'], detail: { filters: { 'tag:Incident': 'INC-42' } }, kept: 'not recorded' }));
    const refused = await search.scope(WEST, async () => {
      throw new CustodyError('E_ACCESS_DENIED', 'ec2:DescribeInstances refused', { requestId: 'req-2', action: 'ec2:DescribeInstances' });
    });
    search.finish([EAST, WEST]);

    expect(answered?.kept).toBe('not recorded');
    expect(refused).toBeUndefined();
    expect(recorder.log.map((e) => [e.type, e.target, e.data])).toEqual([
      ['selector.searched', SELECTOR, { filters: { 'tag:Incident': 'INC-42' }, selector: SELECTOR, provider: 'aws', where: EAST.where, scope: EAST.fields, found: ['i-1'], requestIds: ['req-1'] }],
      [
        'step.failed',
        SELECTOR,
        {
          seen: 'ec2:DescribeInstances refused',
          step: 'resolve-selector',
          selector: SELECTOR,
          provider: 'aws',
          where: WEST.where,
          scope: WEST.fields,
          error: { code: 'E_ACCESS_DENIED', message: 'ec2:DescribeInstances refused', action: 'ec2:DescribeInstances', requestId: 'req-2' },
        },
      ],
    ]);
    expect(incomplete).toEqual([[WEST.where, 'E_ACCESS_DENIED']]);
  });

  it('a failure that is not a CustodyError is recorded as E_CLOUD in the provider\'s words', async () => {
    const recorder = new MemoryRecorder();
    const search = startSelectorSearch({ recorder, selector: SELECTOR, provider: 'aws', describeError: (error) => `said: ${(error as Error).message}` });
    await search.scope(EAST, async () => {
      throw new Error('socket hang up');
    });
    expect(recorder.ofType('step.failed').map((e) => e.data.error)).toEqual([{ code: 'E_CLOUD', message: 'said: socket hang up' }]);
    expect(() => search.finish([EAST])).toThrow('said: socket hang up');
  });

  it('the stop signal and a failure once the run is stopped end the search as they came: no step.failed', async () => {
    const recorder = new MemoryRecorder();
    const stop = new AbortController();
    const search = startSelectorSearch({ recorder, selector: SELECTOR, provider: 'aws', signal: stop.signal });
    const ledger = new CustodyError('E_LEDGER', 'cannot append to ledger.jsonl: disk full');
    await expect(search.scope(EAST, async () => Promise.reject(ledger))).rejects.toBe(ledger);
    stop.abort(new Error('Ctrl-C'));
    const cut = new Error('aborted');
    await expect(search.scope(WEST, async () => Promise.reject(cut))).rejects.toBe(cut);
    expect(recorder.log).toEqual([]);
  });

  it('when the ledger refuses the selector.searched entry, that is the stop, not a scope that failed', async () => {
    const recorder = new MemoryRecorder();
    recorder.failAtWrite = 1;
    const search = startSelectorSearch({ recorder, selector: SELECTOR, provider: 'aws' });
    await expect(search.scope(EAST, async () => ({ found: [], requestIds: [] }))).rejects.toMatchObject({ code: 'E_LEDGER' });
    expect(() => search.finish([EAST])).not.toThrow();
  });
});
