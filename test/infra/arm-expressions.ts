/**
 * Test helper: what ARM does with the strings of the generated templates, for the handful of
 * forms scripts/generate-azure-infra.ts writes — `[[…` is the literal `[…`; `[concat(a, b, …)]`
 * joins string literals (`'…'`, `''` inside is a quote) and expressions; any other expression
 * is looked up, by its exact text, in the deployment's values (`variables('collectorRoleGuid')`,
 * `managementGroup().name`, `parameters('containerName')`). A string not starting with `[` is
 * itself. Unknown expressions throw, so the test never compares half-evaluated text.
 */
export type ArmValues = Record<string, string>;

function splitArguments(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let inQuote = false;
  let current = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (inQuote) {
      current += c;
      if (c === "'") {
        if (text[i + 1] === "'") {
          current += "'";
          i += 1;
        } else inQuote = false;
      }
      continue;
    }
    if (c === "'") inQuote = true;
    if (c === '(') depth += 1;
    if (c === ')') depth -= 1;
    if (c === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim()) args.push(current.trim());
  return args;
}

function evaluateExpression(expression: string, values: ArmValues): string {
  if (expression.startsWith("'") && expression.endsWith("'")) return expression.slice(1, -1).replace(/''/g, "'");
  const concat = /^concat\((.*)\)$/s.exec(expression);
  if (concat) return splitArguments(concat[1]!).map((a) => evaluateExpression(a, values)).join('');
  const known = values[expression];
  if (known === undefined) throw new Error(`no value for ARM expression ${expression}`);
  return known;
}

/** One template string as ARM hands it to the resource provider. */
export function evaluateArmString(text: string, values: ArmValues): string {
  if (text.startsWith('[[')) return text.slice(1);
  if (text.startsWith('[') && text.endsWith(']')) return evaluateExpression(text.slice(1, -1), values);
  return text;
}

/** A whole template value, every string through `evaluateArmString`. */
export function evaluateArm(value: unknown, values: ArmValues): unknown {
  if (typeof value === 'string') return evaluateArmString(value, values);
  if (Array.isArray(value)) return value.map((v) => evaluateArm(v, values));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluateArm(v, values)]));
  return value;
}
