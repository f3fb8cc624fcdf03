/**
 * Turns what collectors hand the ledger into plain JSON, the way they would expect `JSON.stringify`
 * to, but without its silent losses: SDK responses carry `Date`s and optional fields that are
 * `undefined`, and a request id that happens to be missing must not stop a collection.
 */
import { CustodyError } from '../core/errors.js';
import { assertJsonValue, type JsonValue } from './canonical-json.js';

/**
 * Returns a deep copy of `value` as plain JSON:
 * - object properties whose value is `undefined` are left out (as `JSON.stringify` does);
 * - `Date` becomes its ISO 8601 string;
 * - everything else must already be JSON (`E_INTERNAL` names the path otherwise: a `NaN`, an
 *   `undefined` array item or a `Buffer` in ledger data is a bug, not something to guess about).
 */
export function toJsonData(value: unknown, path = '$'): JsonValue {
  // Every ledger entry passes here: the walk builds no path strings unless something is wrong,
  // and then walks again to name where.
  const converted = convert(value);
  return converted === NOT_JSON ? convertNamingPath(value, path) : converted;
}

const NOT_JSON = Symbol('not JSON');

function convert(value: unknown): JsonValue | typeof NOT_JSON {
  // Leaves first, without a call or a try per leaf: every ledger entry's every value passes here.
  switch (typeof value) {
    case 'string':
      return SURROGATE.test(value) ? careful(value) : value;
    case 'number':
      return Number.isFinite(value) ? value : NOT_JSON;
    case 'boolean':
      return value;
    case 'object':
      if (value === null) return null;
      break;
    default:
      return NOT_JSON;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? NOT_JSON : value.toISOString();
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array<JsonValue>(value.length);
    for (let i = 0; i < value.length; i += 1) {
      const item = convert(value[i]);
      if (item === NOT_JSON) return NOT_JSON;
      out[i] = item;
    }
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, JsonValue> = {};
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        const converted = convert(item);
        if (converted === NOT_JSON) return NOT_JSON;
        out[key] = converted;
      }
      return out;
    }
  }
  return careful(value);
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** A string with surrogates (a lone one is not JSON) or an object that is not plain: the full check. */
function careful(value: unknown): JsonValue | typeof NOT_JSON {
  try {
    assertJsonValue(value);
  } catch {
    return NOT_JSON;
  }
  return value;
}

/** `toJsonData` again, for a value that is not JSON: throws naming the path. */
function convertNamingPath(value: unknown, path: string): JsonValue {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      throw new CustodyError('E_INTERNAL', `cannot record ${path}: invalid Date`, { resource: path });
    }
    return value.toISOString();
  }
  if (Array.isArray(value)) return value.map((item, index) => convertNamingPath(item, `${path}[${index}]`));
  if (value !== null && typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, JsonValue> = {};
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        if (item === undefined) continue;
        out[key] = convertNamingPath(item, `${path}.${key}`);
      }
      return out;
    }
  }
  assertJsonValue(value, path);
  return value;
}

/** Freezes a JSON value all the way down, so an entry handed out cannot be edited in memory. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const item of Object.values(value as object)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
