/**
 * Test helper: the part of Azure Policy's `if` evaluation the collector-assignment policy uses
 * (MicrosoftDocs azure-docs governance/policy/concepts/definition-structure-policy-rule.md):
 * `allOf` / `anyOf` / `not`, `field` of `type` or a tag (`tags[name]`, also built with
 * `[concat('tags[', parameters('tagName'), ']')]`), operators `equals`, `in`, `like`; values
 * may be `[parameters('x')]`. Tag names compare case-insensitively, values exactly (as `equals`
 * on strings is case-insensitive in Policy, it compares lower-cased too).
 */
export interface PolicyParameter {
  type: string;
  defaultValue?: string;
  allowedValues?: string[];
}

export interface PolicyDefinition {
  properties: {
    displayName: string;
    policyType: string;
    mode: string;
    description: string;
    parameters: Record<string, PolicyParameter>;
    policyRule: {
      if: Record<string, unknown>;
      then: {
        effect: string;
        details: {
          type: string;
          roleDefinitionIds: string[];
          existenceCondition: unknown;
          deployment: {
            properties: {
              mode: string;
              template: { resources: Array<{ type: string; name: string; scope: string; apiVersion: string; properties: Record<string, string> }> };
              parameters: Record<string, { value: string }>;
            };
          };
        };
      };
    };
  };
}

export interface EvaluatedResource {
  type: string;
  tags: Record<string, string>;
}

export function evaluatePolicyIf(policy: PolicyDefinition, resource: EvaluatedResource, assigned: Record<string, string>): boolean {
  const parameter = (name: string): string => {
    const value = assigned[name] ?? policy.properties.parameters[name]?.defaultValue;
    if (value === undefined) throw new Error(`no value for parameter ${name}`);
    return value;
  };
  const expression = (value: string): string => {
    const param = /^\[parameters\('([^']+)'\)\]$/.exec(value);
    if (param) return parameter(param[1]!);
    const tag = /^\[concat\('tags\[', parameters\('([^']+)'\), '\]'\)\]$/.exec(value);
    if (tag) return `tags[${parameter(tag[1]!)}]`;
    if (value.startsWith('[') && !value.startsWith('[[')) throw new Error(`expression not supported by this helper: ${value}`);
    return value;
  };
  const field = (name: string): string | undefined => {
    const resolved = expression(name);
    if (resolved === 'type') return resource.type;
    const tag = /^tags\[(.+)\]$/.exec(resolved);
    if (tag) return Object.entries(resource.tags).find(([k]) => k.toLowerCase() === tag[1]!.toLowerCase())?.[1];
    throw new Error(`field not supported by this helper: ${resolved}`);
  };
  const condition = (node: Record<string, unknown>): boolean => {
    if (Array.isArray(node.allOf)) return (node.allOf as Record<string, unknown>[]).every(condition);
    if (Array.isArray(node.anyOf)) return (node.anyOf as Record<string, unknown>[]).some(condition);
    if (node.not) return !condition(node.not as Record<string, unknown>);
    const actual = field(String(node.field));
    if ('equals' in node) return actual !== undefined && actual.toLowerCase() === expression(String(node.equals)).toLowerCase();
    if ('in' in node) return actual !== undefined && (node.in as string[]).some((v) => v.toLowerCase() === actual.toLowerCase());
    if ('like' in node) {
      const pattern = new RegExp(`^${expression(String(node.like)).split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i');
      return actual !== undefined && pattern.test(actual);
    }
    throw new Error(`condition not supported by this helper: ${JSON.stringify(node)}`);
  };
  return condition(policy.properties.policyRule.if);
}
