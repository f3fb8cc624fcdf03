// A name that could forge terminal output, and the check that a message carries none of it raw.
import { expect } from 'vitest';

/** ESC (clears the screen), a newline and a verdict of its own, then a right-to-left override. */
export const HOSTILE = 'x\u001b[2J\nverified: OK\u202e';

/** How HOSTILE reads once escaped. */
export const HOSTILE_SHOWN = 'x\\u001b[2J\\nverified: OK\\u202e';

// Every character a message must not carry raw: C0 controls, DEL and C1, the invisible marks.
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/;

export function expectNoRawControls(text: string): void {
  expect(text).not.toMatch(RAW_CONTROL);
  expect(text).not.toMatch(/\nverified: OK/);
}
