/**
 * The rehearsal lab: loopback servers that speak the clouds' real wire protocols, so the
 * unchanged product can be pointed at them through endpoint configuration.
 *
 * @example
 * const lab = await startLab(demoScenario());
 * const sts = new STSClient({ endpoint: lab.endpoint, region: lab.region, credentials: lab.orchestratorCredentials });
 * // … run a case …
 * await lab.stop();
 */
import { createDefaultAuthorizer, type Authorizer } from './aws/authorizer.js';
import { LabClock } from './aws/clock.js';
import { LabControl, type CallCounts, type LatencySpec } from './aws/control.js';
import { startAwsServer } from './aws/server.js';
import { buildState, type LabScenario } from './aws/scenario.js';
import type { LabLimits, LabState } from './aws/state.js';

export type { Authorizer, AuthorizationDecision, AuthorizationRequest, DefaultAuthorizerOptions } from './aws/authorizer.js';
export { allowAll, createDefaultAuthorizer, withSessionPolicy } from './aws/authorizer.js';
export { evaluateSessionPolicy } from './aws/session-policy.js';
export type { CallCounts, FaultSpec, InstanceAttributeName, LatencySpec, TerminationSchedule } from './aws/control.js';
export { LabControl } from './aws/control.js';
export { ebsControl, EBS_LIMITS } from './aws/ebs-direct.js';
export { diskOfVolume, LabDisk, setVolumeDisk, EBS_BLOCK_SIZE, type LabDiskSpec } from './aws/disk-content.js';
export { LabClock } from './aws/clock.js';
export type { LabScenario, LabScenarioAccount, LabScenarioInstance, LabScenarioKey, LabScenarioRole, LabScenarioVolume } from './aws/scenario.js';
export { addInstance } from './aws/scenario.js';
export type { LabCredential, LabInstance, LabLimits, LabKey, LabPrincipal, LabRole, LabSnapshot, LabVolume, Tags } from './aws/state.js';
export { LabState } from './aws/state.js';
export { benchScenario, demoScenario, EVIDENCE_BUCKET } from './scenarios.js';
export type { LabBucket, LabObjectVersion } from './aws/s3-state.js';

export interface StartLabOptions {
  /** Default 0: any free port on 127.0.0.1. */
  port?: number;
  /** Decides every request; default: the collector role's intent (`createDefaultAuthorizer`). */
  authorizer?: Authorizer;
  /** Lab ms per real ms (default 1). Snapshot progress, session expiry and EC2 buckets follow it. */
  clockSpeed?: number;
  /** Overrides the scenario's snapshot completion time (lab ms). */
  snapshotDurationMs?: number;
  /** How long (lab ms) a terminated instance stays visible (default one hour). */
  terminatedVisibleMs?: number;
  /** Response latency (real ms). */
  latency?: number | LatencySpec;
  /** EC2 token-bucket throttling (default on). */
  throttling?: boolean;
  /** EC2 quotas: pending snapshots (100) and concurrent copies (20) per account and region. */
  limits?: Partial<LabLimits>;
}

export interface RunningLab {
  /** One URL for STS, EC2 and KMS: `http://127.0.0.1:<port>`. */
  endpoint: string;
  region: string;
  forensicsAccount: string;
  /** Long-lived keys of the orchestrator's role principal in the forensics account. */
  orchestratorCredentials: { accessKeyId: string; secretAccessKey: string };
  orchestratorRoleArn: string;
  state: LabState;
  control: LabControl;
  clock: LabClock;
  /** Every call so far, by account and action. */
  calls(): CallCounts;
  stop(): Promise<void>;
}

/** Starts the AWS lab for a scenario. */
export async function startLab(scenario: LabScenario, options: StartLabOptions = {}): Promise<RunningLab> {
  const clock = new LabClock({ speed: options.clockSpeed ?? 1 });
  const built = buildState(scenario, {
    clock,
    snapshotDurationMs: options.snapshotDurationMs,
    terminatedVisibleMs: options.terminatedVisibleMs,
    limits: options.limits,
  });
  const control = new LabControl(built.state, clock);
  if (options.latency !== undefined) control.setLatency(options.latency);
  if (options.throttling !== undefined) control.setThrottling(options.throttling);
  const authorizer = options.authorizer ?? createDefaultAuthorizer({ forensicsAccount: scenario.forensicsAccount });
  const server = await startAwsServer({ state: built.state, control, authorizer }, { port: options.port });
  return {
    endpoint: server.url,
    region: scenario.region,
    forensicsAccount: scenario.forensicsAccount,
    orchestratorCredentials: built.orchestratorCredentials,
    orchestratorRoleArn: built.orchestratorRoleArn,
    state: built.state,
    control,
    clock,
    calls: () => control.calls(),
    stop: () => server.close(),
  };
}
