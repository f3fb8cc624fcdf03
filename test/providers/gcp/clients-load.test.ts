/**
 * The GCP provider imports its five Compute Engine clients from their own modules instead of the
 * package's index, which loads every client of every API version (src/providers/gcp/clients.ts).
 * Those paths are the package's files, not a declared entry point: this holds each to the class
 * the index exports, so an update of @google-cloud/compute that moves them fails here by name.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DisksClient } from '@google-cloud/compute/build/src/v1/disks_client.js';
import { GlobalOperationsClient } from '@google-cloud/compute/build/src/v1/global_operations_client.js';
import { InstancesClient } from '@google-cloud/compute/build/src/v1/instances_client.js';
import { RegionDisksClient } from '@google-cloud/compute/build/src/v1/region_disks_client.js';
import { SnapshotsClient } from '@google-cloud/compute/build/src/v1/snapshots_client.js';

describe('the GCP provider\'s Compute Engine clients', () => {
  it('are the classes the package index exports', () => {
    const index = createRequire(import.meta.url)('@google-cloud/compute') as Record<string, unknown>;
    expect({ DisksClient, GlobalOperationsClient, InstancesClient, RegionDisksClient, SnapshotsClient }).toEqual({
      DisksClient: index.DisksClient,
      GlobalOperationsClient: index.GlobalOperationsClient,
      InstancesClient: index.InstancesClient,
      RegionDisksClient: index.RegionDisksClient,
      SnapshotsClient: index.SnapshotsClient,
    });
  });

  it('clients.ts imports none of them through the index', async () => {
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(new URL('../../../src/providers/gcp/clients.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/from '@google-cloud\/compute'/);
  });
});
