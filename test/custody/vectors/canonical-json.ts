/**
 * Hand-written RFC 8785 vectors: JSON text in, canonical text out. Inputs are JSON text (not JS
 * values) so number forms like `1E+2` and `-0` reach the canonicaliser as a parser produces them.
 */
export interface CanonicalVector {
  name: string;
  input: string;
  expected: string;
}

export const CANONICAL_VECTORS: CanonicalVector[] = [
  {
    name: 'whitespace is removed and object keys are sorted at every depth',
    input: '{ "b": [ 3, { "z": null, "a": true } ],\n  "a": { }, "c": [ ] }',
    expected: '{"a":{},"b":[3,{"a":true,"z":null}],"c":[]}',
  },
  {
    name: 'keys sort by UTF-16 code units: uppercase before lowercase, prefixes first',
    input: '{"b":1,"ab":2,"a":3,"aa":4,"B":5}',
    expected: '{"B":5,"a":3,"aa":4,"ab":2,"b":1}',
  },
  {
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB33 although its code point
    // is larger: the RFC orders by UTF-16 code units, not by code points or UTF-8 bytes.
    name: 'keys outside the BMP sort by their surrogates',
    input: '{"\\ufb33":"dalet","\\ud83d\\ude00":"smile","\\u20ac":"euro","\\u00f6":"o","\\u0080":"pad","1":"one","\\r":"cr"}',
    expected: '{"\\r":"cr","1":"one","\u0080":"pad","\u00f6":"o","\u20ac":"euro","\ud83d\ude00":"smile","\ufb33":"dalet"}',
  },
  {
    name: 'numbers use the ECMAScript shortest round-trip form',
    input: '[1e21, 1e20, 1e-7, 1e-6, -0, 0.0, 1E+2, 0.1, 5e-324, 1.7976931348623157e308, -1.5e-10, 0.000001234, 100.50]',
    expected: '[1e+21,100000000000000000000,1e-7,0.000001,0,0,100,0.1,5e-324,1.7976931348623157e+308,-1.5e-10,0.000001234,100.5]',
  },
  {
    name: 'integers beyond 2^53 are whatever the IEEE double holds',
    input: '[9007199254740993, 123456789012345678901, 333333333.33333329]',
    expected: '[9007199254740992,123456789012345680000,333333333.3333333]',
  },
  {
    name: 'strings escape only quote, backslash and control characters, in lowercase hex',
    input: '"\\u0000\\u001F\\b\\f\\n\\r\\t\\"\\\\\\/\\u007f\\u00e9\\u2028\\ud83d\\ude00"',
    expected: '"\\u0000\\u001f\\b\\f\\n\\r\\t\\"\\\\/\u007f\u00e9\u2028\ud83d\ude00"',
  },
  {
    name: 'literals and empty containers',
    input: '[true, false, null, "", {}, []]',
    expected: '[true,false,null,"",{},[]]',
  },
];
