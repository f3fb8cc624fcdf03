/**
 * The ledger and the case folder outlive the incident and travel to counsel: a credential written
 * there leaks. Collectors are asked never to pass one; this guard makes the mistake loud instead.
 */
import { CustodyError } from '../core/errors.js';
import { credentialText, isCredentialKey } from '../core/credentials.js';

/** The recognisers live in core (the description redaction uses them too); custody keeps its names. */
export { credentialText, isCredentialKey } from '../core/credentials.js';

/** Where in `data` a credential was found, or undefined when there is none. */
export function findCredential(data: unknown, path = '$'): string | undefined {
  const found = locate(data);
  if (!found) return undefined;
  const where = path + found.segments.reverse().join('');
  return found.what ? `${where} (${found.what})` : where;
}

/**
 * The walk behind `findCredential`. It runs over every ledger entry, so it builds no path while
 * searching: the segments are collected on the way back, only when something was found.
 */
function locate(data: unknown): { segments: string[]; what?: string } | undefined {
  if (typeof data === 'string') {
    const what = credentialText(data);
    return what === undefined ? undefined : { segments: [], what };
  }
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) {
      const found = locate(data[i]);
      if (found) {
        found.segments.push(`[${i}]`);
        return found;
      }
    }
    return undefined;
  }
  if (data !== null && typeof data === 'object') {
    for (const key in data) {
      if (!Object.hasOwn(data, key)) continue;
      const value = (data as Record<string, unknown>)[key];
      if (value === undefined || value === null) continue;
      if (isCredentialKey(key)) return { segments: [`.${key}`] };
      const found = locate(value);
      if (found) {
        found.segments.push(`.${key}`);
        return found;
      }
    }
  }
  return undefined;
}

/**
 * Throws `E_INTERNAL` when `data` holds a credential-like key or value. The message names where,
 * never the value itself.
 */
export function assertNoCredentials(data: unknown, what: string): void {
  const found = findCredential(data);
  if (found) {
    throw new CustodyError(
      'E_INTERNAL',
      `refused to record ${what}: ${found} looks like a credential, and credentials never enter the case folder`,
      { resource: what },
    );
  }
}
