/**
 * A list as the ledger recorded it, read back whatever version of the tool wrote it: its
 * non-empty strings, in order. Anything else in it (a number, null, an empty string that names
 * nothing) is left out, and a field that is not a list reads as empty. Core reads earlier runs'
 * keys with it; the report reads a search's found ids and request ids with it.
 *
 * @example
 * recordedStrings(['i-1', '', null, 'i-2']) // ['i-1', 'i-2']
 */
export function recordedStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}
