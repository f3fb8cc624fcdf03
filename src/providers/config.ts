/**
 * The config file as the registry composes it: the core fields plus one optional section per
 * provider module (`aws`, `kubernetes`, …). Files written for earlier versions parse unchanged.
 */
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { loadConfigFileWith, parseConfigWith, type CoreConfig } from '../core/config.js';
import type { ProviderModule } from '../core/provider-module.js';
import { PROVIDER_MODULES, REGISTRY } from './registry.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type SectionOf<M> = M extends ProviderModule<string, infer S> ? S : never;
type Sections<Ms extends readonly ProviderModule<string, any>[]> = { [M in Ms[number] as M['name']]?: SectionOf<M> };

/** The whole validated config. */
export type CustodyConfig = CoreConfig & Sections<typeof PROVIDER_MODULES>;

export type { AwsConfig, EvidenceBucketConfig } from './aws/config.js';
export { DEFAULT_RETENTION_DAYS } from './aws/config.js';
export type { ClusterConfig, KubernetesConfig } from './kubernetes/config.js';
export type { GcpConfig } from './gcp/config.js';
export { defaultKeysDir } from '../core/config.js';

/**
 * The config with its relative paths resolved against `base` (a config file's folder): the cases,
 * keys and signing-key paths, and each provider's files (a kubeconfig, a CA file, a token file).
 */
export function resolveConfigPaths(config: CustodyConfig, base: string): CustodyConfig {
  return REGISTRY.resolveConfigPaths(config, base);
}

/**
 * Validates a parsed config object. Throws `E_CONFIG` naming every bad field
 * (`aws.allowedAccounts[1]: must be a 12-digit AWS account id`).
 */
export function parseConfig(raw: unknown, source = 'config'): CustodyConfig {
  return parseConfigWith(REGISTRY.configSchema as z.ZodType<CustodyConfig>, raw, source);
}

/** Reads and validates a JSON config file; relative paths in it are resolved against its folder. */
export function loadConfigFile(path: string): CustodyConfig {
  return resolveConfigPaths(loadConfigFileWith(REGISTRY.configSchema as z.ZodType<CustodyConfig>, path), dirname(resolve(path)));
}
