/**
 * STS over the query protocol: GetCallerIdentity and AssumeRole. AssumeRole enforces the target
 * role's trust (exact orchestrator role, SourceIdentity required, ExternalId), the role-chaining
 * one-hour cap, and keeps SourceIdentity, session tags and the inline policy on the session.
 */
import { authorize, requestTagContext, type CallContext, type HandlerResult } from './context.js';
import { LabAwsError } from './errors.js';
import { getList, getString, type QueryTree } from './query.js';
import type { LabPrincipal, Tags } from './state.js';
import { renderDocument, type XmlChild } from './xml.js';

const NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const NAME_PATTERN = /^[\w+=,.@-]+$/;

function respond(call: CallContext, action: string, result: XmlChild[]): HandlerResult {
  return {
    contentType: 'text/xml',
    body: renderDocument(`${action}Response`, NAMESPACE, [
      [`${action}Result`, result],
      ['ResponseMetadata', [['RequestId', call.requestId]]],
    ]),
  };
}

function validation(message: string): LabAwsError {
  return new LabAwsError('ValidationError', message, 400);
}

function getCallerIdentity(call: CallContext): HandlerResult {
  return respond(call, 'GetCallerIdentity', [
    ['UserId', call.principal.userId],
    ['Account', call.principal.account],
    ['Arn', call.principal.arn],
  ]);
}

function parseTags(params: QueryTree): Tags {
  const tags: Tags = {};
  for (const entry of getList(params, 'Tags', { member: true })) {
    if (typeof entry !== 'object') continue;
    const key = typeof entry.Key === 'string' ? entry.Key : undefined;
    const value = typeof entry.Value === 'string' ? entry.Value : '';
    if (!key) throw validation('1 validation error detected: Value null at \'tags.member.key\' failed to satisfy constraint: Member must not be null');
    if (key in tags) throw validation('Duplicate tag keys found. Please note that Tag keys are case insensitive.');
    tags[key] = value;
  }
  if (Object.keys(tags).length > 50) throw validation('1 validation error detected: Value at \'tags\' failed to satisfy constraint: Member must have length less than or equal to 50');
  return tags;
}

async function assumeRole(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const { state } = call.lab;
  const roleArn = getString(params, 'RoleArn');
  const sessionName = getString(params, 'RoleSessionName');
  if (!roleArn) throw new LabAwsError('MissingParameter', 'The request must contain the parameter RoleArn', 400);
  if (!sessionName) throw new LabAwsError('MissingParameter', 'The request must contain the parameter RoleSessionName', 400);
  if (sessionName.length < 2 || sessionName.length > 64 || !NAME_PATTERN.test(sessionName)) {
    throw validation(
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: ` +
        'Member must satisfy regular expression pattern: [\\w+=,.@-]*',
    );
  }
  const sourceIdentity = getString(params, 'SourceIdentity');
  if (sourceIdentity !== undefined && (sourceIdentity.length < 2 || sourceIdentity.length > 64 || !NAME_PATTERN.test(sourceIdentity))) {
    throw validation(
      `1 validation error detected: Value '${sourceIdentity}' at 'sourceIdentity' failed to satisfy constraint: ` +
        'Member must satisfy regular expression pattern: [\\w+=,.@-]*',
    );
  }
  const externalId = getString(params, 'ExternalId');
  const policy = getString(params, 'Policy');
  if (policy !== undefined && policy.length > 2048) {
    throw validation(
      "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048",
    );
  }
  const tags = parseTags(params);
  const durationText = getString(params, 'DurationSeconds');
  const duration = durationText === undefined ? 3600 : Number(durationText);
  if (!Number.isInteger(duration) || duration < 900) {
    throw validation(
      `1 validation error detected: Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: ` +
        'Member must have value greater than or equal to 900',
    );
  }

  // The caller's own policy must allow AssumeRole (and tagging / setting the source identity).
  const requestContext: Record<string, string | string[]> = { ...requestTagContext(tags) };
  if (sourceIdentity) requestContext['sts:SourceIdentity'] = sourceIdentity;
  if (externalId) requestContext['sts:ExternalId'] = externalId;
  requestContext['sts:RoleSessionName'] = sessionName;
  await authorize(call, 'sts:AssumeRole', [{ resource: roleArn, context: requestContext }]);
  if (Object.keys(tags).length > 0) await authorize(call, 'sts:TagSession', [{ resource: roleArn, context: requestContext }]);
  if (sourceIdentity) await authorize(call, 'sts:SetSourceIdentity', [{ resource: roleArn, context: requestContext }]);

  // AWS does not say which part of the trust failed (nor whether the role exists): one message.
  const refused = new LabAwsError(
    'AccessDenied',
    `User: ${call.principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    403,
  );
  const role = state.roles.get(roleArn);
  if (!role) throw refused;
  const callerRole = call.principal.roleArn ?? call.principal.arn;
  if (!role.trustedPrincipals.includes(callerRole)) throw refused;
  if (role.requireSourceIdentity && !sourceIdentity) throw refused;
  if (role.externalId !== undefined && role.externalId !== externalId) throw refused;

  // A role session assuming another role is role chaining: one hour at most.
  const limit = call.principal.isRoleSession ? Math.min(3600, role.maxSessionDurationSeconds) : role.maxSessionDurationSeconds;
  if (duration > limit) {
    throw validation(
      call.principal.isRoleSession && duration > 3600
        ? 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.'
        : `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
    );
  }

  const principal: LabPrincipal = {
    arn: `arn:aws:sts::${role.account}:assumed-role/${role.name}/${sessionName}`,
    account: role.account,
    kind: 'assumed-role',
    userId: `${role.roleId}:${sessionName}`,
    roleArn: role.arn,
    roleName: role.name,
    sessionName,
    sourceIdentity: sourceIdentity ?? call.principal.sourceIdentity,
    tags: { ...role.tags, ...tags },
    sessionPolicy: policy,
    isRoleSession: true,
  };
  const expiresAt = state.clock.now() + duration * 1000;
  const credential = {
    accessKeyId: state.ids.accessKeyId('ASIA'),
    secretAccessKey: state.ids.secret(),
    sessionToken: state.ids.sessionToken(),
    expiresAt,
    principal,
  };
  state.credentials.set(credential.accessKeyId, credential);

  // PackedPolicySize is the percentage of the packed limit the policy and tags use.
  const packed = (policy?.length ?? 0) + JSON.stringify(tags).length;
  return respond(call, 'AssumeRole', [
    [
      'Credentials',
      [
        ['AccessKeyId', credential.accessKeyId],
        ['SecretAccessKey', credential.secretAccessKey],
        ['SessionToken', credential.sessionToken],
        ['Expiration', new Date(expiresAt)],
      ],
    ],
    [
      'AssumedRoleUser',
      [
        ['AssumedRoleId', principal.userId],
        ['Arn', principal.arn],
      ],
    ],
    ['PackedPolicySize', policy || Object.keys(tags).length > 0 ? Math.min(100, Math.ceil((packed / 2048) * 100)) : undefined],
    ['SourceIdentity', principal.sourceIdentity],
  ]);
}

/** Serves one STS action. */
export async function handleSts(call: CallContext, action: string, params: QueryTree): Promise<HandlerResult> {
  switch (action) {
    case 'GetCallerIdentity':
      return getCallerIdentity(call);
    case 'AssumeRole':
      return assumeRole(call, params);
    default:
      throw new LabAwsError('InvalidAction', `Could not find operation ${action} for version 2011-06-15`, 400);
  }
}
