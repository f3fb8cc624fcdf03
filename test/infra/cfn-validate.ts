/**
 * Test helper: a small CloudFormation template validator against the official resource provider
 * schemas (a vendored subset in `fixtures/cfn-resource-schemas.json`). It catches what a typo
 * breaks at deploy time: unknown resource types, unknown or read-only properties, missing
 * required ones, wrong primitive types and enum values, malformed intrinsic functions, and
 * `Ref`/`GetAtt`/`Fn::Sub`/`Condition` references to things the template does not define.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: unknown };

const fixture = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'cfn-resource-schemas.json'), 'utf8'),
) as { schemas: Record<string, Schema> };
export const RESOURCE_SCHEMAS = fixture.schemas;

const TOP_LEVEL = new Set(['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Mappings', 'Conditions', 'Resources', 'Outputs', 'Transform', 'Rules']);
const RESOURCE_ATTRIBUTES = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy', 'Metadata', 'CreationPolicy', 'UpdatePolicy']);
const DELETION_POLICIES = new Set(['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot']);
const PARAMETER_TYPES = new Set(['String', 'Number', 'List<Number>', 'CommaDelimitedList']);
const PARAMETER_ATTRIBUTES = new Set(['Type', 'Default', 'AllowedValues', 'AllowedPattern', 'Description', 'MinLength', 'MaxLength', 'MinValue', 'MaxValue', 'NoEcho', 'ConstraintDescription']);
const OUTPUT_ATTRIBUTES = new Set(['Value', 'Description', 'Export', 'Condition']);
const PSEUDO_PARAMETERS = new Set(['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);
const INTRINSICS = new Set(['Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::Join', 'Fn::If', 'Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or', 'Fn::Select', 'Fn::Split', 'Fn::Base64', 'Fn::GetAZs', 'Fn::ImportValue', 'Fn::FindInMap', 'Condition']);

interface Scope {
  parameters: Set<string>;
  resources: Map<string, { type: string; condition?: string }>;
  conditions: Set<string>;
}

function isObject(value: unknown): value is { [key: string]: Json } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function intrinsicName(value: Json): string | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  return keys.length === 1 && INTRINSICS.has(keys[0]!) && keys[0] !== 'Condition' ? keys[0] : undefined;
}

/** Attributes `Fn::GetAtt` may read: the schema's read-only properties. */
function attributesOf(type: string): Set<string> {
  const schema = RESOURCE_SCHEMAS[type];
  const readOnly = (schema?.readOnlyProperties as string[] | undefined) ?? [];
  return new Set(readOnly.map((p) => p.replace(/^\/properties\//, '').replaceAll('/', '.')));
}

/** Checks one intrinsic function (and what it contains); `where` names its place for messages. */
function checkIntrinsic(value: { [key: string]: Json }, where: string, scope: Scope, problems: string[], owner?: string): void {
  const name = Object.keys(value)[0]!;
  const arg = value[name]!;
  const refTarget = (target: string, at: string) => {
    if (PSEUDO_PARAMETERS.has(target) || scope.parameters.has(target)) return;
    const resource = scope.resources.get(target);
    if (!resource) problems.push(`${at}: refers to ${target}, which is neither a parameter nor a resource`);
    else checkConditional(target, at, scope, problems, owner);
  };
  switch (name) {
    case 'Ref':
      if (typeof arg !== 'string') problems.push(`${where}: Ref takes a name`);
      else refTarget(arg, where);
      return;
    case 'Fn::GetAtt': {
      const [resource, attribute] = typeof arg === 'string' ? arg.split('.', 2) : Array.isArray(arg) ? arg : [];
      if (typeof resource !== 'string' || typeof attribute !== 'string') {
        problems.push(`${where}: Fn::GetAtt takes [resource, attribute]`);
        return;
      }
      const target = scope.resources.get(resource);
      if (!target) problems.push(`${where}: Fn::GetAtt refers to ${resource}, which is not a resource`);
      else if (!attributesOf(target.type).has(attribute)) problems.push(`${where}: ${target.type} has no attribute ${attribute}`);
      else checkConditional(resource, where, scope, problems, owner);
      return;
    }
    case 'Fn::Sub': {
      const text = typeof arg === 'string' ? arg : Array.isArray(arg) && typeof arg[0] === 'string' ? arg[0] : undefined;
      const variables = Array.isArray(arg) && isObject(arg[1]) ? arg[1] : {};
      if (text === undefined) {
        problems.push(`${where}: Fn::Sub takes a string or [string, {variables}]`);
        return;
      }
      for (const match of text.matchAll(/\$\{([^}]*)\}/g)) {
        const expression = match[1]!;
        if (expression.startsWith('!')) continue; // a literal ${…} for IAM
        if (expression in variables) continue;
        if (expression.includes('.')) {
          const [resource, ...rest] = expression.split('.');
          checkIntrinsic({ 'Fn::GetAtt': [resource!, rest.join('.')] }, `${where} (Fn::Sub \${${expression}})`, scope, problems, owner);
        } else refTarget(expression, `${where} (Fn::Sub \${${expression}})`);
      }
      for (const [key, item] of Object.entries(variables)) checkValue(item, `${where}.${key}`, scope, problems, owner);
      return;
    }
    case 'Fn::If': {
      if (!Array.isArray(arg) || arg.length !== 3 || typeof arg[0] !== 'string') {
        problems.push(`${where}: Fn::If takes [condition, then, else]`);
        return;
      }
      if (!scope.conditions.has(arg[0])) problems.push(`${where}: Fn::If names an undefined condition ${arg[0]}`);
      // The `then` branch exists only when the condition holds: it may use that condition's resources.
      checkValue(arg[1]!, `${where}[1]`, scope, problems, `condition:${arg[0]}`);
      checkValue(arg[2]!, `${where}[2]`, scope, problems, owner);
      return;
    }
    case 'Fn::Equals':
      if (!Array.isArray(arg) || arg.length !== 2) problems.push(`${where}: Fn::Equals takes two values`);
      else arg.forEach((item, i) => checkValue(item, `${where}[${i}]`, scope, problems, owner));
      return;
    case 'Fn::Not':
      if (!Array.isArray(arg) || arg.length !== 1) problems.push(`${where}: Fn::Not takes one condition`);
      else checkValue(arg[0]!, `${where}[0]`, scope, problems, owner);
      return;
    case 'Fn::And':
    case 'Fn::Or':
      if (!Array.isArray(arg) || arg.length < 2 || arg.length > 10) problems.push(`${where}: ${name} takes 2 to 10 conditions`);
      else arg.forEach((item, i) => checkValue(item, `${where}[${i}]`, scope, problems, owner));
      return;
    case 'Fn::Join':
      if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string') problems.push(`${where}: Fn::Join takes [delimiter, [values]]`);
      else checkValue(arg[1]!, `${where}[1]`, scope, problems, owner);
      return;
    default:
      checkValue(arg, `${where}.${name}`, scope, problems, owner);
  }
}

/** A resource that exists only under a condition may be used only under the same condition. */
function checkConditional(target: string, where: string, scope: Scope, problems: string[], owner?: string): void {
  const condition = scope.resources.get(target)?.condition;
  if (!condition || owner === undefined) return;
  const ownerCondition = owner.startsWith('condition:') ? owner.slice('condition:'.length) : undefined;
  if (ownerCondition !== condition) problems.push(`${where}: uses ${target}, which exists only when ${condition}, outside that condition`);
}

/** Walks any value for intrinsic functions. */
function checkValue(value: Json, where: string, scope: Scope, problems: string[], owner?: string): void {
  if (intrinsicName(value)) return checkIntrinsic(value as { [key: string]: Json }, where, scope, problems, owner);
  if (Array.isArray(value)) value.forEach((item, i) => checkValue(item, `${where}[${i}]`, scope, problems, owner));
  else if (isObject(value)) for (const [key, item] of Object.entries(value)) checkValue(item, `${where}.${key}`, scope, problems, owner);
}

function resolveRef(schema: Schema, root: Schema): Schema {
  let current = schema;
  for (let i = 0; i < 10 && typeof current.$ref === 'string'; i++) {
    const path = (current.$ref as string).replace(/^#\//, '').split('/');
    let target: unknown = root;
    for (const part of path) target = (target as Record<string, unknown>)[part];
    current = { ...(target as Schema), ...Object.fromEntries(Object.entries(current).filter(([k]) => k !== '$ref')) };
  }
  return current;
}

const JSON_TYPES: Record<string, (v: Json) => boolean> = {
  string: (v) => typeof v === 'string',
  integer: (v) => (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v)),
  number: (v) => typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))),
  boolean: (v) => typeof v === 'boolean' || v === 'true' || v === 'false',
  object: (v) => isObject(v),
  array: (v) => Array.isArray(v),
};

