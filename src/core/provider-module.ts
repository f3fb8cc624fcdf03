/**
 * A provider module: what the registry (src/providers/registry.ts) knows of one cloud before it
 * loads any of that cloud's SDK. It owns the cloud's target and selector syntax, its config
 * section, its flags and help, its preflight rows, its caller identity, and how the collecting
 * `Provider` is created. Everything heavy is imported inside `create`, `preflight` and
 * `callerIdentity`, so `custody verify` and `custody --help` never load a cloud SDK.
 * See docs/providers.md.
 */
import type { ZodType } from 'zod';
import type { CaseRecorder, Provider } from './ports.js';
import type { Selector, Target } from './targets.js';

/** Who the orchestrator's own credentials authenticated as (AWS: STS GetCallerIdentity). */
export interface CallerPrincipal {
  /** The provider's id for the principal: an ARN, a user principal name, a service account. */
  arn: string;
  /** The account, subscription or project it belongs to. */
  account: string;
  userId: string;
}

/** A per-run option a provider adds to `collect` and `plan` (a boolean flag, or one with a value). */
export interface ProviderFlag {
  /** The command-line name without dashes: `preserve`, `include-env`. */
  flag: string;
  /** The key in `CollectOptions` (camelCase of `flag`): `preserve`, `includeEnv`. */
  option: string;
  /** `--help` text; say which provider it concerns when that is not obvious. One paragraph: the help wraps it in the options' column. */
  help: string;
  /**
   * Present when the flag takes a value (`--image DIR`): the placeholder `--help` shows. The
   * option is the text given (an empty one is refused); with `path`, made absolute against the
   * working directory; with `folder` too, it names a folder: refused (exit 3) before the case is
   * opened when it, or what exists above it, is not a folder (the provider makes it). Not given:
   * the option is absent. Without `value` the flag is boolean.
   */
  value?: { placeholder: string; path?: boolean; folder?: boolean };
  /** Boolean options this flag also turns on when given (`--image DIR` implies `--hash`). */
  implies?: readonly string[];
}

/** One preflight check, the same shape for every provider. */
export interface PreflightRow {
  provider: string;
  /** Two levels of where the check ran: AWS `[account, region]`, Kubernetes `[cluster, namespace]`. */
  scope: [string, string];
  check: string;
  /**
   * `warning`: something optional is missing (it never decides the exit code, whatever its `need`).
   * `not bound`: a role bound only during an incident is not bound now, as expected.
   */
  result: 'ok' | 'denied' | 'error' | 'warning' | 'not bound';
  /** The permission the check concerns (`ec2:CreateSnapshots`, `create pods/exec`). */
  action: string;
  /** `required` (default), the option that needs it, or `just in time`: only required rows decide the exit code. */
  need?: string;
  detail: string;
}

/** What `custody preflight` asks every configured provider; each reads the parts it owns. */
export interface PreflightRequest<Config = unknown> {
  config: Config;
  /** Targets named on the command line, already parsed (each provider checks its own). */
  targets: readonly Target[];
  /** Provider-owned scoping flags as given: `{ account: [...], cluster: [...], namespace: [...] }`. */
  scopes: Readonly<Record<string, readonly string[]>>;
  analyst?: string;
}

/** A preflight scoping flag a provider adds (`--account`, `--cluster`, repeatable). */
export interface PreflightScopeFlag {
  flag: string;
  /** What `--help` shows as the flag's value (`--account ID`); default `VALUE`. */
  placeholder?: string;
  help: string;
}

/**
 * Services the registry shares between the providers of one process, so that providers never
 * import each other. One instance per `createProviders` call (one case in library use).
 */
export interface ProviderServices {
  /** Parses a target through the registry: how a pod's node becomes its cloud's target. */
  parseTarget(raw: string): Target;
  /** Asks every provider whether a node's providerID is one of its machines. */
  mapNode(machine: NodeMachine): NodeMapping | undefined;
  /**
   * A named service one provider offers and another uses (e.g. `aws.sessions`, the AWS
   * credential broker EKS tokens are signed with). Types live in src/providers/shared/.
   */
  offer<T>(name: string, service: T): void;
  lookup<T>(name: string): T | undefined;
}

