/**
 * Azure role-assignment conditions (ABAC, condition version 2.0) as the lab evaluates them: the
 * subset of the grammar the shipped conditions use (policies/azure/soc-assignments.json), parsed
 * and evaluated the way Azure documents it (MicrosoftDocs azure-docs
 * role-based-access-control/conditions-format.md; storage/blobs/storage-auth-abac-attributes.md):
 *
 * - `ActionMatches{'<action>'}` (wildcards as in role definitions, case-insensitive),
 *   `SubOperationMatches{'<subOperation>'}`;
 * - `@Resource[…]`, `@Request[…]`, `@Environment[…]`, `@Principal[…]` attributes; names compare
 *   case-insensitively, values as the operator says (`StringEquals` is case-sensitive,
 *   `…IgnoreCase` is not; `StringLike` takes `*` and `?`);
 * - `!`/`NOT`, `AND`/`&&`, `OR`/`||`, parentheses; AND binds tighter than OR.
 *
 * An attribute the request does not carry cannot be evaluated, and Azure then fails the access
 * check (the attributes doc's reason for suboperations): so does `evaluateCondition` — `error`,
 * which a caller treats as "not granted". AND and OR short-circuit, which is what lets
 * `!(ActionMatches{…}) OR (<attribute test>)` skip the attribute for other actions.
 *
 * Pure on purpose (no I/O, no lab state): the lab's RBAC and a lab Blob Storage can both call it.
 */

export type ConditionNode =
  | { kind: 'and' | 'or'; left: ConditionNode; right: ConditionNode }
  | { kind: 'not'; operand: ConditionNode }
  | { kind: 'actionMatches'; pattern: string }
  | { kind: 'subOperationMatches'; subOperation: string }
  | { kind: 'compare'; attribute: string; operator: string; values: string[] };

export type ParsedCondition = { ok: true; node: ConditionNode } | { ok: false; error: string };

/** What a request brings to a condition: the data action, its suboperation, its attributes. */
export interface ConditionRequest {
  action: string;
  /** `Blob.List` for List Blobs; absent for every other operation. */
  subOperation?: string;
  /** Keyed `@Source[name]`, e.g. `@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]`. */
  attributes: Record<string, string>;
}

export type ConditionOutcome = { result: boolean } | { error: string };

const OPERATORS: Record<string, (actual: string, expected: string) => boolean> = {
  stringequals: (a, e) => a === e,
  stringequalsignorecase: (a, e) => a.toLowerCase() === e.toLowerCase(),
  stringnotequals: (a, e) => a !== e,
  stringnotequalsignorecase: (a, e) => a.toLowerCase() !== e.toLowerCase(),
  stringstartswith: (a, e) => a.startsWith(e),
  stringstartswithignorecase: (a, e) => a.toLowerCase().startsWith(e.toLowerCase()),
  stringnotstartswith: (a, e) => !a.startsWith(e),
  stringlike: (a, e) => like(e, false).test(a),
  stringlikeignorecase: (a, e) => like(e, true).test(a),
  stringnotlike: (a, e) => !like(e, false).test(a),
  guidequals: (a, e) => a.toLowerCase() === e.toLowerCase(),
  'foranyofanyvalues:guidequals': (a, e) => a.toLowerCase() === e.toLowerCase(),
  'foranyofanyvalues:stringequals': (a, e) => a === e,
};

const NEGATED = new Set(['stringnotequals', 'stringnotequalsignorecase', 'stringnotstartswith', 'stringnotlike']);

/** `StringLike`: `*` any run, `?` one character, `\*` and `\?` literal. */
function like(pattern: string, ignoreCase: boolean): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i]!;
    if (c === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '?')) {
      source += `\\${pattern[i + 1]}`;
      i += 1;
    } else if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else source += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
}

function actionPattern(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i');
}

/** The canonical key of an attribute: source as written, name lower-cased (names are case-insensitive). */
export function attributeKey(source: string, name: string): string {
  const s = source.replace(/^@/, '');
  return `@${s.charAt(0).toUpperCase()}${s.slice(1).toLowerCase()}[${name.toLowerCase()}]`;
}

type Token =
  | { t: 'paren'; v: '(' | ')' }
  | { t: 'not' }
  | { t: 'and' }
  | { t: 'or' }
  | { t: 'fn'; name: 'actionMatches' | 'subOperationMatches'; arg: string }
  | { t: 'attr'; key: string }
  | { t: 'op'; name: string }
  | { t: 'values'; v: string[] };

