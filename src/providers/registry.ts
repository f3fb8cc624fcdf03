/**
 * Every provider the product knows, by name: adding a provider is one folder and one line here.
 * A factory returns undefined when the config has no section for its cloud.
 */
import type { CustodyConfig } from '../core/config.js';
import type { Provider, ProviderFactory } from '../core/ports.js';
import { awsProviderFactory } from './aws/index.js';
import { kubernetesProviderFactory } from './kubernetes/index.js';

export const PROVIDER_FACTORIES: Readonly<Record<string, ProviderFactory>> = {
  aws: awsProviderFactory,
  kubernetes: kubernetesProviderFactory,
};

/** Builds every provider the config has a section for. */
export function createProviders(config: CustodyConfig, factories: Readonly<Record<string, ProviderFactory>> = PROVIDER_FACTORIES): Provider[] {
  return Object.values(factories)
    .map((factory) => factory(config))
    .filter((provider): provider is Provider => provider !== undefined);
}
