/**
 * Test helper: an `Authorizer` for the lab that decides every request with the independent IAM
 * simulator against the shipped `policies/aws/*` — so a case run in the lab runs under exactly the
 * least privilege the platform team deploys (test-only: the simulator is AGPL and never reaches
 * `src/`).
 *
 * The lab hands each request's action, resource and condition keys. What IAM would also know
 * about the world, the helper adds from the lab's state: who owns a snapshot (and whom it is
 * shared with), which key an ARN is (its key policy), and that every lab account belongs to the
 * organisation (`aws:ResourceOrgID`).
 */
import type { AuthorizationRequest, Authorizer, LabState } from '../../src/lab/index.js';
import type { PolicyDocument } from '../../scripts/policies.js';
import { defaultWorld, simulateRequest, type PolicyWorld, type SimRequest, type SimVerdict } from '../policies/iam-simulator.js';

export interface SimulatorAuthorizer {
  authorizer: Authorizer;
  /** Every decision, in order: what a test reads to see what the case was refused. */
  decisions: Array<{ request: AuthorizationRequest; verdict: SimVerdict }>;
  /** Connect the lab once it is running (the authorizer is needed before the lab starts). */
  attach(state: LabState, region: string): void;
}

export function createSimulatorAuthorizer(overrides: Partial<PolicyWorld> = {}): SimulatorAuthorizer {
  let state: LabState | undefined;
  let world: PolicyWorld | undefined;
  const decisions: SimulatorAuthorizer['decisions'] = [];

  const authorizer: Authorizer = async (request) => {
    if (!state || !world) return { allowed: false, reason: 'the simulator authorizer is not attached to a lab' };
    // The one call AWS answers for any valid credentials: no policy can deny it.
    if (request.action === 'sts:GetCallerIdentity') return { allowed: true };
    const resource = request.resources[0] ?? '*';
    const simRequest = toSimRequest(world, state, request, resource);
    const verdict = await simulateRequest(world, simRequest);
    decisions.push({ request, verdict });
    return verdict.result === 'Allowed' ? { allowed: true } : { allowed: false, reason: verdict.reason };
  };

  return {
    authorizer,
    decisions,
    attach(labState, region) {
      state = labState;
      const base = defaultWorld(overrides);
      const forensicsKey = labState.resolveKey(base.forensicsAccount, region, 'alias/cloud-custody-forensics');
      world = { ...base, ...(forensicsKey ? { forensicsKeyArn: forensicsKey.arn } : {}) };
    },
  };
}

function accountOf(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account ? account : undefined;
}

function toSimRequest(world: PolicyWorld, state: LabState, request: AuthorizationRequest, resource: string): SimRequest {
  const context: Record<string, string | string[]> = { ...request.context };
  let resourceAccount = resource === '*' ? request.account : (accountOf(resource) ?? request.account);
  let keyKind: SimRequest['keyKind'];
  let snapshotSharedWith: string[] | undefined;

  const snapshotId = /:snapshot\/(snap-[0-9a-f]+)$/.exec(resource)?.[1];
  if (snapshotId) {
    const region = resource.split(':')[3] ?? '';
    const snapshot = state.region(region).snapshots.get(snapshotId);
    if (snapshot) {
      resourceAccount = snapshot.ownerId;
      context['ec2:Owner'] = snapshot.ownerId;
      context['aws:ResourceOrgID'] = world.organizationId;
      if (snapshot.ownerId !== request.principal.account && snapshot.createVolumePermissions.has(request.principal.account)) {
        snapshotSharedWith = [request.principal.account];
      }
    }
  }
  if (/:key\//.test(resource)) {
    context['aws:ResourceOrgID'] = world.organizationId;
    const key = state.keyByArn(resource);
    keyKind = key?.keyManager === 'AWS' ? 'aws-ebs' : key?.aliases.includes('alias/cloud-custody-forensics') ? 'forensics' : 'shareable';
  }
  if (/:role\//.test(resource)) context['aws:ResourceOrgID'] = world.organizationId;

  const sessionPolicy = request.principal.sessionPolicy ? (JSON.parse(request.principal.sessionPolicy) as PolicyDocument) : undefined;
  return {
    principal: request.principal.arn,
    action: request.action,
    resource,
    resourceAccount,
    context,
    ...(keyKind ? { keyKind } : {}),
    ...(snapshotSharedWith ? { snapshotSharedWith } : {}),
    ...(sessionPolicy ? { sessionPolicy } : {}),
  };
}
