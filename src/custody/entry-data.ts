/**
 * An entry's `data` as the ledger's append needs it, in one walk instead of three: the plain-JSON
 * copy `toJsonData` makes, the credential scan `assertNoCredentials` makes of that copy, and the
 * canonical text `canonicalize` writes of it. Every entry of every target passes here, and the
 * three walks over the same small value (with the garbage of each) were a fifth of an append's
 * CPU apart from its signature.
 *
 * It accepts only what all three accept without a word, and declines everything else (a value
 * that is not JSON, a credential, a string with any surrogate, a `__proto__` member): the append
 * then takes the three careful walks, which refuse with the same errors as always, or accept
 * what they accept. So for what it accepts, its copy and text are the careful walks' own.
 */
import { hasSurrogate, type JsonValue } from './canonical-json.js';
import { credentialText, isCredentialKey } from './credential-guard.js';

/** The entry's data, converted (frozen), and its RFC 8785 canonical text. */
export interface EntryData {
  value: Record<string, JsonValue>;
  text: string;
}

/** `data` in one walk, or undefined when the careful walks must decide (see above). */
export function entryData(data: Record<string, unknown>): EntryData | undefined {
  const sink = { text: '' };
  const value = walk(data, sink);
  if (value === DECLINE || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return { value, text: sink.text };
}

const DECLINE = Symbol('decline');

/** Converts `value` as `toJsonData` does, appending its canonical text to `sink.text`. */
function walk(value: unknown, sink: { text: string }): JsonValue | typeof DECLINE {
  switch (typeof value) {
    case 'string':
      if (hasSurrogate(value) || credentialText(value) !== undefined) return DECLINE;
      sink.text += JSON.stringify(value);
      return value;
    case 'number':
      if (!Number.isFinite(value)) return DECLINE;
      sink.text += JSON.stringify(value);
      return value;
    case 'boolean':
      sink.text += value ? 'true' : 'false';
      return value;
    case 'object':
      break;
    default:
      return DECLINE;
  }
  if (value === null) {
    sink.text += 'null';
    return null;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return DECLINE;
    return walk(value.toISOString(), sink);
  }
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array<JsonValue>(value.length);
    sink.text += '[';
    for (let i = 0; i < value.length; i += 1) {
      if (i > 0) sink.text += ',';
      const item = walk(value[i], sink); // a hole reads as undefined: declined
      if (item === DECLINE) return DECLINE;
      out[i] = item;
    }
    sink.text += ']';
    return Object.freeze(out) as JsonValue[];
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return DECLINE;
  // Own enumerable string keys, as the careful walks' for-in with hasOwn; sorted by UTF-16 code
  // units as RFC 8785 orders members (the copy keeps that order too, as a resumed ledger has it).
  const keys = Object.keys(value).sort();
  const out: Record<string, JsonValue> = {};
  let first = true;
  sink.text += '{';
  for (let i = 0; i < keys.length; i += 1) {
    const key = keys[i]!;
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue; // left out, as JSON.stringify does
    if (key === '__proto__' || hasSurrogate(key) || (item !== null && isCredentialKey(key))) return DECLINE;
    sink.text += first ? `${JSON.stringify(key)}:` : `,${JSON.stringify(key)}:`;
    first = false;
    const converted = walk(item, sink);
    if (converted === DECLINE) return DECLINE;
    out[key] = converted;
  }
  sink.text += '}';
  return Object.freeze(out);
}
