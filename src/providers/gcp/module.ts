/**
 * The GCP provider module: what the registry knows of GCP without loading @google-cloud/compute
 * or google-auth-library. Both are imported only inside `create`, `preflight` and `callerIdentity`.
 */
import { CustodyError } from '../../core/errors.js';
import { defineProvider, type AnyConfig, type PreflightRow, type ProviderModule } from '../../core/provider-module.js';
import { gcpConfigSchema, type GcpConfig } from './config.js';
import { isGcpTarget, parseGcpSelector, parseGcpTarget, looksLikeGcpSelector, looksLikeGcpTarget, parseProviderIdTarget } from './targets.js';

const sectionOf = (config: AnyConfig): GcpConfig => (config as { gcp: GcpConfig }).gcp;

export const gcpModule: ProviderModule<'gcp', GcpConfig> = defineProvider({
  name: 'gcp',
  configSection: gcpConfigSchema,
  help: {
    targets: [
      '//compute.googleapis.com/projects/P/zones/Z/instances/NAME    a GCE instance and all its disks (also projects/P/zones/Z/instances/NAME)',
      'projects/P/zones/Z/disks/NAME, projects/P/regions/R/disks/NAME    one zonal or regional disk',
      'https://www.googleapis.com/compute/v1/projects/…    an instance or disk by its selfLink URL (also with the host compute.googleapis.com)',
      'https://console.cloud.google.com/compute/instancesDetail/…?project=P    an instance (or disksDetail/…: a disk) by its Cloud Console page',
    ],
    selectors: [
      'gcp-label:KEY=VALUE                           every instance with that label in gcp.allowedProjects (labels only select)',
      'gcp-tag:ORG_ID/KEY=VALUE                      every instance whose effective Resource Manager tags hold that value',
    ],
  },
  preflightColumns: ['PROJECT', 'RESOURCE'],
  preflightScopes: [{ flag: 'project', placeholder: 'ID', help: 'a GCP project to check (repeatable; default: the targets\' projects, else every allowed project)' }],
  parseTarget: (raw) => (looksLikeGcpTarget(raw) ? parseGcpTarget(raw) : undefined),
  parseSelector: (raw) => (looksLikeGcpSelector(raw) ? parseGcpSelector(raw) : undefined),
  mapNode(machine) {
    if (!machine.providerID.startsWith('gce://')) return undefined;
    try {
      const target = parseProviderIdTarget(machine.providerID);
      return { followUp: target.key, data: { cloud: 'gce', project: target.project, zone: target.zone, instance: target.instance } };
    } catch (error) {
      return { notMapped: (error as Error).message, data: { cloud: 'gce' } };
    }
  },
  checkPreflight(section, request) {
    const projects = [...(request.scopes.project ?? []), ...request.targets.filter(isGcpTarget).map((t) => t.project)];
    const bad = projects.find((p) => !section.allowedProjects.includes(p));
    if (bad) throw new CustodyError('E_ACCOUNT_NOT_ALLOWED', `project ${bad} is not in gcp.allowedProjects (${section.allowedProjects.join(', ')})`, { resource: bad });
  },
  async callerIdentity(config) {
    const { gcpCallerIdentity } = await import('./provider.js');
    return gcpCallerIdentity(sectionOf(config));
  },
  async preflight(request): Promise<PreflightRow[]> {
    const { runGcpPreflightRows } = await import('./provider.js');
    return runGcpPreflightRows(sectionOf(request.config), request);
  },
  async create(config) {
    const { createGcpCoreProvider } = await import('./provider.js');
    return createGcpCoreProvider(sectionOf(config));
  },
});
