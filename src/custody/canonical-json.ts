/**
 * RFC 8785 (JSON Canonicalization Scheme) for everything that is hashed or signed.
 *
 * The `canonicalize` package does the RFC's work (ES number serialisation, UTF-16 key order,
 * minimal string escaping); this wrapper refuses whatever JSON cannot represent exactly instead
 * of letting it silently become `null` or disappear, because a hash over a value that changed on
 * the way to disk would never verify again.
 */
import canonicalizeLib from 'canonicalize';
import { CustodyError } from '../core/errors.js';

/** Any value JSON can carry exactly. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Serialises a JSON value in RFC 8785 canonical form.
 * Throws `E_INTERNAL` naming the offending path for `undefined`, non-finite numbers, bigint,
 * functions, symbols, lone UTF-16 surrogates and objects that are not plain (Date, Map, Buffer…);
 * `path` names `value` when it is part of a larger value (`$.data`).
 *
 * @example canonicalize({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalize(value: unknown, path = '$'): string {
  // A string alone (an entry's actor, type, time, target…: seven per ledger entry) is written as
  // JSON.stringify writes it, which RFC 8785 adopts, unless a surrogate needs the closer look.
  if (typeof value === 'string' && !SURROGATES.test(value)) return JSON.stringify(value);
  const fast = writePlainJson(value);
  if (fast !== undefined) return fast;
  // Anything the fast writer declines (a refused value, or a shape it does not handle) takes the
  // careful path: it names the offending path, or serialises what the fast writer left alone.
  assertJsonValue(value, path);
  const text = canonicalizeLib(value);
  if (text === undefined) {
    // Unreachable after assertJsonValue; kept so a library change cannot yield a silent hole.
    throw new CustodyError('E_INTERNAL', 'canonical JSON produced nothing for the value');
  }
  return text;
}

/**
 * The canonical text of `value` when it is plain JSON — strings without lone surrogates, finite
 * numbers, booleans, null, dense arrays and plain objects — else undefined. One pass with no
 * bookkeeping, because verify canonicalises every entry of a ledger that may hold 100,000.
 * Strings and numbers are written by JSON.stringify, which RFC 8785 adopts for both; object keys
 * are sorted by UTF-16 code units (the default sort), as the RFC requires.
 */
function writePlainJson(value: unknown): string | undefined {
  try {
    return write(value);
  } catch {
    return undefined; // a cycle or a nesting too deep for the stack: the careful path decides
  }
}

function write(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return hasLoneSurrogate(value) ? undefined : JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return undefined; // a hole
      const item = write(value[i]);
      if (item === undefined) return undefined;
      out += i === 0 ? item : `,${item}`;
    }
    return `${out}]`;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  const keys = Object.keys(value).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (hasLoneSurrogate(key)) return undefined;
    const item = write((value as Record<string, unknown>)[key]);
    if (item === undefined) return undefined;
    out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${item}`;
  }
  return `${out}}`;
}

/**
 * Whether two JSON values are the same value, i.e. have the same canonical form, without
 * serialising either: verify compares the manifest's list of thousands of files with the one
 * the ledger implies. Object key order does not matter; `0` and `-0` are the same, as in the
 * canonical form.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(b, key) || !sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/** The canonical form as UTF-8 bytes: what hashes and signatures are computed over. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

/** Throws `E_INTERNAL` unless `value` is exactly representable as JSON; `path` names where. */
export function assertJsonValue(value: unknown, path = '$'): asserts value is JsonValue {
  // The walk itself builds no path strings (it runs over every ledger entry): only when it finds
  // something wrong does it walk again, naming where.
  if (isJsonValue(value)) return;
  describeNonJson(value, path);
  throw new CustodyError('E_INTERNAL', `cannot canonicalise ${path}`, { resource: path });
}

/** Whether `value` is exactly representable as JSON (see `assertJsonValue`). */
function isJsonValue(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
      return !hasLoneSurrogate(value);
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (Array.isArray(value)) {
    // Holes are skipped, as describeNonJson and the library treat them (written as null).
    for (let i = 0; i < value.length; i++) if (i in value && !isJsonValue(value[i])) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (hasLoneSurrogate(key) || !isJsonValue((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/** Throws `E_INTERNAL` naming the first place in `value` that JSON cannot represent. */
function describeNonJson(value: unknown, path: string): void {
  const fail = (what: string): never => {
    throw new CustodyError('E_INTERNAL', `cannot canonicalise ${path}: ${what}`, { resource: path });
  };
  switch (typeof value) {
    case 'string':
      if (hasLoneSurrogate(value)) fail('string contains a lone UTF-16 surrogate');
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(`${String(value)} is not a JSON number`);
      return;
    case 'undefined':
      return fail('undefined is not a JSON value');
    case 'bigint':
      return fail('bigint is not a JSON number (convert it to a string)');
    case 'function':
    case 'symbol':
      return fail(`${typeof value} is not a JSON value`);
    case 'object':
      break;
  }
  if (value === null) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => describeNonJson(item, `${path}[${index}]`));
    return;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const name = (value as object).constructor?.name ?? 'object';
    fail(`${name} is not a plain JSON object`);
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (hasLoneSurrogate(key)) fail(`key ${JSON.stringify(key)} contains a lone UTF-16 surrogate`);
    describeNonJson(item, `${path}.${key}`);
  }
}

// One object for every test: a regular expression literal inside a function is a new object each
// time the function runs, and every string of every entry is tested.
const SURROGATES = /[\uD800-\uDFFF]/;

/** Whether `text` holds any UTF-16 surrogate, paired or not (most text holds none). */
export function hasSurrogate(text: string): boolean {
  return SURROGATES.test(text);
}

function hasLoneSurrogate(text: string): boolean {
  // Fast path: most strings have no surrogates at all.
  if (!SURROGATES.test(text)) return false;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return true;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return true;
  }
  return false;
}