/** Validates a literal value against a property schema. Intrinsics are checked elsewhere. */
function checkAgainstSchema(value: Json, schema: Schema, root: Schema, where: string, problems: string[]): void {
  if (intrinsicName(value)) return;
  const resolved = resolveRef(schema, root);
  const alternatives = (resolved.oneOf ?? resolved.anyOf) as Schema[] | undefined;
  if (alternatives) {
    const attempts = alternatives.map((alt) => {
      const found: string[] = [];
      checkAgainstSchema(value, { ...Object.fromEntries(Object.entries(resolved).filter(([k]) => k !== 'oneOf' && k !== 'anyOf')), ...alt }, root, where, found);
      return found;
    });
    if (!attempts.some((found) => found.length === 0)) problems.push(...(attempts[0] ?? []));
    return;
  }
  const types = resolved.type === undefined ? [] : ([] as string[]).concat(resolved.type as string | string[]);
  if (types.length > 0 && !types.some((t) => JSON_TYPES[t]?.(value))) {
    problems.push(`${where}: expected ${types.join(' or ')}, got ${JSON.stringify(value).slice(0, 60)}`);
    return;
  }
  if (Array.isArray(resolved.enum) && typeof value !== 'object' && !resolved.enum.includes(value)) {
    problems.push(`${where}: ${JSON.stringify(value)} is not one of ${JSON.stringify(resolved.enum)}`);
  }
  if (Array.isArray(value) && resolved.items) {
    value.forEach((item, i) => checkAgainstSchema(item, resolved.items as Schema, root, `${where}[${i}]`, problems));
  }
  if (isObject(value) && resolved.properties && !types.includes('string')) {
    checkObject(value, resolved, root, where, problems);
  }
}

