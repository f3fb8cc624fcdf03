/**
 * The fields of an entry's `data` as a report reads them: a ledger written by an older version,
 * or changed since, may hold a field of another type or none at all, and a report says what is
 * there without failing on what is not.
 */

/** `value` when it is a non-empty text, else undefined. */
export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * What a failure's entry records of why (`E_ACCESS_DENIED not authorized to …`): the code and
 * message of its `error`, else its `reason` or `message`; `none` when it records none of them.
 */
export function errorText(data: Readonly<Record<string, unknown>>, none = ''): string {
  const error = data.error as Record<string, unknown> | undefined;
  if (error && typeof error === 'object') return [stringOf(error.code), stringOf(error.message)].filter(Boolean).join(' ');
  return stringOf(data.reason) ?? stringOf(data.message) ?? none;
}
