/**
 * Authorization: every request the lab serves is put to an `Authorizer` as the request AWS would
 * evaluate (action, resource ARNs, condition keys). The built-in one encodes the collector role's
 * intent; tests can inject one backed by a policy simulator reading `policies/`.
 */
import { evaluateSessionPolicy } from './session-policy.js';
import type { LabPrincipal } from './state.js';

export interface AuthorizationRequest {
  principal: LabPrincipal;
  /** The account the request is made in. */
  account: string;
  region: string;
  /** `ec2:CreateSnapshots`, `sts:AssumeRole`, `kms:DescribeKey`, … */
  action: string;
  /** ARNs the action is authorised on (`*` for actions without resource-level permissions). */
  resources: string[];
  /** Condition keys: `aws:ResourceTag/…`, `aws:RequestTag/…`, `aws:TagKeys`, `ec2:CreateAction`, … */
  context: Record<string, string | string[]>;
}

/**
 * `denial` (optional) picks the wording of the service's error: no identity-based policy allows
 * (the default), no session policy allows, or an explicit deny.
 */
export type AuthorizationDecision =
  | { allowed: true }
  | { allowed: false; reason: string; denial?: 'identity' | 'session' | 'explicit' };

/** Decides one request. May be async (a simulator may be). */
export type Authorizer = (request: AuthorizationRequest) => AuthorizationDecision | Promise<AuthorizationDecision>;

export interface DefaultAuthorizerOptions {
  forensicsAccount: string;
  collectorRoleName?: string;
  collectionTag?: { key: string; value: string };
  caseTagKey?: string;
}

/**
 * Narrows any authorizer by the session's inline policy (AssumeRole `Policy`), as AWS does: the
 * session may do only what both allow.
 */
export function withSessionPolicy(inner: Authorizer): Authorizer {
  return async (request) => {
    const decision = await inner(request);
    const policy = request.principal.sessionPolicy;
    if (!decision.allowed || policy === undefined) return decision;
    for (const resource of request.resources) {
      const result = evaluateSessionPolicy(policy, request.action, resource, request.context);
      if (result !== 'allowed') {
        return {
          allowed: false,
          reason: `the session policy does not allow ${request.action} on ${resource}`,
          denial: result === 'explicit-deny' ? 'explicit' : 'session',
        };
      }
    }
    return decision;
  };
}

/** Everything allowed: for labs that test something other than permissions. */
export const allowAll: Authorizer = () => ({ allowed: true });

// Evidence is never destroyed: no snapshot deleted, no object version removed, no retention bypassed.
const DESTRUCTIVE = /^ec2:(Delete|Terminate|Stop|Detach|Disable|Deregister)|^s3:(Delete|BypassGovernanceRetention$)/;
const READ_ONLY = /^(ec2:Describe|sts:GetCallerIdentity$|kms:DescribeKey$)/;
const CREATE_ACTIONS = new Set(['CreateSnapshots', 'CreateSnapshot', 'CopySnapshot']);
// Reads EC2 authorises on the resource with its tags, which the collector role holds to tagged ones.
const TAG_HELD_READS = new Set(['ec2:DescribeInstanceAttribute', 'ec2:DescribeSnapshotAttribute']);

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * The collector role's intent, simply: in target accounts a `CloudCustodyCollector` session may
 * read anything (an instance's attributes only when it is tagged, a snapshot's only when it
 * carries a case tag), act only on instances and
 * volumes carrying the collection tag, create snapshots
 * only with a `CaseId` tag at creation, share only with the forensics account, and never delete,
 * stop or terminate. Other principals (the orchestrator) may do anything but destroy. A session's
 * inline policy narrows all of this further.
 */
export function createDefaultAuthorizer(options: DefaultAuthorizerOptions): Authorizer {
  return withSessionPolicy(collectorIntent(options));
}