/** A Kubernetes node's machine as the cluster reports it: what a follow-up is made from. */
export interface NodeMachine {
  cluster: string;
  node: string;
  /** The node's `spec.providerID` (`aws:///us-east-1a/i-…`, `gce://…`, `azure:///…`). */
  providerID: string;
  /** What the cluster's config says about where its nodes run (`account`, `region`, …). */
  hints: Readonly<Record<string, string | undefined>>;
}

/**
 * How a provider maps a node: the follow-up target as text (parsed back by the registry), or
 * why it cannot be mapped; `data` goes into the `node.mapped` / `node.not-mapped` entry.
 */
export type NodeMapping =
  | { followUp: string; data: Record<string, unknown> }
  | { notMapped: string; data: Record<string, unknown> };

/** Anything a provider module may receive as its config: the whole composed config. */
export type AnyConfig = Readonly<Record<string, unknown>>;

export interface ProviderModule<Name extends string = string, Section = unknown> {
  /** Registry name, `Target.provider`, and the config file's section key. */
  readonly name: Name;
  /** The zod schema of this provider's config section; the registry makes it optional and composes it. */
  readonly configSection: ZodType<Section>;
  /** Lines for `--help`: target and selector forms (`FORM    what it is`). */
  readonly help: { readonly targets: readonly string[]; readonly selectors: readonly string[] };
  /** Boolean flags for `collect` and `plan`. */
  readonly flags?: readonly ProviderFlag[];
  /** Repeatable scoping flags for `preflight`. */
  readonly preflightScopes?: readonly PreflightScopeFlag[];
  /** Column headers of `PreflightRow.scope` in the preflight table (default `SCOPE`, `WHERE`). */
  readonly preflightColumns?: readonly [string, string];
  /**
   * Parses a target. Returns undefined when the text is not this provider's form (another
   * provider may claim it); throws `E_INPUT` with the expected form when it is but is wrong.
   */
  parseTarget(raw: string): Target | undefined;
  /** As `parseTarget`, for `--select` expressions. */
  parseSelector(raw: string): Selector | undefined;
  /**
   * A Kubernetes node whose providerID is this provider's machine: the follow-up target's text,
   * or why it cannot be collected. Undefined when the providerID is not this provider's.
   */
  mapNode?(machine: NodeMachine): NodeMapping | undefined;
  /** The section as recorded in `case.opened`: nothing secret. Default: the section as is. */
  summarizeConfig?(section: Section): Record<string, unknown>;
  /**
   * The section with each file path it names passed through `resolvePath` (relative paths in a
   * config file are relative to the file, as `casesDir` is). Default: the section names no file.
   */
  resolvePaths?(section: Section, resolvePath: (path: string) => string): Section;
  /**
   * Refuses, before any call, what the config forbids in a preflight request (an account not
   * allowed). Optional.
   */
  checkPreflight?(section: Section, request: PreflightRequest<AnyConfig>): void;
  /** Who the provider's own credentials are (recorded in the case; the default analyst). */
  callerIdentity?(config: AnyConfig): Promise<CallerPrincipal>;
  /** Preflight rows for this provider; imports its SDK lazily. */
  preflight?(request: PreflightRequest<AnyConfig>, services: ProviderServices): Promise<PreflightRow[]>;
  /** Creates the collecting provider (imports its SDK lazily). Called only when the section is present. */
  create(config: AnyConfig, services: ProviderServices): Promise<Provider>;
}

/** Identity for defining a module with its literal name kept (so the registry can type the config). */
export function defineProvider<Name extends string, Section>(module: ProviderModule<Name, Section>): ProviderModule<Name, Section> {
  return module;
}

export type { CaseRecorder };
