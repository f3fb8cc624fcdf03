/**
 * What a responder can name for GCP: instances and disks (zonal or regional) by resource name,
 * by the URL Compute Engine gives them (`selfLink`) or by their Cloud Console page, a GKE node's
 * `spec.providerID`, and selectors by label or Resource Manager tag across the configured projects. Parsing is strict and touches no cloud; a bad name says which form it expected.
 */
import { CustodyError } from '../../core/errors.js';
import type { Selector, Target } from '../../core/targets.js';
import { emptyValueReason } from '../shared/selector-values.js';

export interface GcpInstanceTarget {
  provider: 'gcp';
  kind: 'gcp-instance';
  /** The full resource name (`//compute.googleapis.com/projects/…`): the ledger's target field. */
  key: string;
  project: string;
  zone: string;
  instance: string;
}

export interface GcpDiskTarget {
  provider: 'gcp';
  kind: 'gcp-disk';
  key: string;
  project: string;
  /** Exactly one of zone (zonal disk) and region (regional disk). */
  zone?: string;
  region?: string;
  disk: string;
}

export type GcpTarget = GcpInstanceTarget | GcpDiskTarget;

/** `gcp-label:KEY=VALUE`: instances carrying that label in every configured project. */
export interface GcpLabelSelector {
  provider: 'gcp';
  kind: 'gcp-label';
  /** `gcp-label:KEY=VALUE` as typed: parses back to this selector. */
  key: string;
  label: string;
  value: string;
}

/**
 * `gcp-tag:PARENT/KEY=VALUE`: instances whose effective Resource Manager tags include the
 * namespaced value `PARENT/KEY/VALUE` (PARENT an organization id or a project id).
 */
export interface GcpTagSelector {
  provider: 'gcp';
  kind: 'gcp-tag';
  key: string;
  parent: string;
  tagKey: string;
  value: string;
}

export type GcpSelector = GcpLabelSelector | GcpTagSelector;

// Project ids: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter.
const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
// `us-central1-a`, `europe-west4-b`.
const ZONE = /^[a-z]+-[a-z]+\d+-[a-z]$/;
const REGION = /^[a-z]+-[a-z]+\d+$/;
// RFC 1035 names, as Compute Engine requires for instances and disks.
const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Labels: lowercase keys starting with a letter; values may be empty.
const LABEL_KEY = /^[\p{Ll}][\p{Ll}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{N}_-]{0,63}$/u;
// Tag short names: 1-63 characters, alphanumeric at both ends, `-_.` inside.
const TAG_SHORT_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const TAG_PARENT = /^(\d{1,20}|[a-z][a-z0-9-]{4,28}[a-z0-9])$/;

const COMPUTE_HOST = '//compute.googleapis.com/';
// The hosts of a Compute Engine URL: every answer's `selfLink` (www.googleapis.com) and the
// current endpoint (compute.googleapis.com). Its path is `/compute/VERSION/` + the resource name.
const COMPUTE_URL_HOSTS: ReadonlySet<string> = new Set(['www.googleapis.com', 'compute.googleapis.com']);
const COMPUTE_URL_PATH = /^\/compute\/(v1|beta|alpha)\/(projects\/.*)$/;
// The Cloud Console's page of an instance or a disk: the path is the resource name without its
// project (`/compute/instancesDetail/zones/Z/instances/N`, `/compute/disksDetail/regions/R/disks/N`),
// the project is the `project` parameter; the other parameters (`tab`, `authuser`) are the page's.
const CONSOLE_HOST = 'console.cloud.google.com';
const CONSOLE_PAGES: Readonly<Record<string, string>> = { instancesDetail: 'instances', disksDetail: 'disks' };
const CONSOLE_FORM = 'https://console.cloud.google.com/compute/instancesDetail/zones/ZONE/instances/NAME?project=PROJECT (or disksDetail/…/disks/NAME)';
export const GCP_TARGET_FORMS =
  '//compute.googleapis.com/projects/PROJECT/zones/ZONE/instances/NAME, projects/PROJECT/zones/ZONE/instances/NAME, ' +
  'projects/PROJECT/zones/ZONE/disks/NAME, projects/PROJECT/regions/REGION/disks/NAME, ' +
  'a selfLink https://www.googleapis.com/compute/v1/projects/… (or https://compute.googleapis.com/compute/v1/projects/…) of one of them, ' +
  `its Cloud Console page ${CONSOLE_FORM}, or gce://PROJECT/ZONE/INSTANCE`;
