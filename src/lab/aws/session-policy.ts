/**
 * A small evaluator for inline session policies (the JSON passed to AssumeRole as `Policy`): a
 * session can do only what both its role and this policy allow. It understands Allow/Deny,
 * Action/NotAction, Resource/NotResource with `*`/`?` wildcards, and the common string, ARN,
 * Bool and Null condition operators (with `IfExists`, `ForAllValues:`, `ForAnyValue:`). An
 * operator it does not know never matches, so an unsupported policy denies rather than allows.
 */

type Context = Record<string, string | string[]>;

interface Statement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

function asList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, ignoreCase ? 'i' : '').test(value);
}

function lookup(context: Context, key: string): string[] | undefined {
  const found = Object.keys(context).find((k) => k.toLowerCase() === key.toLowerCase());
  if (found === undefined) return undefined;
  return asList(context[found]);
}

function matchOne(operator: string, policyValue: string, value: string): boolean | undefined {
  switch (operator) {
    case 'StringEquals':
    case 'ArnEquals':
      return policyValue === value;
    case 'StringEqualsIgnoreCase':
      return policyValue.toLowerCase() === value.toLowerCase();
    case 'StringLike':
    case 'ArnLike':
      return wildcard(policyValue, value, false);
    case 'Bool':
      return policyValue.toLowerCase() === value.toLowerCase();
    default:
      return undefined;
  }
}

const NEGATED: Record<string, string> = {
  StringNotEquals: 'StringEquals',
  StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
  StringNotLike: 'StringLike',
  ArnNotEquals: 'ArnEquals',
  ArnNotLike: 'ArnLike',
};

function conditionHolds(rawOperator: string, key: string, policyValues: string[], context: Context): boolean {
  let operator = rawOperator;
  let set: 'all' | 'any' | undefined;
  if (operator.startsWith('ForAllValues:')) {
    set = 'all';
    operator = operator.slice('ForAllValues:'.length);
  } else if (operator.startsWith('ForAnyValue:')) {
    set = 'any';
    operator = operator.slice('ForAnyValue:'.length);
  }
  const ifExists = operator.endsWith('IfExists');
  if (ifExists) operator = operator.slice(0, -'IfExists'.length);
  const values = lookup(context, key);

  if (operator === 'Null') {
    const wantsAbsent = policyValues.some((v) => v.toLowerCase() === 'true');
    return wantsAbsent ? values === undefined : values !== undefined;
  }
  const negated = NEGATED[operator];
  const base = negated ?? operator;
  if (matchOne(base, '', '') === undefined) return false;
  const matches = (value: string) => policyValues.some((p) => matchOne(base, p, value) === true);

  if (values === undefined || values.length === 0) {
    if (set === 'all') return true;
    if (ifExists) return true;
    return negated !== undefined;
  }
  let result: boolean;
  if (set === 'all') result = values.every(matches);
  else result = values.some(matches);
  return negated ? !result : result;
}

function statementApplies(statement: Statement, action: string, resource: string, context: Context): boolean {
  const actionHit = statement.Action !== undefined
    ? asList(statement.Action).some((a) => wildcard(a, action, true))
    : statement.NotAction !== undefined && !asList(statement.NotAction).some((a) => wildcard(a, action, true));
  if (!actionHit) return false;
  const resourceHit = statement.Resource !== undefined
    ? asList(statement.Resource).some((r) => wildcard(r, resource, false))
    : statement.NotResource !== undefined && !asList(statement.NotResource).some((r) => wildcard(r, resource, false));
  if (!resourceHit) return false;
  for (const [operator, block] of Object.entries(statement.Condition ?? {})) {
    for (const [key, value] of Object.entries(block)) {
      if (!conditionHolds(operator, key, asList(value).map(String), context)) return false;
    }
  }
  return true;
}

export type SessionPolicyResult = 'allowed' | 'implicit-deny' | 'explicit-deny';

/** Evaluates `action` on `resource` against a session policy document (JSON text). */
export function evaluateSessionPolicy(policy: string, action: string, resource: string, context: Context): SessionPolicyResult {
  let document: { Statement?: Statement | Statement[] };
  try {
    document = JSON.parse(policy) as { Statement?: Statement | Statement[] };
  } catch {
    return 'implicit-deny';
  }
  const statements = asList(document.Statement);
  if (statements.some((s) => s.Effect === 'Deny' && statementApplies(s, action, resource, context))) return 'explicit-deny';
  return statements.some((s) => s.Effect === 'Allow' && statementApplies(s, action, resource, context)) ? 'allowed' : 'implicit-deny';
}
