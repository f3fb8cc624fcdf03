import canonicalizeLib from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { canonicalize, canonicalBytes, sameJson } from '../../src/custody/canonical-json.js';
import { toJsonData } from '../../src/custody/json-data.js';
import { CustodyError } from '../../src/core/errors.js';
import { CANONICAL_VECTORS } from './vectors/canonical-json.js';

describe('canonical JSON (RFC 8785)', () => {
  for (const vector of CANONICAL_VECTORS) {
    it(vector.name, () => {
      expect(canonicalize(JSON.parse(vector.input))).toBe(vector.expected);
    });
  }

  it('is stable: canonicalising the canonical form gives the same bytes', () => {
    for (const vector of CANONICAL_VECTORS) {
      expect(canonicalize(JSON.parse(vector.expected))).toBe(vector.expected);
    }
  });

  it('the one-pass writer agrees with the reference library on values verify meets', () => {
    // A seeded generator: numbers at the edges of ES formatting, keys that sort differently by
    // code unit than by insertion or as integers, escapes, astral characters.
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const numbers = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 123456789012345680000, 2 ** 53, -1.5e-10, 333333333.33333329];
    const strings = ['', 'a', 'é', '\u20ac', '\ud83d\ude00', '\u0000\u001f"\\/', '\n\t\r\b\f', '\u2028\u2029', 'ascii only'];
    const keys = ['a', 'b', 'B', '10', '2', '1', '', 'é', '\ud83d\ude00', '\u20ac', 'aa', 'a\u0000'];
    const value = (depth: number): unknown => {
      const pick = Math.floor(rand() * (depth > 3 ? 4 : 6));
      if (pick === 0) return numbers[Math.floor(rand() * numbers.length)];
      if (pick === 1) return strings[Math.floor(rand() * strings.length)];
      if (pick === 2) return rand() < 0.5;
      if (pick === 3) return null;
      if (pick === 4) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(rand() * 5); i > 0; i--) object[keys[Math.floor(rand() * keys.length)]!] = value(depth + 1);
      return object;
    };
    let same = 0;
    for (let i = 0; i < 2_000; i++) {
      const v = value(0);
      const w = value(0);
      expect(canonicalize(v)).toBe(canonicalizeLib(v));
      // sameJson is equality of canonical forms, without writing them.
      expect(sameJson(v, JSON.parse(canonicalize(v)))).toBe(true);
      expect(sameJson(v, w)).toBe(canonicalize(v) === canonicalize(w));
      if (canonicalize(v) === canonicalize(w)) same++;
    }
    expect(same).toBeGreaterThan(0);
    expect(sameJson({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x', c: null }] })).toBe(false);
    expect(sameJson({ a: 0 }, { a: -0 })).toBe(true);
    // Shapes the one-pass writer leaves to the careful path still come out as before.
    const sparse: unknown[] = [1];
    sparse[2] = 3;
    const bare = Object.assign(Object.create(null) as object, { b: 1, a: 2 });
    expect(canonicalize(bare)).toBe('{"a":2,"b":1}');
    expect(canonicalize(sparse)).toBe(canonicalizeLib(sparse));
  });

  it('hashes UTF-8 bytes of the canonical text', () => {
    expect(canonicalBytes({ e: '\u00e9' }).toString('hex')).toBe('7b2265223a22c3a9227d');
  });

  const refused: Array<[string, unknown, string]> = [
    ['NaN', { a: Number.NaN }, '$.a'],
    ['Infinity', [1, Number.POSITIVE_INFINITY], '$[1]'],
    ['-Infinity', Number.NEGATIVE_INFINITY, '$'],
    ['undefined at the top', undefined, '$'],
    ['an undefined property', { a: { b: undefined } }, '$.a.b'],
    ['an undefined array item', [undefined], '$[0]'],
    ['a bigint', { n: 10n }, '$.n'],
    ['a function', { f: () => 1 }, '$.f'],
    ['a symbol', { s: Symbol('x') }, '$.s'],
    ['a lone high surrogate', { s: 'abc\ud800' }, '$.s'],
    ['a lone low surrogate in a key', { '\udc00': 1 }, '$'],
    ['a Date (not plain JSON)', { d: new Date(0) }, '$.d'],
    ['a Map', new Map(), '$'],
    ['a Buffer', { b: Buffer.from('x') }, '$.b'],
  ];
  for (const [what, value, path] of refused) {
    it(`refuses ${what}, naming where`, () => {
      let error: unknown;
      try {
        canonicalize(value);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CustodyError);
      expect((error as CustodyError).code).toBe('E_INTERNAL');
      expect((error as CustodyError).message).toContain(`cannot canonicalise ${path}`);
    });
  }
});

describe('ledger data normalisation', () => {
  it('drops undefined properties and turns Dates into ISO strings, like an SDK response needs', () => {
    const data = toJsonData({ requestId: undefined, startTime: new Date('2026-01-02T03:04:05.678Z'), nested: { a: 1, b: undefined } });
    expect(data).toEqual({ startTime: '2026-01-02T03:04:05.678Z', nested: { a: 1 } });
  });

  it('still refuses a NaN or an undefined array item instead of guessing', () => {
    expect(() => toJsonData({ size: Number.NaN })).toThrow(/\$\.size/);
    expect(() => toJsonData({ ids: ['a', undefined] })).toThrow(/\$\.ids\[1\]/);
  });
});
