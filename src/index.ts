// The public library API (`import … from 'cloud-custody'`): what a Lambda function or a detection
// hook calls. The CLI is a thin shell over the same functions.
export { collect, loadConfig, verify, type CollectRequest, type VerifyExpectations } from './app/library.js';
export type { HeadExpectation, KeyExpectation } from './custody/expectations.js';
export type { CollectCaseResult } from './app/collect-case.js';
export type { AppDeps, CopyOutcome, OpenCaseInput, OpenedCase, VerifyOutcome, VerifyProblem, VerifyRequest } from './app/deps.js';
export { appServices } from './app/services.js';

// Lower-level building blocks.
export * from './core/errors.js';
export * from './core/case-id.js';
export * from './core/orchestrator.js';
export * from './core/plan.js';
export * from './core/outcomes.js';
export * from './core/concurrency.js';
export * from './core/kernel.js';
export { CaseHistory, historyOf } from './core/case-history.js';
export { LEDGER_EVENTS } from './core/ledger-events.js';
export type * from './core/ports.js';
export type * from './core/provider-module.js';
export { defineProvider } from './core/provider-module.js';
export { defaultKeysDir, type CoreConfig } from './core/config.js';
export { loadConfigFile, parseConfig, type AwsConfig, type ClusterConfig, type CustodyConfig } from './providers/config.js';
export * from './providers/targets.js';
export { createRegistry, createProviders, PROVIDER_MODULES, REGISTRY, type Registry } from './providers/registry.js';
export { openCase, verifyCase, renderReport } from './custody/index.js';
export type { CaseHandle, OpenCaseOptions, VerifyResult } from './custody/index.js';
