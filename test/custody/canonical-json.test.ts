import { describe, expect, it } from 'vitest';
import { canonicalize, canonicalBytes } from '../../src/custody/canonical-json.js';
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
