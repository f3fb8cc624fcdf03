/**
 * Where a Resource Manager v3 call goes. Tags of global resources (projects, snapshots) are read
 * at the global endpoint; tags of zonal and regional resources (instances, disks) only at the
 * location-specific one, `https://LOCATION-cloudresourcemanager.googleapis.com` — the global
 * endpoint does not know them (docs/research/gcp-tag-permissions.md, "Endpoints").
 */
import type { GcpConfig } from './config.js';

export const RESOURCE_MANAGER = 'https://cloudresourcemanager.googleapis.com';
export const RESOURCE_MANAGER_LOCATION = 'https://{location}-cloudresourcemanager.googleapis.com';

/**
 * The base URL (no trailing slash) for a resource in `location` (a zone or region), or for a
 * global resource when `location` is undefined. `gcp.endpoints.resourceManager` and
 * `gcp.endpoints.resourceManagerLocation` (a template with `{location}`) override the two.
 */
export function resourceManagerBase(config: Pick<GcpConfig, 'endpoints'>, location?: string): string {
  const base =
    location === undefined
      ? (config.endpoints.resourceManager ?? RESOURCE_MANAGER)
      : (config.endpoints.resourceManagerLocation ?? RESOURCE_MANAGER_LOCATION).replaceAll('{location}', location);
  return base.replace(/\/$/, '');
}
