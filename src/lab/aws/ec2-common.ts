/**
 * Shared EC2 pieces: the response envelope, ARNs, Describe* filters and paging, tag
 * specifications, DryRun, and id lookups that fail with EC2's own NotFound codes.
 */
import type { CallContext, HandlerResult } from './context.js';
import { dryRunSucceeded, invalidParameterValue, LabAwsError, missingParameter } from './errors.js';
import { getBoolean, getList, getString, type QueryTree } from './query.js';
import type { LabInstance, LabSnapshot, LabVolume, Tags } from './state.js';
import { renderDocument, type XmlChild } from './xml.js';

const NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** `<ActionResponse xmlns=…><requestId/>…</ActionResponse>` */
export function respond(call: CallContext, action: string, children: XmlChild[]): HandlerResult {
  return {
    contentType: 'text/xml;charset=UTF-8',
    body: renderDocument(`${action}Response`, NAMESPACE, [['requestId', call.requestId], ...children]),
  };
}

export const instanceArn = (i: LabInstance): string => `arn:aws:ec2:${i.region}:${i.ownerId}:instance/${i.id}`;
export const volumeArn = (v: LabVolume): string => `arn:aws:ec2:${v.region}:${v.ownerId}:volume/${v.id}`;
/** Snapshot ARNs carry no account. */
export const snapshotArn = (region: string, id: string): string => `arn:aws:ec2:${region}::snapshot/${id}`;

/** After authorization: a permitted DryRun ends here, as in EC2. */
export function endIfDryRun(params: QueryTree): void {
  if (getBoolean(params, 'DryRun')) throw dryRunSucceeded();
}

export function requireString(params: QueryTree, name: string): string {
  const value = getString(params, name);
  if (value === undefined || value === '') throw missingParameter(name);
  return value;
}

// ---------- filters ----------

export interface Filter {
  name: string;
  values: string[];
}

