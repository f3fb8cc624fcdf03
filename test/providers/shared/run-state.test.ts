/**
 * RunStates: a provider's state per run of a case, the run being its signal. The same run gets
 * the same state; a new run of the case gets a new one and ends the earlier; close ends all.
 */
import { describe, expect, it } from 'vitest';
import type { CaseRecorder } from '../../../src/core/ports.js';
import { RunStates } from '../../../src/providers/shared/run-state.js';

const recorderOf = (caseId: string) => ({ caseId }) as CaseRecorder;

describe('RunStates', () => {
  it('one state per run of a case, made with that run\'s recorder; a later run ends the earlier run\'s state, and close ends the rest', async () => {
    const ended: string[] = [];
    let made = 0;
    const runs = new RunStates(
      (recorder) => ({ name: `${recorder.caseId}#${(made += 1)}`, recorder }),
      async (state) => {
        ended.push(state.name);
      },
    );
    const [one, two] = [new AbortController().signal, new AbortController().signal];
    const a1 = recorderOf('IR-A');
    const first = runs.of(a1, one);
    expect(runs.of(recorderOf('IR-A'), one)).toBe(first);
    expect(first.recorder).toBe(a1);
    const other = runs.of(recorderOf('IR-B'), one);
    expect(other).not.toBe(first);

    const a2 = recorderOf('IR-A');
    const second = runs.of(a2, two);
    expect(second).not.toBe(first);
    expect(second.recorder).toBe(a2);
    expect(runs.latest('IR-A')).toBe(second);
    expect(runs.states()).toEqual([second, other]);

    await runs.close();
    // In the order they were replaced: run one of IR-A when run two began, then the current ones.
    expect(ended).toEqual(['IR-A#1', 'IR-A#3', 'IR-B#2']);
    expect(runs.states()).toEqual([]);
  });
});
