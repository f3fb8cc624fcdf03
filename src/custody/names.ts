/**
 * Names that become path segments in the case folder. Evidence ids and file names come from cloud
 * and cluster data (pod and container names), so they are checked, never trusted.
 */
import { CustodyError } from '../core/errors.js';
import { quoteUntrusted, showUntrusted } from './untrusted-text.js';

const MAX_SEGMENT_BYTES = 200;

/** Throws `E_INPUT` unless `value` is a safe single path segment. */
export function validateSegment(value: string, what: string): string {
  const problem = segmentProblem(value);
  if (problem) {
    // Quoted as verify quotes untrusted text: a cloud chose the name, and a direction override
    // or a credential in it must not reach a terminal or a log raw.
    const shown = typeof value === 'string' ? (quoteUntrusted(value) ?? showUntrusted(value)) : String(value);
    throw new CustodyError('E_INPUT', `refused ${what} ${shown}: ${problem}`, { resource: value });
  }
  return value;
}

/** Why `value` is not a safe path segment, or undefined when it is. */
export function segmentProblem(value: string): string | undefined {
  if (typeof value !== 'string' || value === '') return 'it is empty';
  if (/[/\\]/.test(value)) return 'it contains a path separator';
  if (value.includes('..')) return 'it contains ".."';
  if (value.startsWith('.')) return 'it starts with "." (hidden and reserved names are not allowed)';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'it contains a control character';
  if (value.trim() !== value) return 'it starts or ends with whitespace';
  if (Buffer.byteLength(value, 'utf8') > MAX_SEGMENT_BYTES) return `it is longer than ${MAX_SEGMENT_BYTES} bytes`;
  return undefined;
}
