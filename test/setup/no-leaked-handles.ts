// Every test file ends with no case file left open (see open-case-files.ts): a test that
// abandons a case without release() would otherwise crash a later run under Node 26 when the
// garbage collector finds the handle.
import { afterAll, expect } from 'vitest';
import { openCaseFiles } from './open-case-files.js';

afterAll(() => {
  expect(openCaseFiles(), 'case files still open when the test file ended (release or close every case)').toEqual([]);
});
