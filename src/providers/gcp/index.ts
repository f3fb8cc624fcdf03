// The GCP provider's public surface.
export { createGcpProvider, type GcpProvider, type GcpProviderDeps } from './provider.js';
export { gcpConfigSchema, parseGcpConfig, collectorFor, type GcpConfig, DEFAULT_TOKEN_LIFETIME_SECONDS, MAX_TOKEN_LIFETIME_SECONDS } from './config.js';
export {
  parseGcpTarget,
  parseGcpSelector,
  parseProviderIdTarget,
  looksLikeGcpTarget,
  looksLikeGcpSelector,
  gcpTargetKey,
  gcpSelectorKey,
  resourceNameOf,
  GCP_TARGET_FORMS,
  GCP_SELECTOR_FORMS,
  type GcpTarget,
  type GcpInstanceTarget,
  type GcpDiskTarget,
  type GcpSelector,
} from './targets.js';
export { GCP_OPERATIONS, plannedGcpCalls, declaredPermissionsByRole, type GcpOperation, type GcpOperationName, type GcpRoleName } from './operations.js';
export { NO_CONTENT_HASH, CONSISTENCY } from './snapshot.js';
export type { GcpPreflightRow } from './preflight.js';
export type { ImpersonationRecord } from './credentials.js';