function collectorIntent(options: DefaultAuthorizerOptions): Authorizer {
  const collectorRole = options.collectorRoleName ?? 'CloudCustodyCollector';
  const tag = options.collectionTag ?? { key: 'ForensicsEnabled', value: 'true' };
  const caseTag = options.caseTagKey ?? 'CaseId';
  const deny = (reason: string): AuthorizationDecision => ({ allowed: false, reason });

  return (request) => {
    const { action, context } = request;
    if (DESTRUCTIVE.test(action)) return deny(`${action} is never allowed in the lab`);
    const isCollector =
      request.principal.kind === 'assumed-role' &&
      request.principal.roleName === collectorRole &&
      request.principal.account !== options.forensicsAccount;
    if (!isCollector) return { allowed: true };
    // The Describe actions EC2 authorises on the resource (and its tags), as the shipped policy grants them.
    if (READ_ONLY.test(action) && !TAG_HELD_READS.has(action)) return { allowed: true };

    const resource = request.resources[0] ?? '*';
    const tagged = single(context[`aws:ResourceTag/${tag.key}`]) === tag.value;
    const hasCaseTag = single(context[`aws:ResourceTag/${caseTag}`]) !== undefined;
    const requestsCaseTag = single(context[`aws:RequestTag/${caseTag}`]) !== undefined;
    const isNewSnapshot = /:snapshot\/\*$/.test(resource);

    switch (action) {
      case 'ec2:GetConsoleOutput':
      case 'ec2:GetConsoleScreenshot':
      case 'ec2:ModifyInstanceAttribute':
      case 'ec2:DescribeInstanceAttribute':
        return tagged ? { allowed: true } : deny(`${resource} lacks the tag ${tag.key}=${tag.value}`);
      case 'ec2:CreateSnapshots':
      case 'ec2:CreateSnapshot':
        if (isNewSnapshot) return requestsCaseTag ? { allowed: true } : deny(`new snapshots must be tagged ${caseTag}`);
        return tagged ? { allowed: true } : deny(`${resource} lacks the tag ${tag.key}=${tag.value}`);
      case 'ec2:CreateTags': {
        const createAction = single(context['ec2:CreateAction']);
        if (!createAction || !CREATE_ACTIONS.has(createAction)) return deny('tags may only be set when a snapshot is created');
        return requestsCaseTag ? { allowed: true } : deny(`tags at creation must include ${caseTag}`);
      }
      case 'ec2:CopySnapshot':
        if (isNewSnapshot) return requestsCaseTag ? { allowed: true } : deny(`copies must be tagged ${caseTag}`);
        return hasCaseTag ? { allowed: true } : deny(`only snapshots tagged ${caseTag} may be copied`);
      case 'ec2:ModifySnapshotAttribute': {
        const added = list(context['ec2:Add/userId']);
        if (added.some((id) => id !== options.forensicsAccount)) return deny('snapshots may be shared with the forensics account only');
        if (list(context['ec2:Add/group']).length > 0) return deny('snapshots may not be made public');
        return hasCaseTag ? { allowed: true } : deny(`only snapshots tagged ${caseTag} may be shared`);
      }
      case 'ec2:DescribeSnapshotAttribute':
        return hasCaseTag ? { allowed: true } : deny(`only the attributes of snapshots tagged ${caseTag} may be read`);
      case 'ec2:LockSnapshot':
        return hasCaseTag ? { allowed: true } : deny(`only snapshots tagged ${caseTag} may be locked`);
      case 'ebs:ListSnapshotBlocks':
      case 'ebs:GetSnapshotBlock': {
        // Reading a disk's blocks: only the snapshots of the session's own case.
        const sessionCase = request.principal.tags[caseTag];
        const snapshotCase = single(context[`aws:ResourceTag/${caseTag}`]);
        return sessionCase !== undefined && snapshotCase === sessionCase ? { allowed: true } : deny(`only snapshots tagged ${caseTag}=${sessionCase ?? '(the session has no case)'} may be read`);
      }
      default:
        if (action.startsWith('kms:')) return { allowed: true };
        return deny(`the collector role does not allow ${action}`);
    }
  };
}
