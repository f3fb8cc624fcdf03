/**
 * Test helper: validates JSON against the Compute Engine v1 messages in the protos that ship in
 * @google-cloud/compute (`build/protos/protos.json`), with the proto3 JSON mapping Compute uses:
 * 64-bit integers as decimal strings, enums-as-strings checked against the message's nested enum
 * of the same name (`Snapshot.status` → `Snapshot.Status`), maps as objects, repeated as arrays.
 */
import { createRequire } from 'node:module';

interface ProtoField {
  type: string;
  rule?: 'repeated';
  keyType?: string;
}
interface ProtoType {
  fields?: Record<string, ProtoField>;
  values?: Record<string, number>;
  nested?: Record<string, ProtoType>;
  methods?: Record<string, { requestType: string; responseType: string; options?: Record<string, string> }>;
}

export const PROTOS_PATH = '@google-cloud/compute/build/protos/protos.json';
const root = createRequire(import.meta.url)(PROTOS_PATH) as { nested: Record<string, ProtoType> };
export const COMPUTE_V1 = root.nested.google!.nested!.cloud!.nested!.compute!.nested!.v1!.nested!;

const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function lookup(name: string): ProtoType | undefined {
  const short = name.replace(/^\.?google\.cloud\.compute\.v1\./, '');
  return COMPUTE_V1[short];
}

/** Every problem found, as `path: what`; empty when the value fits the message. */
export function validateMessage(typeName: string, value: unknown, path = typeName): string[] {
  const type = lookup(typeName);
  if (!type?.fields) return [`${path}: ${typeName} is not a message in ${PROTOS_PATH}`];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected an object for ${typeName}`];
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key];
    if (!field) {
      problems.push(`${path}.${key}: no field "${key}" in ${typeName}`);
      continue;
    }
    const check = (item: unknown, at: string) => problems.push(...validateValue(type, key, field, item, at));
    if (field.keyType) {
      if (typeof v !== 'object' || v === null) problems.push(`${path}.${key}: a map must be an object`);
      else for (const [k, item] of Object.entries(v)) check(item, `${path}.${key}[${k}]`);
    } else if (field.rule === 'repeated') {
      if (!Array.isArray(v)) problems.push(`${path}.${key}: a repeated field must be an array`);
      else v.forEach((item, i) => check(item, `${path}.${key}[${i}]`));
    } else check(v, `${path}.${key}`);
  }
  return problems;
}

function validateValue(owner: ProtoType, key: string, field: ProtoField, value: unknown, at: string): string[] {
  if (INT64.has(field.type)) return typeof value === 'string' && /^-?\d+$/.test(value) ? [] : [`${at}: ${field.type} must be a decimal string, got ${JSON.stringify(value)}`];
  if (INT32.has(field.type)) return Number.isInteger(value) ? [] : [`${at}: ${field.type} must be an integer`];
  if (field.type === 'bool') return typeof value === 'boolean' ? [] : [`${at}: bool expected`];
  if (field.type === 'double' || field.type === 'float') return typeof value === 'number' ? [] : [`${at}: number expected`];
  if (field.type === 'string') {
    if (typeof value !== 'string') return [`${at}: string expected`];
    // Compute's enums travel as strings; the allowed names are the nested enum of the field's name.
    const enumType = owner.nested?.[pascal(key)];
    if (enumType?.values && !(value in enumType.values)) return [`${at}: "${value}" is not a value of ${pascal(key)} (${Object.keys(enumType.values).join(', ')})`];
    return [];
  }
  const nestedEnum = owner.nested?.[field.type];
  if (nestedEnum?.values) {
    return typeof value === 'string' && value in nestedEnum.values ? [] : [`${at}: ${JSON.stringify(value)} is not a value of ${field.type}`];
  }
  if (field.type === 'bytes') return typeof value === 'string' ? [] : [`${at}: bytes are base64 strings`];
  return validateMessage(field.type, value, at);
}

/** `compute.snapshots.insert` → the proto method (`Snapshots.Insert`) with its HTTP rule. */
export function protoMethodOf(api: string): { service: string; method: string; responseType: string; httpMethod: string; template: string } | undefined {
  const [, collection = '', verb = ''] = api.split('.');
  const service = COMPUTE_V1[pascal(collection)];
  const method = service?.methods?.[pascal(verb)];
  if (!method?.options) return undefined;
  const rule = Object.entries(method.options).find(([k]) => /^\(google\.api\.http\)\.(get|post|delete|patch|put)$/.test(k));
  if (!rule) return undefined;
  return {
    service: pascal(collection),
    method: pascal(verb),
    responseType: method.responseType,
    httpMethod: rule[0].replace('(google.api.http).', '').toUpperCase(),
    template: rule[1],
  };
}

/** Whether a request path fits an HTTP rule or discovery flat-path template (`/compute/v1/projects/{project}/…`, `/v3/projects/{projectsId}:…`). */
export function pathFitsTemplate(path: string, template: string): boolean {
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[A-Za-z_]+\\?\}|\{[A-Za-z_]+\}/g, '[^/]+');
  return new RegExp(`^${pattern}$`).test(path);
}
