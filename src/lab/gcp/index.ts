/**
 * The GCP lab: one loopback server (metadata server, IAM Credentials, Resource Manager tags,
 * Compute Engine) over a world decided by the shipped `policies/gcp/`.
 *
 * @example
 * const lab = await startGcpLab(gcpDemoScenario());
 * process.env.GCE_METADATA_HOST = lab.metadataHost; // ADC then finds the orchestrator's token here
 * // … gcp.endpoints = lab.endpoints …
 * await lab.stop();
 */
import type { ComputeSettings } from './compute.js';
import { createPolicyAuthorizer, type GcpAuthorizer } from './iam.js';
import { buildGcpState, type LabGcpScenario } from './scenario.js';
import { LOCATION_PREFIX, startGcpServer, type LabGcpServer } from './server.js';
import type { LabGcpState } from './state.js';

export { createPolicyAuthorizer, createConditionEnvironment, allowAllGcp, denyFormOf, type GcpAuthorizer, type IamRequest, type IamDecision, type IamResource, type PolicyWorld } from './iam.js';
export { buildGcpState, gcpDemoScenario, GCP_LAB_ORG, type LabGcpScenario, type LabGcpScenarioInstance, type LabGcpScenarioDisk } from './scenario.js';
export { LabGcpState, type LabAuditRecord, type LabGcpDisk, type LabGcpInstance, type LabGcpSnapshot, type LabGcpTag } from './state.js';
export type { LabGcpFault, LabGcpRequest, LabGcpServer } from './server.js';
export * from './policies.js';

export interface GcpLab {
  state: LabGcpState;
  server: LabGcpServer;
  /** For `gcp.endpoints`. */
  endpoints: { compute: string; iamCredentials: string; resourceManager: string; resourceManagerLocation: string };
  /** For `GCE_METADATA_HOST`: where ADC finds the orchestrator's token. */
  metadataHost: string;
  stop(): Promise<void>;
}

export interface StartGcpLabOptions {
  port?: number;
  /** Default: the shipped policies/gcp/ (createPolicyAuthorizer). */
  authorizer?: GcpAuthorizer;
  /** Bind the optional evidence-hold role in the default authorizer. */
  evidenceHold?: boolean;
  /** Permissions taken out of the shipped roles in the default authorizer (a test proving the need). */
  withoutPermissions?: readonly string[];
  settings?: Partial<ComputeSettings>;
  now?: () => number;
}

export async function startGcpLab(scenario: LabGcpScenario, options: StartGcpLabOptions = {}): Promise<GcpLab> {
  const state = buildGcpState(scenario, options.now);
  const authorizer =
    options.authorizer ??
    createPolicyAuthorizer({
      orgId: scenario.orgId,
      forensicsProject: scenario.forensicsProject,
      orchestrator: scenario.orchestrator,
      targetProjects: scenario.projects.map((p) => p.id),
      collectorFor: state.collectorFor,
      ...(options.evidenceHold ? { evidenceHold: true } : {}),
      ...(options.withoutPermissions ? { withoutPermissions: options.withoutPermissions } : {}),
    });
  const server = await startGcpServer({
    state,
    authorizer,
    settings: { operationPolls: 1, serialPageBytes: 64 * 1024, snapshotQuota: 1000, ...options.settings },
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  return {
    state,
    server,
    endpoints: { compute: server.url, iamCredentials: server.url, resourceManager: server.url, resourceManagerLocation: `${server.url}${LOCATION_PREFIX}{location}` },
    metadataHost: `${server.host}:${server.port}`,
    stop: () => server.stop(),
  };
}
