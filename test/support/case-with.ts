// A case as the collector sees it, with some of its methods changed: how a test makes the case
// fail where an incident would (a full disk, a process killed between two writes, a cut ledger).
import type { CaseRecorder } from '../../src/core/ports.js';
import type { CaseHandle } from '../../src/custody/open-case.js';

type Writes = Pick<CaseRecorder, 'record' | 'storeEvidence' | 'recordArtifact'>;

/** `kase` as a recorder, with `changes` in place of its own writes; everything else is the case's. */
export function caseWith(kase: CaseHandle, changes: Partial<Writes>): CaseHandle {
  const recorder: CaseRecorder = {
    caseId: kase.caseId,
    analyst: kase.analyst,
    caseDir: kase.caseDir,
    entries: () => kase.entries(),
    record: (type, data, target) => kase.record(type, data, target),
    storeEvidence: (input) => kase.storeEvidence(input),
    recordArtifact: (input) => kase.recordArtifact(input),
    ...changes,
  };
  // The collector reads only the recorder part of a handle.
  return recorder as CaseHandle;
}