function checkObject(value: { [key: string]: Json }, schema: Schema, root: Schema, where: string, problems: string[], readOnly = new Set<string>()): void {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const [key, item] of Object.entries(value)) {
    const property = properties[key];
    if (!property) {
      if (schema.additionalProperties === false) problems.push(`${where}: unknown property ${key}`);
      continue;
    }
    if (readOnly.has(key)) problems.push(`${where}: ${key} is read-only`);
    checkAgainstSchema(item, property, root, `${where}.${key}`, problems);
  }
  for (const required of (schema.required as string[] | undefined) ?? []) {
    if (!(required in value)) problems.push(`${where}: missing required property ${required}`);
  }
}

/**
 * Returns every problem found in `template` (empty when valid).
 *
 * @example expect(validateTemplate(JSON.parse(text))).toEqual([])
 */
export function validateTemplate(template: { [key: string]: Json }): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(template)) if (!TOP_LEVEL.has(key)) problems.push(`unknown top-level section ${key}`);
  const parameters = isObject(template.Parameters) ? template.Parameters : {};
  const resources = isObject(template.Resources) ? template.Resources : {};
  const conditions = isObject(template.Conditions) ? template.Conditions : {};
  const outputs = isObject(template.Outputs) ? template.Outputs : {};
  if (Object.keys(resources).length === 0) problems.push('a template needs at least one resource');

  const scope: Scope = {
    parameters: new Set(Object.keys(parameters)),
    resources: new Map(),
    conditions: new Set(Object.keys(conditions)),
  };
  for (const [name, resource] of Object.entries(resources)) {
    if (!isObject(resource) || typeof resource.Type !== 'string') {
      problems.push(`Resources.${name}: needs a Type`);
      continue;
    }
    scope.resources.set(name, { type: resource.Type, ...(typeof resource.Condition === 'string' ? { condition: resource.Condition } : {}) });
  }

  for (const [name, parameter] of Object.entries(parameters)) {
    if (!isObject(parameter)) continue;
    for (const key of Object.keys(parameter)) if (!PARAMETER_ATTRIBUTES.has(key)) problems.push(`Parameters.${name}: unknown attribute ${key}`);
    const type = parameter.Type;
    if (typeof type !== 'string' || !(PARAMETER_TYPES.has(type) || type.startsWith('AWS::'))) problems.push(`Parameters.${name}: invalid Type ${JSON.stringify(type)}`);
    if (Array.isArray(parameter.AllowedValues) && parameter.Default !== undefined && !parameter.AllowedValues.includes(parameter.Default)) {
      problems.push(`Parameters.${name}: Default is not among AllowedValues`);
    }
    if (typeof parameter.AllowedPattern === 'string' && typeof parameter.Default === 'string' && !new RegExp(parameter.AllowedPattern).test(parameter.Default)) {
      problems.push(`Parameters.${name}: Default does not match AllowedPattern`);
    }
  }

  for (const [name, condition] of Object.entries(conditions)) checkValue(condition, `Conditions.${name}`, scope, problems);

  for (const [name, resource] of Object.entries(resources)) {
    if (!isObject(resource) || typeof resource.Type !== 'string') continue;
    const where = `Resources.${name}`;
    for (const key of Object.keys(resource)) if (!RESOURCE_ATTRIBUTES.has(key)) problems.push(`${where}: unknown resource attribute ${key}`);
    for (const policy of ['DeletionPolicy', 'UpdateReplacePolicy'] as const) {
      if (resource[policy] !== undefined && !DELETION_POLICIES.has(resource[policy] as string)) problems.push(`${where}: invalid ${policy} ${JSON.stringify(resource[policy])}`);
    }
    if (typeof resource.Condition === 'string' && !scope.conditions.has(resource.Condition)) problems.push(`${where}: undefined condition ${resource.Condition}`);
    for (const dependency of ([] as Json[]).concat(resource.DependsOn ?? [])) {
      if (typeof dependency !== 'string' || !scope.resources.has(dependency)) problems.push(`${where}: DependsOn ${JSON.stringify(dependency)} is not a resource`);
    }
    const schema = RESOURCE_SCHEMAS[resource.Type];
    if (!schema) {
      problems.push(`${where}: unknown resource type ${resource.Type}`);
      continue;
    }
    const properties = isObject(resource.Properties) ? resource.Properties : {};
    const readOnly = new Set(((schema.readOnlyProperties as string[] | undefined) ?? []).map((p) => p.replace(/^\/properties\//, '')));
    checkObject(properties, schema, schema, `${where}.Properties`, problems, readOnly);
    const owner = typeof resource.Condition === 'string' ? `condition:${resource.Condition}` : 'unconditional';
    checkValue(properties, `${where}.Properties`, scope, problems, owner);
  }

  for (const [name, output] of Object.entries(outputs)) {
    if (!isObject(output)) continue;
    for (const key of Object.keys(output)) if (!OUTPUT_ATTRIBUTES.has(key)) problems.push(`Outputs.${name}: unknown attribute ${key}`);
    if (output.Value === undefined) problems.push(`Outputs.${name}: needs a Value`);
    if (typeof output.Condition === 'string' && !scope.conditions.has(output.Condition)) problems.push(`Outputs.${name}: undefined condition ${output.Condition}`);
    const owner = typeof output.Condition === 'string' ? `condition:${output.Condition}` : 'unconditional';
    checkValue(output.Value ?? null, `Outputs.${name}.Value`, scope, problems, owner);
  }
  return problems;
}
