import { describe, expect, it } from 'vitest';
import { collectedInEarlierRuns, type TargetParser } from '../../src/core/earlier-runs.js';
import type { LedgerEntry } from '../../src/core/ports.js';
import { recordedStrings } from '../../src/core/recorded-list.js';

// A parser that refuses nothing but the empty key, as a registry refuses a key it cannot read.
const parser = {
  parseTarget: (key: string) => {
    if (key === '') throw new Error('no target');
    return { kind: 'k8s-pod', provider: 'kubernetes', cluster: 'c', namespace: 'n', pod: key };
  },
  parseSelector: () => {
    throw new Error('no selector');
  },
} as unknown as TargetParser;

function entry(seq: number, type: string, target: string, data: Record<string, unknown>): LedgerEntry {
  return { seq, time: '2026-12-06T00:00:00.000Z', type, actor: 'analyst', target, data, prev: '0'.repeat(64), hash: '0'.repeat(64) } as LedgerEntry;
}

describe('a list as the ledger recorded it', () => {
  it('keeps its non-empty strings in order, and a field that is no list reads as empty', () => {
    expect(recordedStrings(['i-1', '', null, 7, 'i-2', undefined])).toEqual(['i-1', 'i-2']);
    expect(recordedStrings('i-1')).toEqual([]);
    expect(recordedStrings(undefined)).toEqual([]);
    expect(recordedStrings({ 0: 'i-1' })).toEqual([]);
  });

  it('an earlier run whose collection recorded an empty evidence id is read without it: an empty id names no evidence', () => {
    const done = collectedInEarlierRuns([entry(1, 'target.completed', 'k8s:c/n/p', { status: 'collected', evidenceIds: ['', 'ev-1', 3], followUps: [''] })], parser);
    expect(done.get('k8s:c/n/p')).toEqual({ evidenceIds: ['ev-1'], followUps: [] });
  });
});
