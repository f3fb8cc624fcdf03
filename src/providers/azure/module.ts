/**
 * The Azure provider module: what the registry knows of Azure without loading any @azure
 * package (they are imported inside `create`, `preflight` and `callerIdentity`).
 */
import { CustodyError } from '../../core/errors.js';
import { defineProvider, type AnyConfig, type PreflightRow, type ProviderModule } from '../../core/provider-module.js';
import { azureConfigSchema, type AzureConfig } from './config.js';
import { azureTargetFromProviderId, isAzureSelector, isAzureTarget, isAzureTargetValue, parseAzureSelector, parseAzureTarget } from './targets.js';

function sectionOf(config: AnyConfig): AzureConfig {
  const section = config.azure as AzureConfig | undefined;
  if (!section) throw new CustodyError('E_CONFIG', 'the config has no "azure" section');
  return section;
}

export const azureModule: ProviderModule<'azure', AzureConfig> = defineProvider({
  name: 'azure',
  configSection: azureConfigSchema,
  help: {
    targets: [
      '/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM        an Azure VM (all its disks)',
      '/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/disks/DISK                 an Azure managed disk',
      'azure:///subscriptions/SUB/…/virtualMachineScaleSets/VMSS/virtualMachines/N                 an AKS node (a node\'s providerID)',
      'https://portal.azure.com/#@TENANT/resource/subscriptions/SUB/…    a VM, disk or scale-set VM by the portal URL of its page',
    ],
    selectors: ['azure:tag:KEY=VALUE                          every Azure VM with that tag in azure.subscriptions'],
  },
  preflightColumns: ['SUBSCRIPTION', 'SCOPE'],
  preflightScopes: [{ flag: 'subscription', placeholder: 'ID', help: 'a configured Azure subscription to check (repeatable; default: every configured one)' }],
  parseTarget: (raw: string) => (isAzureTarget(raw) ? parseAzureTarget(raw) : undefined),
  parseSelector: (raw: string) => (isAzureSelector(raw) ? parseAzureSelector(raw) : undefined),
  resolvePaths: (section, resolvePath) => ({
    ...section,
    ...(section.caFile !== undefined ? { caFile: resolvePath(section.caFile) } : {}),
    ...(section.assertion.source === 'token-file' && section.assertion.path !== undefined ? { assertion: { ...section.assertion, path: resolvePath(section.assertion.path) } } : {}),
  }),
  mapNode(machine) {
    if (!machine.providerID.toLowerCase().startsWith('azure://')) return undefined;
    try {
      const target = azureTargetFromProviderId(machine.providerID);
      if (!target) return undefined;
      return { followUp: target.key, data: { provider: 'azure', kind: target.kind, id: target.id } };
    } catch (error) {
      return { notMapped: (error as Error).message, data: { provider: 'azure', providerID: machine.providerID } };
    }
  },
  checkPreflight(section: AzureConfig, request) {
    const configured = new Set(section.subscriptions.map((s) => s.subscriptionId.toLowerCase()));
    const bad = (request.scopes.subscription ?? []).find((s) => !configured.has(s.toLowerCase()));
    if (bad) throw new CustodyError('E_INPUT', `--subscription "${bad}" is not in the config's azure.subscriptions`, { resource: bad });
    const target = request.targets.filter(isAzureTargetValue).find((t) => !configured.has(t.resource.subscriptionId.toLowerCase()));
    if (target) throw new CustodyError('E_ACCOUNT_NOT_ALLOWED', `${target.key}: subscription ${target.resource.subscriptionId} is not in azure.subscriptions`, { resource: target.key });
  },
  async callerIdentity(config: AnyConfig) {
    const section = sectionOf(config);
    const { createAzureIdentity, ARM_SCOPE } = await import('./identity.js');
    const { recordableClaims } = await import('./token-claims.js');
    const token = await createAzureIdentity(section, () => {}).soc.getToken(ARM_SCOPE);
    const claims = token ? recordableClaims(token.token) : undefined;
    if (!claims?.objectId) throw new CustodyError('E_CREDENTIALS', 'the SOC identity\'s token names no object id (oid)');
    return { arn: `azure:tenant/${claims.tenantId ?? section.socTenantId}/object/${claims.objectId}`, account: claims.tenantId ?? section.socTenantId, userId: claims.appId ?? claims.objectId };
  },
  async preflight(request): Promise<PreflightRow[]> {
    const { runAzurePreflight } = await import('./preflight.js');
    const subscriptions = request.scopes.subscription ?? [];
    return runAzurePreflight({ config: sectionOf(request.config), ...(subscriptions.length > 0 ? { subscriptions: [...subscriptions] } : {}), targets: request.targets.filter(isAzureTargetValue) });
  },
  async create(config: AnyConfig) {
    const { createAzureProvider } = await import('./provider.js');
    return createAzureProvider(sectionOf(config));
  },
});
