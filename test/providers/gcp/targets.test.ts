import { describe, expect, it } from 'vitest';
import {
  diskTargetFromUrl,
  gcpTargetKey,
  parseGcpSelector,
  parseGcpTarget,
  parseProviderIdTarget,
} from '../../../src/providers/gcp/targets.js';
import { labelValueOf, requestIdFor, snapshotNameFor, snapshotRequestIdFor } from '../../../src/providers/gcp/ids.js';
import { MAX_SNAPSHOT_ATTEMPTS } from '../../../src/providers/gcp/snapshot.js';
import { parseGcpConfig } from '../../../src/providers/gcp/config.js';

describe('GCP targets', () => {
  it.each([
    ['//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1', { kind: 'gcp-instance', project: 'web-prod', zone: 'us-central1-a', instance: 'web-1' }],
    ['projects/web-prod/zones/us-central1-a/instances/web-1', { kind: 'gcp-instance', project: 'web-prod', zone: 'us-central1-a', instance: 'web-1' }],
    ['projects/web-prod/zones/europe-west4-b/disks/data-1', { kind: 'gcp-disk', project: 'web-prod', zone: 'europe-west4-b', disk: 'data-1' }],
    ['//compute.googleapis.com/projects/web-prod/regions/us-central1/disks/shared', { kind: 'gcp-disk', project: 'web-prod', region: 'us-central1', disk: 'shared' }],
    ['gce://gke-prod/us-central1-b/gke-prod-pool-1-abcd', { kind: 'gcp-instance', project: 'gke-prod', zone: 'us-central1-b', instance: 'gke-prod-pool-1-abcd' }],
  ])('%s parses', (raw, expected) => {
    expect(parseGcpTarget(raw)).toMatchObject({ provider: 'gcp', ...expected });
  });

  it.each([
    ['projects/Web_Prod/zones/us-central1-a/instances/web-1', 'is not a project id'],
    ['projects/web-prod/zones/us-central1/instances/web-1', 'is not a zone'],
    ['projects/web-prod/regions/us-central1/instances/web-1', 'instances are zonal'],
    ['projects/web-prod/zones/us-central1-a/images/img', 'cannot be collected'],
    ['projects/web-prod/zones/us-central1-a/instances/Web1', 'is not a Compute Engine resource name'],
    ['projects/web-prod/zones/us-central1-a/instances', 'expected projects/P'],
    ['gce://gke-prod/us-central1-b/node/extra', 'too many path segments'],
  ])('%s is refused: %s', (raw, why) => {
    expect(() => parseGcpTarget(raw)).toThrow(why);
    try {
      parseGcpTarget(raw);
    } catch (error) {
      expect((error as { code: string }).code).toBe('E_INPUT');
    }
  });

  it.each([
    ['https://www.googleapis.com/compute/v1/projects/web-prod/zones/us-central1-a/instances/web-1', '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1'],
    ['https://compute.googleapis.com/compute/v1/projects/web-prod/zones/us-central1-a/instances/web-1', '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1'],
    ['https://www.googleapis.com/compute/beta/projects/web-prod/zones/europe-west4-b/disks/data-1', '//compute.googleapis.com/projects/web-prod/zones/europe-west4-b/disks/data-1'],
    ['https://www.googleapis.com/compute/v1/projects/web-prod/regions/us-central1/disks/shared', '//compute.googleapis.com/projects/web-prod/regions/us-central1/disks/shared'],
  ])('a pasted selfLink %s is the target its full resource name names (the ledger key)', (url, key) => {
    expect(parseGcpTarget(url).key).toBe(key);
    expect(parseGcpTarget(url)).toEqual(parseGcpTarget(key));
  });

  it.each([
    ['https://www.googleapis.com/compute/v1/projects/web-prod/global/snapshots/s-1', 'expected projects/P/(zones|regions)'],
    ['https://www.googleapis.com/compute/v1/projects/web-prod/zones/us-central1-a/instances/web-1/serialPort?port=1', 'no query'],
    ['https://www.googleapis.com/storage/v1/b/evidence', 'is not /compute/v1/projects/'],
    ['http://www.googleapis.com/compute/v1/projects/web-prod/zones/us-central1-a/instances/web-1', 'https://HOST/compute/v1/projects/'],
  ])('a Compute Engine URL that names no instance or disk, %s, is refused naming the forms', (url, why) => {
    expect(() => parseGcpTarget(url)).toThrow(why);
    expect(() => parseGcpTarget(url)).toThrow(/Expected .*selfLink https:\/\/www\.googleapis\.com\/compute\/v1\/projects/);
  });

  it.each([
    ['https://console.cloud.google.com/compute/instancesDetail/zones/us-central1-a/instances/web-1?project=web-prod', '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1'],
    // The page's own parameters (the tab shown, the signed-in account) are not the resource's.
    ['https://console.cloud.google.com/compute/instancesDetail/zones/us-central1-a/instances/web-1?project=web-prod&tab=monitoring&authuser=1', '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1'],
    ['https://console.cloud.google.com/compute/disksDetail/zones/europe-west4-b/disks/data-1?project=web-prod', '//compute.googleapis.com/projects/web-prod/zones/europe-west4-b/disks/data-1'],
    ['https://console.cloud.google.com/compute/disksDetail/regions/us-central1/disks/shared?project=web-prod', '//compute.googleapis.com/projects/web-prod/regions/us-central1/disks/shared'],
  ])('a pasted Cloud Console page %s is the target its resource name names (the ledger key)', (url, key) => {
    expect(parseGcpTarget(url).key).toBe(key);
    expect(parseGcpTarget(url)).toEqual(parseGcpTarget(key));
  });

  it.each([
    ['https://console.cloud.google.com/compute/instancesDetail/zones/us-central1-a/instances/web-1', 'names no project (the console gives it as ?project=PROJECT)'],
    ['https://console.cloud.google.com/compute/instancesDetail/zones/us-central1-a/instances/web-1?project=', 'names no project'],
    ['https://console.cloud.google.com/compute/instancesDetail/zones/us-central1-a/instances/web-1?project=web-prod&project=web-test', 'names more than one project'],
    ['https://console.cloud.google.com/compute/instancesDetail/zones/us-central1-a/instances/web-1?project=Web_Prod', '"Web_Prod" is not a project id'],
    ['https://console.cloud.google.com/compute/instancesDetail/zones/us-central1/instances/web-1?project=web-prod', '"us-central1" is not a zone'],
    ['https://console.cloud.google.com/compute/disksDetail/regions/us-central1-a/disks/shared?project=web-prod', '"us-central1-a" is not a region'],
    ['https://console.cloud.google.com/compute/instancesDetail/regions/us-central1/instances/web-1?project=web-prod', 'instances are zonal'],
    ['https://console.cloud.google.com/compute/instancesDetail/zones/us-central1-a/disks/data-1?project=web-prod', 'the path of the instancesDetail page is /compute/instancesDetail/zones/ZONE/instances/NAME'],
    ['https://console.cloud.google.com/compute/instancesDetail/zones/us-central1-a/instances?project=web-prod', 'expected projects/P/(zones|regions)'],
    ['https://console.cloud.google.com/compute/instances?project=web-prod', 'not the Cloud Console page of an instance or a disk'],
    ['https://console.cloud.google.com/storage/browser/evidence?project=web-prod', 'not the Cloud Console page of an instance or a disk'],
    ['http://console.cloud.google.com/compute/instancesDetail/zones/us-central1-a/instances/web-1?project=web-prod', 'with no fragment, port or user'],
  ])('a malformed Cloud Console URL %s is refused: %s', (url, why) => {
    expect(() => parseGcpTarget(url)).toThrow(why);
    expect(() => parseGcpTarget(url)).toThrow(/Expected .*Cloud Console page https:\/\/console\.cloud\.google\.com\/compute\/instancesDetail/);
  });

  it('the ledger key is the full resource name Cloud Audit Logs and IAM use', () => {
    expect(gcpTargetKey(parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared'))).toBe('//compute.googleapis.com/projects/web-prod/regions/us-central1/disks/shared');
  });

  it('a GKE providerID is followed to its instance', () => {
    expect(parseProviderIdTarget('gce://gke-prod/us-central1-b/gke-prod-pool-1-abcd')).toMatchObject({ project: 'gke-prod', instance: 'gke-prod-pool-1-abcd' });
  });

  it('attached disk URLs become disk targets (zonal and regional)', () => {
    expect(diskTargetFromUrl('https://www.googleapis.com/compute/v1/projects/p-123456/zones/us-east1-b/disks/boot')).toMatchObject({ kind: 'gcp-disk', project: 'p-123456', zone: 'us-east1-b', disk: 'boot' });
    expect(diskTargetFromUrl('https://www.googleapis.com/compute/v1/projects/p-123456/regions/us-east1/disks/r')).toEqual({
      provider: 'gcp',
      kind: 'gcp-disk',
      key: '//compute.googleapis.com/projects/p-123456/regions/us-east1/disks/r',
      project: 'p-123456',
      region: 'us-east1',
      disk: 'r',
    });
    expect(diskTargetFromUrl('')).toBeUndefined();
  });
});

describe('GCP selectors', () => {
  it('labels and Resource Manager tags', () => {
    expect(parseGcpSelector('gcp-label:incident=inc-42')).toEqual({ provider: 'gcp', kind: 'gcp-label', key: 'gcp-label:incident=inc-42', label: 'incident', value: 'inc-42' });
    expect(parseGcpSelector('gcp-tag:123456789012/ForensicsEnabled=true')).toEqual({
      provider: 'gcp',
      kind: 'gcp-tag',
      key: 'gcp-tag:123456789012/ForensicsEnabled=true',
      parent: '123456789012',
      tagKey: 'ForensicsEnabled',
      value: 'true',
    });
  });
  it.each([
    ['gcp-label:Incident=x', 'is not a label key'],
    ['gcp-tag:ForensicsEnabled=true', 'namespaced'],
    ['gcp-tag:123/Forensics Enabled=true', 'short name'],
    ['gcp-foo:x=y', 'unrecognised selector'],
  ])('%s is refused: %s', (raw, why) => {
    expect(() => parseGcpSelector(raw)).toThrow(why);
  });
});

describe('deterministic names', () => {
  it('the same case and evidence give the same request id, a valid non-zero UUID; another evidence id another', () => {
    const a = requestIdFor('INC-42', 'ev-0123456789ab');
    expect(a).toBe(requestIdFor('INC-42', 'ev-0123456789ab'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(requestIdFor('INC-42', 'ev-0123456789ac')).not.toBe(a);
    expect(snapshotNameFor('ev-0123456789ab')).toBe('custody-ev-0123456789ab');
    expect(labelValueOf('INC-42.b')).toBe('inc-42_b');
  });

  it('a later snapshot attempt has its own name within Compute\'s rules and its own request id; the first keeps both', () => {
    const names = [1, 2, MAX_SNAPSHOT_ATTEMPTS].map((n) => snapshotNameFor('ev-0123456789ab', n));
    expect(names).toEqual(['custody-ev-0123456789ab', 'custody-ev-0123456789ab-2', `custody-ev-0123456789ab-${MAX_SNAPSHOT_ATTEMPTS}`]);
    for (const name of names) expect(name).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(snapshotRequestIdFor('INC-42', 'ev-0123456789ab')).toBe(requestIdFor('INC-42', 'ev-0123456789ab'));
    const ids = [1, 2, 3].map((n) => snapshotRequestIdFor('INC-42', 'ev-0123456789ab', n));
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('gcp config', () => {
  it('defaults: 900 s tokens, all four serial ports, Google-managed keys', () => {
    const config = parseGcpConfig({ forensicsProject: 'custody-forensics', allowedProjects: ['web-prod'] });
    expect(config).toMatchObject({ tokenLifetimeSeconds: 900, serialPorts: [1, 2, 3, 4], snapshots: { guestFlush: false } });
  });
  it('a token lifetime above generateAccessToken\'s 3600 s is refused, naming the field', () => {
    expect(() => parseGcpConfig({ forensicsProject: 'custody-forensics', allowedProjects: ['web-prod'], tokenLifetimeSeconds: 3601 })).toThrow(/gcp\.tokenLifetimeSeconds/);
  });
});
