import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { exitCodeForOutcomes } from '../../src/core/outcomes.js';
import type { TargetOutcome } from '../../src/core/ports.js';

const ok: TargetOutcome = { target: 't1', status: 'collected', evidenceIds: [] };
const denied: TargetOutcome = { target: 't2', status: 'failed', error: { code: 'E_ACCESS_DENIED' }, evidenceIds: [] };
const refused: TargetOutcome = { target: 't3', status: 'failed', error: { code: 'E_ACCOUNT_NOT_ALLOWED' }, evidenceIds: [] };
const partial: TargetOutcome = { target: 't4', status: 'partial', evidenceIds: [] };
const skipped: TargetOutcome = { target: 't5', status: 'skipped', evidenceIds: [] };

describe('exitCodeForOutcomes', () => {
  it.each([
    ['every target collected', [ok], EXIT.OK],
    ['one denied among collected ones', [ok, denied], EXIT.PARTIAL],
    ['a partial target', [partial], EXIT.PARTIAL],
    ['every target failed in the cloud', [denied], EXIT.FAILED],
    ['every target refused as bad input', [refused], EXIT.BAD_INPUT],
    ['refused and denied', [refused, denied], EXIT.FAILED],
    ['no target at all', [], EXIT.BAD_INPUT],
    ['one failed and the rest skipped by an interruption', [denied, skipped], EXIT.PARTIAL],
  ] as const)('%s', (_name, outcomes, code) => {
    expect(exitCodeForOutcomes(outcomes)).toBe(code);
  });
});
