import { describe, expect, it } from 'vitest';
import { askedName, CaseHistory, historyOf, resumedName } from '../../src/core/case-history.js';
import type { LedgerEntry } from '../../src/core/ports.js';

function entry(seq: number, type: string, data: Record<string, unknown>, target?: string): LedgerEntry {
  return { seq, time: '', type, actor: 'alice', data, prev: '', hash: '', sig: '', ...(target ? { target } : {}) };
}

describe('the case history', () => {
  it('answers from entries appended after it was built, indexing each entry once', () => {
    const log: LedgerEntry[] = [entry(0, 'case.opened', {})];
    const history = new CaseHistory(() => log);
    expect(history.storedName('ev-1', 'pod.json')).toBeUndefined();
    log.push(entry(1, 'evidence.stored', { evidenceId: 'ev-1', name: 'pod.json' }, 'k8s:c/ns/p'));
    log.push(entry(2, 'evidence.stored', { evidenceId: 'ev-1', name: 'log-app.resumed-7.log' }, 'k8s:c/ns/p'));
    log.push(entry(3, 'artifact.recorded', { evidenceId: 'ev-2', cloudIds: { snapshotId: 'snap-1', forensicsSnapshotId: 'snap-2' } }));
    expect(history.storedName('ev-1', 'pod.json')).toBe('pod.json');
    // A resumed copy answers for the name it was asked under.
    expect(history.storedName('ev-1', 'log-app.log')).toBe('log-app.resumed-7.log');
    expect(history.artifactRecorded('ev-2', { snapshotId: 'snap-1' })).toBe(true);
    expect(history.artifactRecorded('ev-2', { snapshotId: 'snap-9' })).toBe(false);
    // Compared exactly, unless the caller says how its cloud compares ids.
    expect(history.artifactRecorded('ev-2', { snapshotId: 'SNAP-1' })).toBe(false);
    expect(history.artifactRecorded('ev-2', { snapshotId: 'SNAP-1' }, (r, a) => typeof r === 'string' && r.toLowerCase() === a.toLowerCase())).toBe(true);
    expect(history.about('evidence.stored', 'k8s:c/ns/p').map((e) => e.seq)).toEqual([1, 2]);

    let folded = 0;
    const count = () => history.derived('test.count', () => ({ n: 0 }), (state) => void ((state.n += 1), (folded += 1)));
    expect(count().n).toBe(4);
    log.push(entry(4, 'step.failed', {}));
    expect(count().n).toBe(5);
    expect(count().n).toBe(5);
    // Each entry was folded exactly once, however often the index was asked.
    expect(folded).toBe(5);
  });

  it('answers "was this snapshot hashed before?" from an index: the first entry of a type with a field\'s value', () => {
    const log: LedgerEntry[] = [entry(0, 'disk.hash.started', { snapshotId: 'snap-1' })];
    const history = new CaseHistory(() => log);
    expect(history.firstWhere('disk.hashed', 'snapshotId', 'snap-1')).toBeUndefined();
    log.push(entry(1, 'disk.hashed', { snapshotId: 'snap-1', sha256: 'aa' }));
    log.push(entry(2, 'disk.hashed', { snapshotId: 'snap-1', sha256: 'bb' }));
    log.push(entry(3, 'disk.hashed', { snapshotId: 7 }));
    expect(history.firstWhere('disk.hashed', 'snapshotId', 'snap-1')?.data.sha256).toBe('aa');
    expect(history.firstWhere('disk.hash.started', 'snapshotId', 'snap-1')?.seq).toBe(0);
    expect(history.firstWhere('disk.hashed', 'snapshotId', 'snap-2')).toBeUndefined();
    expect(history.firstWhere('disk.hashed', 'snapshotId', '7')).toBeUndefined();
  });

  it('answers "what did earlier runs ask for?": the first entry of each evidence id about a target, in ledger order', () => {
    const vm = 'cloud:vm-1';
    const log: LedgerEntry[] = [
      entry(0, 'snapshot.requested', { evidenceId: 'ev-b', disk: 'b', attempt: 1 }, vm),
      entry(1, 'snapshot.requested', { evidenceId: 'ev-a', disk: 'a', attempt: 1 }, vm),
      // Another target's request for the same evidence id, and another type about this target.
      entry(2, 'snapshot.requested', { evidenceId: 'ev-c', disk: 'c' }, 'cloud:vm-2'),
      entry(3, 'snapshot.adopted', { evidenceId: 'ev-d', disk: 'd' }, vm),
      // No (string) evidence id: not a request for a piece of evidence.
      entry(4, 'snapshot.requested', { disk: 'x' }, vm),
      entry(5, 'snapshot.requested', { evidenceId: 7, disk: 'y' }, vm),
      // Asked again: the first request stays the one named.
      entry(6, 'snapshot.requested', { evidenceId: 'ev-b', disk: 'b', attempt: 2 }, vm),
      entry(7, 'snapshot.requested', { evidenceId: 'ev-c', disk: 'c' }, vm),
    ];
    const history = new CaseHistory(() => log);
    expect(history.firstPerEvidenceId('snapshot.requested', vm).map((e) => e.seq)).toEqual([0, 1, 7]);
    expect(history.firstPerEvidenceId('snapshot.requested', 'cloud:vm-2').map((e) => e.seq)).toEqual([2]);
    expect(history.firstPerEvidenceId('snapshot.adopted', vm).map((e) => e.seq)).toEqual([3]);
    // Entries the filter refuses do not count as the first of their evidence id.
    expect(history.firstPerEvidenceId('snapshot.requested', vm, (e) => e.data.attempt !== 1).map((e) => e.seq)).toEqual([6, 7]);
    // Entries appended later are answered too.
    log.push(entry(8, 'snapshot.requested', { evidenceId: 'ev-e', disk: 'e' }, vm));
    expect(history.firstPerEvidenceId('snapshot.requested', vm).map((e) => e.seq)).toEqual([0, 1, 7, 8]);
  });

  it('is shared by every wrapper of the same case (keyed by its entries), so no target rebuilds it', () => {
    const log: LedgerEntry[] = [];
    const a = historyOf({ entries: () => log });
    const b = historyOf({ entries: () => log });
    expect(a).toBe(b);
    expect(historyOf({ entries: () => [] })).not.toBe(a);
  });

  it('names a resumed copy one way everywhere', () => {
    expect(resumedName('instance.json', 12)).toBe('instance.resumed-12.json');
    expect(resumedName('README', 3)).toBe('README.resumed-3');
    expect(askedName('instance.resumed-12.json')).toBe('instance.json');
    expect(askedName('README.resumed-3')).toBe('README');
  });
});
