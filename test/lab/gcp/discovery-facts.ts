/**
 * Test helper: holds lab requests and answers to the Resource Manager facts restated from Google's
 * discovery document (resource-manager-facts.json): a method's HTTP method, flat path and query
 * parameters, and each schema's fields with their JSON types (`string`, `boolean`, `int32`,
 * `object`, a schema name, or any of them with `[]` for an array), plus the documented name formats.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabGcpRequest } from '../../../src/lab/gcp/index.js';
import { pathFitsTemplate } from './proto-schema.js';

export interface RmMethod {
  httpMethod: string;
  flatPath: string;
  query: string[];
  requiredQuery?: string[];
  request?: string;
  response: string;
}

export interface RmFacts {
  rootUrl: string;
  locationRootUrl: string;
  endpointOf: Record<string, 'zone' | 'global'>;
  standardQuery: string[];
  methods: Record<string, RmMethod>;
  schemas: Record<string, Record<string, string>>;
  formats: Record<string, string>;
}

export const RM_FACTS = JSON.parse(readFileSync(join(import.meta.dirname, 'resource-manager-facts.json'), 'utf8')) as RmFacts;

const SCALARS: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  boolean: (v) => typeof v === 'boolean',
  int32: (v) => Number.isInteger(v) && Math.abs(v as number) < 2 ** 31,
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
};

/** Every problem found, as `path: what`; empty when the value fits the schema and its formats. */
export function validateSchema(schema: string, value: unknown, facts: RmFacts = RM_FACTS, at = schema): string[] {
  const fields = facts.schemas[schema];
  if (!fields) return [`${at}: ${schema} is not a schema in the facts`];
  if (!SCALARS.object!(value)) return [`${at}: expected an object for ${schema}`];
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const type = fields[key];
    if (!type) {
      problems.push(`${at}.${key}: no field "${key}" in ${schema}`);
      continue;
    }
    const format = facts.formats[`${schema}.${key}`];
    if (format?.startsWith('^') && typeof v === 'string' && !new RegExp(format).test(v)) problems.push(`${at}.${key}: "${v}" does not match ${format}`);
    if (type.endsWith('[]')) {
      if (!Array.isArray(v)) problems.push(`${at}.${key}: an array of ${type.slice(0, -2)} expected`);
      else v.forEach((item, i) => problems.push(...validateValue(type.slice(0, -2), item, facts, `${at}.${key}[${i}]`)));
    } else problems.push(...validateValue(type, v, facts, `${at}.${key}`));
  }
  return problems;
}

function validateValue(type: string, value: unknown, facts: RmFacts, at: string): string[] {
  const scalar = SCALARS[type];
  if (scalar) return scalar(value) ? [] : [`${at}: ${type} expected, got ${JSON.stringify(value)}`];
  return validateSchema(type, value, facts, at);
}

/** Whether a request fits its method: HTTP method, path, documented query parameters, request body. */
export function requestProblems(request: Pick<LabGcpRequest, 'api' | 'method' | 'path' | 'query' | 'body'>, facts: RmFacts = RM_FACTS): string[] {
  const method = facts.methods[request.api];
  if (!method) return [`${request.api} is not a Resource Manager method in the facts`];
  const problems: string[] = [];
  if (request.method !== method.httpMethod) problems.push(`${request.api}: ${request.method} but the method is ${method.httpMethod}`);
  if (!pathFitsTemplate(request.path, `/${method.flatPath}`)) problems.push(`${request.api}: path ${request.path} does not fit /${method.flatPath}`);
  for (const key of Object.keys(request.query)) {
    if (!method.query.includes(key) && !facts.standardQuery.includes(key)) problems.push(`${request.api}: query parameter "${key}" is not documented`);
  }
  for (const key of method.requiredQuery ?? []) if (!request.query[key]) problems.push(`${request.api}: required query parameter "${key}" missing`);
  if (method.request) problems.push(...validateSchema(method.request, request.body ?? {}, facts));
  else if (request.body !== undefined) problems.push(`${request.api}: the method takes no request body`);
  return problems;
}