function unquote(text: string): string {
  const s = text.trim();
  return s.startsWith("'") && s.endsWith("'") ? s.slice(1, -1) : s;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const rest = () => text.slice(i);
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === '(' || c === ')') {
      tokens.push({ t: 'paren', v: c });
      i += 1;
      continue;
    }
    if (rest().startsWith('&&')) {
      tokens.push({ t: 'and' });
      i += 2;
      continue;
    }
    if (rest().startsWith('||')) {
      tokens.push({ t: 'or' });
      i += 2;
      continue;
    }
    if (c === '!') {
      tokens.push({ t: 'not' });
      i += 1;
      continue;
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated string at ${i}`);
      tokens.push({ t: 'values', v: [text.slice(i + 1, end)] });
      i = end + 1;
      continue;
    }
    if (c === '{') {
      const end = text.indexOf('}', i);
      if (end < 0) throw new Error(`unterminated value list at ${i}`);
      tokens.push({ t: 'values', v: text.slice(i + 1, end).split(',').map(unquote) });
      i = end + 1;
      continue;
    }
    if (c === '@') {
      const match = /^@(Resource|Request|Environment|Principal)\[([^\]]+)\]/i.exec(rest());
      if (!match) throw new Error(`malformed attribute at ${i}: ${rest().slice(0, 40)}`);
      tokens.push({ t: 'attr', key: attributeKey(match[1]!, match[2]!) });
      i += match[0].length;
      continue;
    }
    const fn = /^(ActionMatches|SubOperationMatches)\{\s*'([^']*)'\s*\}/i.exec(rest());
    if (fn) {
      tokens.push({ t: 'fn', name: fn[1]!.toLowerCase() === 'actionmatches' ? 'actionMatches' : 'subOperationMatches', arg: fn[2]! });
      i += fn[0].length;
      continue;
    }
    const word = /^[A-Za-z][A-Za-z:]*/.exec(rest());
    if (!word) throw new Error(`unexpected character '${c}' at ${i}`);
    const w = word[0];
    if (/^and$/i.test(w)) tokens.push({ t: 'and' });
    else if (/^or$/i.test(w)) tokens.push({ t: 'or' });
    else if (/^not$/i.test(w)) tokens.push({ t: 'not' });
    else if (w.toLowerCase() in OPERATORS) tokens.push({ t: 'op', name: w.toLowerCase() });
    else throw new Error(`unknown operator or keyword '${w}' at ${i}`);
    i += w.length;
  }
  return tokens;
}

/** Parses a condition; bad input is returned, never thrown. */
export function parseCondition(text: string): ParsedCondition {
  let tokens: Token[];
  try {
    tokens = tokenize(text);
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  let at = 0;
  const peek = () => tokens[at];
  const fail = (message: string): never => {
    throw new Error(`${message} (token ${at})`);
  };
  const parseOr = (): ConditionNode => {
    let left = parseAnd();
    while (peek()?.t === 'or') {
      at += 1;
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): ConditionNode => {
    let left = parseUnary();
    while (peek()?.t === 'and') {
      at += 1;
      left = { kind: 'and', left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): ConditionNode => {
    const token = peek();
    if (!token) return fail('condition ends early');
    if (token.t === 'not') {
      at += 1;
      return { kind: 'not', operand: parseUnary() };
    }
    if (token.t === 'paren' && token.v === '(') {
      at += 1;
      const inner = parseOr();
      const close = peek();
      if (!close || close.t !== 'paren' || close.v !== ')') fail('missing )');
      at += 1;
      return inner;
    }
    if (token.t === 'fn') {
      at += 1;
      return token.name === 'actionMatches' ? { kind: 'actionMatches', pattern: token.arg } : { kind: 'subOperationMatches', subOperation: token.arg };
    }
    if (token.t === 'attr') {
      const op = tokens[at + 1];
      const values = tokens[at + 2];
      if (op?.t !== 'op') return fail('an attribute must be followed by an operator');
      if (values?.t !== 'values') return fail(`operator ${op.name} needs a value`);
      at += 3;
      return { kind: 'compare', attribute: token.key, operator: op.name, values: values.v };
    }
    return fail(`unexpected ${token.t}`);
  };
  try {
    const node = parseOr();
    if (at !== tokens.length) fail('trailing input');
    return { ok: true, node };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

class Unevaluable extends Error {}

function evaluate(node: ConditionNode, request: ConditionRequest): boolean {
  switch (node.kind) {
    case 'and':
      return evaluate(node.left, request) && evaluate(node.right, request);
    case 'or':
      return evaluate(node.left, request) || evaluate(node.right, request);
    case 'not':
      return !evaluate(node.operand, request);
    case 'actionMatches':
      return actionPattern(node.pattern).test(request.action);
    case 'subOperationMatches':
      return request.subOperation !== undefined && request.subOperation.toLowerCase() === node.subOperation.toLowerCase();
    case 'compare': {
      const actual = Object.entries(request.attributes).find(([k]) => attributeKey(...splitKey(k)) === node.attribute)?.[1];
      if (actual === undefined) throw new Unevaluable(`attribute ${node.attribute} is not available for ${request.action}`);
      const test = OPERATORS[node.operator]!;
      // Negated operators must hold for every listed value; the others for at least one.
      return NEGATED.has(node.operator) ? node.values.every((v) => test(actual, v)) : node.values.some((v) => test(actual, v));
    }
  }
}

function splitKey(key: string): [string, string] {
  const match = /^@?([A-Za-z]+)\[(.*)\]$/.exec(key);
  return match ? [match[1]!, match[2]!] : ['', key];
}

/**
 * Evaluates a condition for one request: `{result}` when it could be evaluated, `{error}` when
 * it is malformed or needs an attribute the request does not carry (Azure denies then).
 */
export function evaluateCondition(condition: string, request: ConditionRequest): ConditionOutcome {
  const parsed = parseCondition(condition);
  if (!parsed.ok) return { error: `condition does not parse: ${parsed.error}` };
  try {
    return { result: evaluate(parsed.node, request) };
  } catch (error) {
    if (error instanceof Unevaluable) return { error: error.message };
    throw error;
  }
}

const CONTAINERS = 'Microsoft.Storage/storageAccounts/blobServices/containers';

/**
 * The resource attributes of a blob request, read from its ARM-style scope
 * `…/storageAccounts/A/blobServices/default/containers/C[/blobs/PATH]`: account name, container
 * name and (for a blob) the blob path without the container. Empty for any other scope.
 */
export function blobResourceAttributes(scope: string): Record<string, string> {
  const match = /\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)\/blobServices\/default\/containers\/([^/]+)(?:\/blobs\/(.+))?$/i.exec(scope);
  if (!match) return {};
  const attributes: Record<string, string> = {
    '@Resource[Microsoft.Storage/storageAccounts:name]': match[1]!,
    [`@Resource[${CONTAINERS}:name]`]: match[2]!,
  };
  if (match[3] !== undefined) attributes[`@Resource[${CONTAINERS}/blobs:path]`] = match[3];
  return attributes;
}
