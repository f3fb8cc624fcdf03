/**
 * Every provider the product knows. Adding a provider is one folder (src/providers/NAME/ with a
 * `module.ts`) and one line in PROVIDER_MODULES; docs/providers.md says what the module holds.
 *
 * The registry composes what the modules declare — config sections, target and selector
 * syntax, flags, help, preflight rows, the caller identity — and creates the collecting
 * providers, loading each provider's SDK only then.
 */
import { z } from 'zod';
import { isAbsolute, resolve } from 'node:path';
import { coreConfigShape, resolveConfigPaths as resolveCorePaths, type CoreConfig } from '../core/config.js';
import { CustodyError } from '../core/errors.js';
import { helpRows } from '../core/help-layout.js';
import type { AnyConfig, CallerPrincipal, NodeMachine, NodeMapping, PreflightRequest, PreflightRow, ProviderFlag, ProviderModule, ProviderServices } from '../core/provider-module.js';
import type { CollectOptions, Provider } from '../core/ports.js';
import { targetKey, type Selector, type Target } from '../core/targets.js';
import { awsModule } from './aws/module.js';
import { azureModule } from './azure/module.js';
import { collectOptionsFor } from './collect-options.js';
import { gcpModule } from './gcp/module.js';
import { kubernetesModule } from './kubernetes/module.js';

/** The product's providers, in the order their rows, help lines and flags are shown. */
export const PROVIDER_MODULES = [awsModule, kubernetesModule, azureModule, gcpModule] as const;

// The registry holds modules of every section type; each module's own code is typed.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModule = ProviderModule<string, any>;

export interface Registry {
  readonly modules: readonly AnyModule[];
  /** The whole config file's schema: the core fields and one optional section per provider, strict. */
  readonly configSchema: z.ZodType<CoreConfig & AnyConfig>;
  /** Parses a target through the provider that claims it; `E_INPUT` listing every form when none does. */
  parseTarget(raw: string): Target;
  parseSelector(raw: string): Selector;
  /** The first provider that recognises a node's providerID maps it. */
  mapNode(machine: NodeMachine): NodeMapping | undefined;
  /** Every provider's collect/plan flags. */
  flags(): ProviderFlag[];
  /** The run's options from flags as given (by flag name: the CLI; by option name: the library); relative paths against `base` (default: the working directory). */
  collectOptions(given: Readonly<Record<string, unknown>>, keyedBy: 'flag' | 'option', base?: string): CollectOptions;
  /** The modules whose config section is present. */
  configured(config: AnyConfig): AnyModule[];
  /** One set of shared services: one per case in library use (one credential broker per case). */
  createServices(): ProviderServices;
  /** Creates the provider of every configured module, sharing `services`. */
  createProviders(config: AnyConfig, services?: ProviderServices): Promise<Provider[]>;
  /** Who the first configured provider with an identity authenticates as; undefined if none has one. */
  callerIdentity(config: AnyConfig): Promise<CallerPrincipal | undefined>;
  /** Refuses a preflight request any configured provider forbids (before any call). */
  checkPreflight(request: PreflightRequest<AnyConfig>): void;
  /** Preflight rows of every configured provider the request concerns. */
  preflight(request: PreflightRequest<AnyConfig>): Promise<PreflightRow[]>;
  /** The config as `case.opened` records it: every section summarised by its provider. */
  summarizeConfig(config: AnyConfig): Record<string, unknown>;
  /** The config with every relative file path it names (core's folders, each section's files) resolved against `base`. */
  resolveConfigPaths<C extends CoreConfig & AnyConfig>(config: C, base: string): C;
  /** Target and selector forms for `--help`. */
  helpForms(): string;
}

/** Where the descriptions of target and selector forms start in `--help`; a longer form gets its own line. */
const FORM_COLUMN = 48;

