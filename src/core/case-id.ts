import { createHash } from 'node:crypto';
import { CustodyError } from './errors.js';

// A case id becomes a folder name and a tag value: letters, digits, '.', '_', '-', no '..'.
const CASE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Validates a case id. Throws `E_INPUT` naming what is wrong. */
export function validateCaseId(caseId: string): string {
  if (!CASE_ID.test(caseId) || caseId.includes('..')) {
    throw new CustodyError(
      'E_INPUT',
      `invalid case id "${caseId}": use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit, without "/" or ".."`,
      { resource: caseId },
    );
  }
  return caseId;
}

/**
 * Evidence ids are derived, not random: the same case and the same source always give the same
 * id, so a resumed run finds what an interrupted run started (snapshots are tagged with it).
 */
export function evidenceIdFor(caseId: string, sourceKey: string): string {
  const digest = createHash('sha256').update(`${caseId}\n${sourceKey}`).digest('hex');
  return `ev-${digest.slice(0, 12)}`;
}
