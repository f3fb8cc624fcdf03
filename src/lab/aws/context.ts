/**
 * What every handler gets: the lab, the caller, where the call was made, and `authorize`, which
 * puts a request to the Authorizer and turns a refusal into the service's own denial.
 */
import { Buffer } from 'node:buffer';
import type { Authorizer } from './authorizer.js';
import type { LabControl } from './control.js';
import { LabAwsError, type ServiceName } from './errors.js';
import type { LabCredential, LabPrincipal, LabState, Tags } from './state.js';

export interface LabContext {
  state: LabState;
  control: LabControl;
  authorizer: Authorizer;
}

export interface CallContext {
  lab: LabContext;
  service: ServiceName;
  principal: LabPrincipal;
  credential: LabCredential;
  /** The caller's account: EC2 and KMS calls act in it. */
  account: string;
  region: string;
  requestId: string;
}

export interface HandlerResult {
  status?: number;
  contentType: string;
  /** Several buffers are sent one after the other (a large body served without a copy). */
  body: string | Buffer | Buffer[];
  /** Extra response headers (S3 answers in headers: version id, checksum, retention). */
  headers?: Record<string, string>;
}

/** Condition keys every request carries about its principal. */
function principalContext(call: CallContext): Record<string, string | string[]> {
  const { principal } = call;
  const context: Record<string, string | string[]> = {
    'aws:PrincipalArn': principal.roleArn ?? principal.arn,
    'aws:PrincipalAccount': principal.account,
    'aws:RequestedRegion': call.region,
    'aws:userid': principal.userId,
  };
  for (const [key, value] of Object.entries(principal.tags)) context[`aws:PrincipalTag/${key}`] = value;
  if (principal.sourceIdentity) context['aws:SourceIdentity'] = principal.sourceIdentity;
  return context;
}

/** `aws:ResourceTag/<k>` keys for a resource's tags. */
export function resourceTagContext(tags: Tags): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
}

/** `aws:RequestTag/<k>` keys and `aws:TagKeys` for tags given in a request. */
export function requestTagContext(tags: Tags): Record<string, string | string[]> {
  const context: Record<string, string | string[]> = Object.fromEntries(
    Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v]),
  );
  if (Object.keys(tags).length > 0) context['aws:TagKeys'] = Object.keys(tags);
  return context;
}

/** The denial each service answers with when the Authorizer refuses. */
function denial(
  call: CallContext,
  action: string,
  resource: string,
  reason: string,
  kind: 'identity' | 'session' | 'explicit' = 'identity',
): LabAwsError {
  const who = call.principal.arn;
  const because =
    kind === 'explicit'
      ? 'with an explicit deny in an identity-based policy'
      : kind === 'session'
        ? `because no session policy allows the ${action} action`
        : `because no identity-based policy allows the ${action} action`;
  if (call.service === 'ec2') {
    // EC2 appends an opaque blob callers can decode with sts:DecodeAuthorizationMessage; the lab's
    // is the Authorizer's reason, base64-encoded, so a test can still read why.
    const encoded = Buffer.from(JSON.stringify({ allowed: false, action, resource, reason })).toString('base64');
    return new LabAwsError(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. User: ${who} is not authorized to perform: ${action} ` +
        `on resource: ${resource} ${because}. ` +
        `Encoded authorization failure message: ${encoded}`,
      403,
    );
  }
  if (call.service === 'kms') {
    return new LabAwsError(
      'AccessDeniedException',
      `User: ${who} is not authorized to perform: ${action} on resource: ${resource} ${because}`,
      400,
    );
  }
  if (call.service === 'ebs') {
    return new LabAwsError('AccessDeniedException', `User: ${who} is not authorized to perform: ${action} on resource: ${resource} ${because}`, 403);
  }
  return new LabAwsError('AccessDenied', `User: ${who} is not authorized to perform: ${action} on resource: ${resource}`, 403);
}

/**
 * Asks the Authorizer about `action` on each resource in turn (each with its own condition keys,
 * as IAM evaluates them) and throws the service's denial naming the first refused resource.
 */
export async function authorize(
  call: CallContext,
  action: string,
  checks: Array<{ resource: string; context?: Record<string, string | string[]> }>,
): Promise<void> {
  for (const check of checks) {
    const decision = await call.lab.authorizer({
      principal: call.principal,
      account: call.account,
      region: call.region,
      action,
      resources: [check.resource],
      context: { ...principalContext(call), ...(check.context ?? {}) },
    });
    if (!decision.allowed) throw denial(call, action, check.resource, decision.reason, decision.denial);
  }
}

/** Like `authorize`, but answers yes/no instead of throwing (KMS use inside EC2 calls). */
export async function isAllowed(
  call: CallContext,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
): Promise<boolean> {
  const decision = await call.lab.authorizer({
    principal: call.principal,
    account: call.account,
    region: call.region,
    action,
    resources: [resource],
    context: { ...principalContext(call), ...context },
  });
  return decision.allowed;
}