export const GCP_SELECTOR_FORMS = 'gcp-label:KEY=VALUE or gcp-tag:ORG_OR_PROJECT/KEY=VALUE';

function inputError(raw: string, expected: string, why: string, what: 'target' | 'selector' = 'target'): CustodyError {
  return new CustodyError('E_INPUT', `invalid ${what} "${raw}": ${why}. Expected ${expected}.`, { resource: raw });
}

/** Whether the text is meant as a GCP target (so the other providers' parsers are not asked). */
export function looksLikeGcpTarget(raw: string): boolean {
  const text = raw.trim();
  return text.startsWith(COMPUTE_HOST) || text.startsWith('projects/') || text.startsWith('gce://') || urlHost(text) !== undefined;
}

/** The host of an `http(s)://` URL on a Compute Engine API host or the Cloud Console; undefined for anything else. */
function urlHost(text: string): string | undefined {
  if (!/^https?:\/\//i.test(text)) return undefined;
  const host = URL.parse(text)?.hostname.toLowerCase();
  return host !== undefined && (COMPUTE_URL_HOSTS.has(host) || host === CONSOLE_HOST) ? host : undefined;
}

/**
 * A Compute Engine URL as the API writes it (`selfLink`: `https://www.googleapis.com/compute/v1/`
 * + the resource name) → the resource name, which is then parsed like one typed by hand.
 */
function resourceNameFromUrl(text: string, raw: string): string {
  const url = URL.parse(text);
  if (!url || url.protocol !== 'https:' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '' || url.port !== '') {
    throw inputError(raw, GCP_TARGET_FORMS, 'a Compute Engine URL is https://HOST/compute/v1/projects/… with no query, fragment, port or user');
  }
  const match = COMPUTE_URL_PATH.exec(url.pathname);
  if (!match) throw inputError(raw, GCP_TARGET_FORMS, `the URL's path is not /compute/v1/projects/… (a Compute Engine selfLink)`);
  return match[2]!;
}

/**
 * A Cloud Console page of an instance or a disk
 * (`https://console.cloud.google.com/compute/instancesDetail/zones/Z/instances/N?project=P&tab=details`)
 * → the resource name it shows, which is then parsed like one typed by hand.
 */
function resourceNameFromConsoleUrl(text: string, raw: string): string {
  const url = URL.parse(text);
  if (!url || url.protocol !== 'https:' || url.hash !== '' || url.username !== '' || url.password !== '' || url.port !== '') {
    throw inputError(raw, GCP_TARGET_FORMS, `a Cloud Console URL is ${CONSOLE_FORM}, with no fragment, port or user`);
  }
  const match = /^\/compute\/([A-Za-z]+)\/(.*)$/.exec(url.pathname);
  const collection = match ? CONSOLE_PAGES[match[1]!] : undefined;
  if (!match || collection === undefined) throw inputError(raw, GCP_TARGET_FORMS, 'it is not the Cloud Console page of an instance or a disk');
  const path = match[2]!.replace(/\/$/, '');
  const [, , pageCollection] = path.split('/');
  if (pageCollection !== collection) {
    const form = collection === 'instances' ? 'zones/ZONE/instances/NAME' : 'zones/ZONE/disks/NAME or regions/REGION/disks/NAME';
    throw inputError(raw, GCP_TARGET_FORMS, `the path of the ${match[1]} page is /compute/${match[1]}/${form}`);
  }
  const projects = url.searchParams.getAll('project');
  if (projects.length !== 1 || projects[0] === '') {
    throw inputError(raw, GCP_TARGET_FORMS, projects.length > 1 ? 'the URL names more than one project' : 'the URL names no project (the console gives it as ?project=PROJECT)');
  }
  return `projects/${projects[0]}/${path}`;
}

/** The resource name a target's text gives: typed, a full resource name, a selfLink or a console page. */
function resourceNameOfText(text: string, raw: string): string {
  const host = urlHost(text);
  if (host === CONSOLE_HOST) return resourceNameFromConsoleUrl(text, raw);
  if (host !== undefined) return resourceNameFromUrl(text, raw);
  return text.startsWith(COMPUTE_HOST) ? text.slice(COMPUTE_HOST.length) : text;
}

export function looksLikeGcpSelector(raw: string): boolean {
  const text = raw.trim();
  return text.startsWith('gcp-label:') || text.startsWith('gcp-tag:');
}

/**
 * Parses a GCP target. Throws `E_INPUT` naming the expected forms.
 *
 * @example parseGcpTarget('projects/web-prod/zones/us-central1-a/instances/web-1')
 *   // { kind: 'gcp-instance', project: 'web-prod', zone: 'us-central1-a', instance: 'web-1' }
 */
export function parseGcpTarget(raw: string): GcpTarget {
  const text = raw.trim();
  if (text.startsWith('gce://')) return parseProviderIdTarget(text, raw);
  // The ledger key is the full resource name whichever form was given (gcpTargetKey).
  const path = resourceNameOfText(text, raw);
  if (!path.startsWith('projects/')) throw inputError(raw, GCP_TARGET_FORMS, 'unrecognised form');
  const parts = path.split('/');
  if (parts.length !== 6) throw inputError(raw, GCP_TARGET_FORMS, 'expected projects/P/(zones|regions)/L/(instances|disks)/NAME');
  const [, project = '', locationKind = '', location = '', collection = '', name = ''] = parts;
  if (!PROJECT.test(project)) throw inputError(raw, GCP_TARGET_FORMS, `"${project}" is not a project id`);
  if (!NAME.test(name)) throw inputError(raw, GCP_TARGET_FORMS, `"${name}" is not a Compute Engine resource name`);
  if (locationKind === 'zones') {
    if (!ZONE.test(location)) throw inputError(raw, GCP_TARGET_FORMS, `"${location}" is not a zone`);
    if (collection === 'instances') return instanceTarget(project, location, name);
    if (collection === 'disks') return diskTarget(project, { zone: location }, name);
    throw inputError(raw, GCP_TARGET_FORMS, `"${collection}" cannot be collected`);
  }
  if (locationKind === 'regions') {
    if (!REGION.test(location)) throw inputError(raw, GCP_TARGET_FORMS, `"${location}" is not a region`);
    if (collection === 'disks') return diskTarget(project, { region: location }, name);
    throw inputError(raw, GCP_TARGET_FORMS, collection === 'instances' ? 'instances are zonal, not regional' : `"${collection}" cannot be collected`);
  }
  throw inputError(raw, GCP_TARGET_FORMS, `"${locationKind}" is neither zones nor regions`);
}

/** A GKE node's `spec.providerID` (`gce://PROJECT/ZONE/INSTANCE`) → the instance behind it. */
export function parseProviderIdTarget(providerId: string, raw = providerId): GcpInstanceTarget {
  const rest = providerId.trim().slice('gce://'.length);
  const [project = '', zone = '', instance = '', ...extra] = rest.split('/');
  if (extra.length > 0) throw inputError(raw, 'gce://PROJECT/ZONE/INSTANCE', 'too many path segments');
  if (!PROJECT.test(project)) throw inputError(raw, 'gce://PROJECT/ZONE/INSTANCE', `"${project}" is not a project id`);
  if (!ZONE.test(zone)) throw inputError(raw, 'gce://PROJECT/ZONE/INSTANCE', `"${zone}" is not a zone`);
  if (!NAME.test(instance)) throw inputError(raw, 'gce://PROJECT/ZONE/INSTANCE', `"${instance}" is not an instance name`);
  return instanceTarget(project, zone, instance);
}

/** An instance target with its ledger key. */
export function instanceTarget(project: string, zone: string, instance: string): GcpInstanceTarget {
  return { provider: 'gcp', kind: 'gcp-instance', key: `${COMPUTE_HOST}projects/${project}/zones/${zone}/instances/${instance}`, project, zone, instance };
}

/** A zonal or regional disk target with its ledger key. */
export function diskTarget(project: string, location: { zone?: string; region?: string }, disk: string): GcpDiskTarget {
  return location.zone !== undefined
    ? { provider: 'gcp', kind: 'gcp-disk', key: `${COMPUTE_HOST}projects/${project}/zones/${location.zone}/disks/${disk}`, project, zone: location.zone, disk }
    : { provider: 'gcp', kind: 'gcp-disk', key: `${COMPUTE_HOST}projects/${project}/regions/${location.region}/disks/${disk}`, project, region: location.region!, disk };
}

/**
 * Parses `gcp-label:KEY=VALUE` or `gcp-tag:PARENT/KEY=VALUE`.
 *
 * @example parseGcpSelector('gcp-tag:123456789012/ForensicsEnabled=true')
 */
export function parseGcpSelector(raw: string): GcpSelector {
  const text = raw.trim();
  const colon = text.indexOf(':');
  const prefix = text.slice(0, colon + 1);
  const body = text.slice(colon + 1);
  const eq = body.indexOf('=');
  if ((prefix !== 'gcp-label:' && prefix !== 'gcp-tag:') || eq <= 0) {
    throw inputError(raw, GCP_SELECTOR_FORMS, prefix === 'gcp-label:' || prefix === 'gcp-tag:' ? 'KEY=VALUE is missing' : 'unrecognised selector', 'selector');
  }
  const key = body.slice(0, eq);
  const value = body.slice(eq + 1);
  if (value.trim() === '') throw inputError(raw, GCP_SELECTOR_FORMS, emptyValueReason(prefix === 'gcp-label:' ? 'label value' : 'tag value'), 'selector');
  if (prefix === 'gcp-label:') {
    if (!LABEL_KEY.test(key)) throw inputError(raw, GCP_SELECTOR_FORMS, `"${key}" is not a label key (lowercase, starts with a letter)`, 'selector');
    if (!LABEL_VALUE.test(value)) throw inputError(raw, GCP_SELECTOR_FORMS, `"${value}" is not a label value`, 'selector');
    return { provider: 'gcp', kind: 'gcp-label', key: `gcp-label:${key}=${value}`, label: key, value };
  }
  const slash = key.indexOf('/');
  const parent = key.slice(0, slash);
  const shortKey = key.slice(slash + 1);
  if (slash <= 0 || !TAG_PARENT.test(parent)) throw inputError(raw, GCP_SELECTOR_FORMS, 'a tag key is namespaced by its organization id or project id', 'selector');
  if (!TAG_SHORT_NAME.test(shortKey)) throw inputError(raw, GCP_SELECTOR_FORMS, `"${shortKey}" is not a tag key short name`, 'selector');
  if (!TAG_SHORT_NAME.test(value)) throw inputError(raw, GCP_SELECTOR_FORMS, `"${value}" is not a tag value short name`, 'selector');
  return { provider: 'gcp', kind: 'gcp-tag', key: `gcp-tag:${parent}/${shortKey}=${value}`, parent, tagKey: shortKey, value };
}

/** The relative resource name: `projects/P/zones/Z/instances/N`, `projects/P/regions/R/disks/N`. */
export function resourceNameOf(target: GcpTarget): string {
  if (target.kind === 'gcp-instance') return `projects/${target.project}/zones/${target.zone}/instances/${target.instance}`;
  return target.zone !== undefined
    ? `projects/${target.project}/zones/${target.zone}/disks/${target.disk}`
    : `projects/${target.project}/regions/${target.region}/disks/${target.disk}`;
}

/** The ledger's key for a target: the full resource name Cloud Audit Logs and IAM use. */
export function gcpTargetKey(target: GcpTarget): string {
  return `${COMPUTE_HOST}${resourceNameOf(target)}`;
}

export function gcpSelectorKey(selector: GcpSelector): string {
  return selector.key;
}

/**
 * A disk URL as Compute returns it (`https://…/compute/v1/projects/P/zones/Z/disks/D`, or the
 * relative form) → a disk target. Undefined when it is not a disk (e.g. a local SSD has no source).
 */
export function diskTargetFromUrl(url: string): GcpDiskTarget | undefined {
  const match = /(?:^|\/)projects\/([^/]+)\/(zones|regions)\/([^/]+)\/disks\/([^/]+)$/.exec(url);
  if (!match) return undefined;
  const [, project = '', kind, location = '', disk = ''] = match;
  return kind === 'zones' ? diskTarget(project, { zone: location }, disk) : diskTarget(project, { region: location }, disk);
}

/** `us-central1-a` → `us-central1`. */
export function regionOfGcpZone(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

export function isGcpTarget(target: Target): target is GcpTarget {
  return target.provider === 'gcp' && (target.kind === 'gcp-instance' || target.kind === 'gcp-disk');
}

export function isGcpSelector(selector: Selector): selector is GcpSelector {
  return selector.provider === 'gcp' && (selector.kind === 'gcp-label' || selector.kind === 'gcp-tag');
}