/** Builds a registry over `modules` (tests add a test-only provider this way). */
export function createRegistry(modules: readonly AnyModule[]): Registry {
  const names = new Set<string>();
  for (const m of modules) {
    if (names.has(m.name) || Object.hasOwn(coreConfigShape, m.name)) throw new CustodyError('E_INTERNAL', `provider name "${m.name}" is used twice`);
    names.add(m.name);
  }
  const configSchema = z
    .object({ ...coreConfigShape, ...Object.fromEntries(modules.map((m) => [m.name, m.configSection.optional()])) })
    .strict() as unknown as z.ZodType<CoreConfig & AnyConfig>;
  const configured = (config: AnyConfig) => modules.filter((m) => config[m.name] !== undefined);

  const targetForms = () => modules.flatMap((m) => m.help.targets.map((line) => line.split(/\s{2,}/)[0] ?? line));
  const selectorForms = () => modules.flatMap((m) => m.help.selectors.map((line) => line.split(/\s{2,}/)[0] ?? line));

  const registry: Registry = {
    modules,
    configSchema,
    parseTarget(raw) {
      for (const m of modules) {
        const target = m.parseTarget(raw);
        if (target) return target;
      }
      throw new CustodyError('E_INPUT', `invalid target "${raw}": unrecognised form. Expected ${targetForms().join(', or ')}.`, { resource: raw });
    },
    parseSelector(raw) {
      for (const m of modules) {
        const selector = m.parseSelector(raw);
        if (selector) return selector;
      }
      throw new CustodyError('E_INPUT', `invalid selector "${raw}": unrecognised selector. Expected ${selectorForms().join(' or ')}.`, { resource: raw });
    },
    mapNode(machine) {
      for (const m of modules) {
        const mapping = m.mapNode?.(machine);
        if (mapping) return mapping;
      }
      return undefined;
    },
    flags: () => modules.flatMap((m) => m.flags ?? []),
    collectOptions: (given, keyedBy, base) => collectOptionsFor(registry.flags(), given, keyedBy, base),
    configured,
    createServices() {
      const offered = new Map<string, unknown>();
      return {
        parseTarget: (raw) => registry.parseTarget(raw),
        mapNode: (machine) => registry.mapNode(machine),
        offer(name, service) {
          if (offered.has(name)) throw new CustodyError('E_INTERNAL', `the shared service "${name}" is offered twice`);
          offered.set(name, service);
        },
        lookup: <T>(name: string) => offered.get(name) as T | undefined,
      };
    },
    async createProviders(config, services = registry.createServices()) {
      const providers: Provider[] = [];
      // In registry order: a provider offering a shared service (AWS sessions) comes before its users.
      for (const m of configured(config)) providers.push(await m.create(config, services));
      return providers;
    },
    async callerIdentity(config) {
      const m = configured(config).find((candidate) => candidate.callerIdentity);
      return m?.callerIdentity?.(config);
    },
    checkPreflight(request) {
      for (const m of modules) {
        if (request.config[m.name] !== undefined) {
          m.checkPreflight?.(request.config[m.name], request);
          continue;
        }
        // A scoping flag for a provider the config has no section for names nothing to check.
        for (const scope of m.preflightScopes ?? []) {
          const given = request.scopes[scope.flag]?.[0];
          if (given !== undefined) {
            throw new CustodyError('E_INPUT', `--${scope.flag} "${given}" is not in the config: it has no "${m.name}" section`, { resource: given });
          }
        }
        // Nor does a target of that provider: collect would refuse it, and the other providers'
        // rows passing must not read as "this target can be collected".
        const target = request.targets.find((t) => t.provider === m.name);
        if (target) {
          throw new CustodyError('E_INPUT', `${targetKey(target)} is not in the config: it has no "${m.name}" section`, { resource: targetKey(target) });
        }
      }
    },
    async preflight(request) {
      const given = (m: AnyModule) => (m.preflightScopes ?? []).some((s) => (request.scopes[s.flag]?.length ?? 0) > 0);
      const anyGiven = modules.some(given);
      // A provider's own scoping flag (--account, --cluster) limits preflight to that provider;
      // with none given, every configured provider is checked.
      const checked = configured(request.config).filter((m) => m.preflight && (!anyGiven || given(m)));
      const services = registry.createServices();
      // The providers offer their shared services (the AWS session broker EKS tokens are signed
      // with); creating them makes no call.
      const providers = await registry.createProviders(request.config, services);
      try {
        const rows: PreflightRow[] = [];
        for (const m of checked) rows.push(...(await m.preflight!(request, services)));
        return rows;
      } finally {
        await Promise.allSettled(providers.map((p) => p.close?.()));
      }
    },
    resolveConfigPaths(config, base) {
      const resolved: Record<string, unknown> = resolveCorePaths(config, base);
      const resolvePath = (path: string) => (isAbsolute(path) ? path : resolve(base, path));
      for (const m of configured(config)) {
        if (m.resolvePaths) resolved[m.name] = m.resolvePaths(config[m.name], resolvePath);
      }
      return resolved as typeof config;
    },
    summarizeConfig(config) {
      const summary: Record<string, unknown> = {
        concurrency: config.concurrency,
        signingKey: config.signingKeyFile ? 'signingKeyFile' : 'per-case key',
      };
      for (const m of configured(config)) {
        const section = config[m.name];
        summary[m.name] = m.summarizeConfig ? m.summarizeConfig(section) : section;
      }
      return summary;
    },
    helpForms() {
      // Each module's line is `FORM  what it is`; the columns are laid out here, for every module alike.
      const rows = (lines: readonly string[]) =>
        helpRows(
          lines.map((line) => {
            const at = line.search(/\s{2,}/);
            return at < 0 ? ([line, ''] as const) : ([line.slice(0, at), line.slice(at).trim()] as const);
          }),
          2,
          FORM_COLUMN,
        );
      return `Targets:\n${rows(modules.flatMap((m) => m.help.targets))}\n\nSelectors (--select, repeatable):\n${rows(modules.flatMap((m) => m.help.selectors))}`;
    },
  };
  return registry;
}

/** The product's registry. */
export const REGISTRY: Registry = createRegistry(PROVIDER_MODULES);

/** Builds every provider the config has a section for (one set of shared services). */
export function createProviders(config: AnyConfig, registry: Registry = REGISTRY): Promise<Provider[]> {
  return registry.createProviders(config);
}