export function parseFilters(params: QueryTree): Filter[] {
  return getList(params, 'Filter').flatMap((entry) => {
    if (typeof entry !== 'object' || typeof entry.Name !== 'string') return [];
    const values = typeof entry.Value === 'object' ? Object.values(entry.Value).filter((v): v is string => typeof v === 'string') : [];
    return [{ name: entry.Name, values }];
  });
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** Values a resource has for the tag filters (`tag:K`, `tag-key`, `tag-value`). */
export function tagFilterValues(name: string, tags: Tags): string[] | undefined {
  if (name.startsWith('tag:')) {
    const value = tags[name.slice(4)];
    return value === undefined ? [] : [value];
  }
  if (name === 'tag-key') return Object.keys(tags);
  if (name === 'tag-value') return Object.values(tags);
  return undefined;
}

/**
 * Filters are ANDed, a filter's values ORed, `*` and `?` are wildcards. `valuesOf` returns the
 * resource's values for a filter name; a name outside `known` (and not a tag filter) is refused
 * as EC2 refuses it, whether or not anything would match.
 */
export function applyFilters<T>(
  items: T[],
  filters: Filter[],
  known: readonly string[],
  valuesOf: (item: T, name: string) => string[] | undefined,
): T[] {
  for (const filter of filters) {
    if (!known.includes(filter.name) && tagFilterValues(filter.name, {}) === undefined) {
      throw invalidParameterValue(`The filter '${filter.name}' is invalid`);
    }
  }
  return items.filter((item) =>
    filters.every((filter) => {
      const have = valuesOf(item, filter.name) ?? [];
      return filter.values.some((want) => {
        const re = wildcard(want);
        return have.some((value) => re.test(value));
      });
    }),
  );
}

// ---------- paging ----------

/**
 * MaxResults / NextToken. The token is opaque to callers; here it encodes the action and offset
 * so a token from another action is refused.
 */
export interface PagingOptions {
  action: string;
  min: number;
  max: number;
  idsGiven: boolean;
  idsParameter: string;
}

/**
 * Checks MaxResults / NextToken before anything is looked up (EC2 validates parameters first) and
 * returns where the page starts and how long it is.
 */
export function validatePaging(params: QueryTree, options: PagingOptions): { offset: number; max?: number } {
  const maxText = getString(params, 'MaxResults');
  const token = getString(params, 'NextToken');
  let offset = 0;
  if (token) {
    try {
      const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { a?: string; o?: number };
      if (decoded.a !== options.action || typeof decoded.o !== 'number') throw new Error('foreign token');
      offset = decoded.o;
    } catch {
      throw invalidParameterValue(`Invalid value '${token}' for NextToken`);
    }
  }
  if (maxText === undefined) return { offset };
  if (options.idsGiven) {
    throw new LabAwsError(
      'InvalidParameterCombination',
      `The parameter ${options.idsParameter} cannot be used with the parameter maxResults`,
      400,
    );
  }
  const max = Number(maxText);
  if (!Number.isInteger(max) || max < options.min || max > options.max) {
    throw invalidParameterValue(
      `Value ( ${maxText} ) for parameter maxResults is invalid. Expecting a value between ${options.min} and ${options.max}.`,
    );
  }
  return { offset, max };
}

/**
 * MaxResults / NextToken. The token is opaque to callers; here it encodes the action and offset
 * so a token from another action is refused.
 */
export function paginate<T>(items: T[], params: QueryTree, options: PagingOptions): { page: T[]; nextToken?: string } {
  const { offset, max } = validatePaging(params, options);
  if (max === undefined) return { page: items.slice(offset) };
  const page = items.slice(offset, offset + max);
  const next = offset + max;
  return next < items.length
    ? { page, nextToken: Buffer.from(JSON.stringify({ a: options.action, o: next })).toString('base64url') }
    : { page };
}

// ---------- tags on create ----------

/** Tags for `resourceType` from `TagSpecification.N`, validated as EC2 does. */
export function parseTagSpecifications(params: QueryTree, resourceType: string): Tags {
  const tags: Tags = {};
  for (const spec of getList(params, 'TagSpecification')) {
    if (typeof spec !== 'object') continue;
    const type = typeof spec.ResourceType === 'string' ? spec.ResourceType : undefined;
    if (!type) throw missingParameter('TagSpecification.ResourceType');
    if (type !== resourceType) {
      throw invalidParameterValue(`'${type}' is not a valid taggable resource type for this operation.`);
    }
    for (const tag of getList(spec, 'Tag')) {
      if (typeof tag !== 'object' || typeof tag.Key !== 'string') continue;
      if (tag.Key.toLowerCase().startsWith('aws:')) {
        throw invalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use");
      }
      tags[tag.Key] = typeof tag.Value === 'string' ? tag.Value : '';
    }
  }
  if (Object.keys(tags).length > 50) throw new LabAwsError('TagLimitExceeded', 'The maximum number of tags per resource is 50.', 400);
  return tags;
}

// ---------- lookups ----------

const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;
const VOLUME_ID = /^vol-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SNAPSHOT_ID = /^snap-([0-9a-f]{8}|[0-9a-f]{17})$/;

function notFoundError(kind: 'instance' | 'volume' | 'snapshot', ids: string[]): LabAwsError {
  if (kind === 'instance') {
    return ids.length === 1
      ? new LabAwsError('InvalidInstanceID.NotFound', `The instance ID '${ids[0]}' does not exist`)
      : new LabAwsError('InvalidInstanceID.NotFound', `The instance IDs '${ids.join(', ')}' do not exist`);
  }
  if (kind === 'volume') {
    return ids.length === 1
      ? new LabAwsError('InvalidVolume.NotFound', `The volume '${ids[0]}' does not exist.`)
      : new LabAwsError('InvalidVolume.NotFound', `The volumes '${ids.join(', ')}' do not exist.`);
  }
  return ids.length === 1
    ? new LabAwsError('InvalidSnapshot.NotFound', `The snapshot '${ids[0]}' does not exist.`)
    : new LabAwsError('InvalidSnapshot.NotFound', `The snapshots '${ids.join(', ')}' do not exist.`);
}

function checkMalformed(kind: 'instance' | 'volume' | 'snapshot', ids: string[]): void {
  const pattern = kind === 'instance' ? INSTANCE_ID : kind === 'volume' ? VOLUME_ID : SNAPSHOT_ID;
  const code = kind === 'instance' ? 'InvalidInstanceID.Malformed' : kind === 'volume' ? 'InvalidVolumeID.Malformed' : 'InvalidSnapshotID.Malformed';
  for (const id of ids) if (!pattern.test(id)) throw new LabAwsError(code, `Invalid id: "${id}"`);
}

/** Refuses volume ids that are not `vol-` + 8 or 17 hex digits, with EC2's Malformed code. */
export function checkMalformedVolumeIds(ids: string[]): void {
  checkMalformed('volume', ids);
}

/** Instances the caller can see in its account and region (terminated ones until they are gone). */
export function visibleInstances(call: CallContext): LabInstance[] {
  const { state } = call.lab;
  return [...state.region(call.region).instances.values()].filter((i) => i.ownerId === call.account && !state.isGone(i));
}

export function findInstances(call: CallContext, ids: string[]): LabInstance[] {
  checkMalformed('instance', ids);
  const visible = new Map(visibleInstances(call).map((i) => [i.id, i]));
  const missing = ids.filter((id) => !visible.has(id));
  if (missing.length > 0) throw notFoundError('instance', missing);
  return ids.map((id) => visible.get(id) as LabInstance);
}

export function visibleVolumes(call: CallContext): LabVolume[] {
  return [...call.lab.state.region(call.region).volumes.values()].filter((v) => v.ownerId === call.account);
}

export function findVolumes(call: CallContext, ids: string[]): LabVolume[] {
  checkMalformed('volume', ids);
  const visible = new Map(visibleVolumes(call).map((v) => [v.id, v]));
  const missing = ids.filter((id) => !visible.has(id));
  if (missing.length > 0) throw notFoundError('volume', missing);
  return ids.map((id) => visible.get(id) as LabVolume);
}

/** A snapshot is visible to its owner and to accounts it is shared with (or to all if public). */
export function canSeeSnapshot(snapshot: LabSnapshot, account: string): boolean {
  return snapshot.ownerId === account || snapshot.createVolumePermissions.has(account) || snapshot.createVolumePermissions.has('all');
}

export function findSnapshots(call: CallContext, ids: string[], region = call.region): LabSnapshot[] {
  checkMalformed('snapshot', ids);
  const snapshots = call.lab.state.region(region).snapshots;
  const missing = ids.filter((id) => {
    const snapshot = snapshots.get(id);
    return !snapshot || !canSeeSnapshot(snapshot, call.account);
  });
  if (missing.length > 0) throw notFoundError('snapshot', missing);
  return ids.map((id) => snapshots.get(id) as LabSnapshot);
}

/** The caller's own snapshot; others' (even shared ones) cannot have their attributes changed. */
export function findOwnSnapshot(call: CallContext, id: string): LabSnapshot {
  const [snapshot] = findSnapshots(call, [id]);
  if (!snapshot || snapshot.ownerId !== call.account) throw notFoundError('snapshot', [id]);
  return snapshot;
}
