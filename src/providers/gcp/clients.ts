/**
 * The @google-cloud/compute clients for one project's collector token. REST transport (the
 * package's only one); `gcp.endpoints.compute` points them at the lab with plain http
 * (docs/research/gcp.md §4). Built once per project and case: the token inside is renewed in place.
 */
// The five clients the provider uses, each from its own module: the package's index loads every
// Compute Engine client of every API version (~2.3 s of CPU per process on the development VM),
// these five ~0.6 s. The package declares no `exports`, so these paths are its published files;
// gcp-clients-load.test.ts holds each to the class the index exports.
import { DisksClient } from '@google-cloud/compute/build/src/v1/disks_client.js';
import { GlobalOperationsClient } from '@google-cloud/compute/build/src/v1/global_operations_client.js';
import { InstancesClient } from '@google-cloud/compute/build/src/v1/instances_client.js';
import { RegionDisksClient } from '@google-cloud/compute/build/src/v1/region_disks_client.js';
import { SnapshotsClient } from '@google-cloud/compute/build/src/v1/snapshots_client.js';
import type { OAuth2Client } from 'google-auth-library';
import type { GcpConfig } from './config.js';

export interface ComputeClients {
  instances: InstancesClient;
  disks: DisksClient;
  regionDisks: RegionDisksClient;
  snapshots: SnapshotsClient;
  globalOperations: GlobalOperationsClient;
  close(): Promise<void>;
}

function endpointOptions(config: GcpConfig): Record<string, unknown> {
  const url = config.endpoints.compute;
  if (!url) return {};
  const parsed = new URL(url);
  const protocol = parsed.protocol.replace(':', '');
  return { apiEndpoint: parsed.hostname, port: Number(parsed.port || (protocol === 'http' ? 80 : 443)), protocol };
}

/**
 * Each client is built on first use: building one parses its part of the package's protos
 * (about 0.1 s each after the first), and most targets need only some of them.
 */
export function createComputeClients(config: GcpConfig, authClient: OAuth2Client): ComputeClients {
  const options = { ...endpointOptions(config), authClient, fallback: true } as ConstructorParameters<typeof InstancesClient>[0];
  const built: Array<{ close(): Promise<void> }> = [];
  const lazy = <T extends { close(): Promise<void> }>(make: () => T): (() => T) => {
    let client: T | undefined;
    return () => {
      if (!client) {
        client = make();
        built.push(client);
      }
      return client;
    };
  };
  const instances = lazy(() => new InstancesClient(options));
  const disks = lazy(() => new DisksClient(options));
  const regionDisks = lazy(() => new RegionDisksClient(options));
  const snapshots = lazy(() => new SnapshotsClient(options));
  const globalOperations = lazy(() => new GlobalOperationsClient(options));
  return {
    get instances() {
      return instances();
    },
    get disks() {
      return disks();
    },
    get regionDisks() {
      return regionDisks();
    },
    get snapshots() {
      return snapshots();
    },
    get globalOperations() {
      return globalOperations();
    },
    async close() {
      await Promise.all(built.map((c) => c.close()));
    },
  };
}
