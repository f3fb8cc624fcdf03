/**
 * Test helper: decides AWS requests against the shipped `policies/aws/*` with an independent IAM
 * policy simulator (`@cloud-copilot/iam-simulate`, AGPL — a dev dependency, so only tests and
 * test helpers may import it; never `src/`).
 *
 * A `PolicyWorld` is one organisation: the forensics account, its orchestrator role and key, the
 * collection tag. `simulateRequest` picks the policies AWS would evaluate for a request — the
 * caller's identity policy (and session policy), the resource policy (role trust policy, KMS key
 * policy), the organisation's SCPs — and returns the simulator's verdict with the statements
 * that decided it.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { fillPolicy, type PlaceholderValues, type PolicyDocument } from '../../scripts/policies.js';

export interface PolicyWorld {
  partition: string;
  forensicsAccount: string;
  organizationId: string;
  orchestratorRoleName: string;
  collectorRoleName: string;
  externalId: string;
  collectionTag: { key: string; value: string };
  forensicsKeyArn: string;
  /** Principals allowed to change the collection tag (the SCP's admin path). */
  tagAdminPrincipalArnPattern: string;
  responderPrincipalArnPattern: string;
}

export function defaultWorld(overrides: Partial<PolicyWorld> = {}): PolicyWorld {
  const forensicsAccount = overrides.forensicsAccount ?? '111111111111';
  return {
    partition: 'aws',
    forensicsAccount,
    organizationId: 'o-lab0000001',
    orchestratorRoleName: 'CloudCustodyOrchestrator',
    collectorRoleName: 'CloudCustodyCollector',
    externalId: 'cloud-custody-lab-external-id',
    collectionTag: { key: 'ForensicsEnabled', value: 'true' },
    forensicsKeyArn: `arn:aws:kms:us-east-1:${forensicsAccount}:key/0f0f0f0f-1111-2222-3333-444444444444`,
    tagAdminPrincipalArnPattern: 'arn:aws:iam::*:role/platform/tag-admin/*',
    responderPrincipalArnPattern: `arn:aws:iam::${forensicsAccount}:role/responders/*`,
    ...overrides,
  };
}

/** The forensics account's Object Lock bucket, as the forensics template names it in this world. */
export function evidenceBucketName(world: PolicyWorld): string {
  return `cloud-custody-evidence-${world.forensicsAccount}`;
}

export function orchestratorRoleArn(world: PolicyWorld): string {
  return `arn:${world.partition}:iam::${world.forensicsAccount}:role/${world.orchestratorRoleName}`;
}

export function collectorRoleArn(world: PolicyWorld, account: string): string {
  return `arn:${world.partition}:iam::${account}:role/${world.collectorRoleName}`;
}

/** Placeholder values for a policy installed in `account`. */
export function placeholderValues(world: PolicyWorld, account: string): PlaceholderValues {
  return {
    Partition: world.partition,
    AccountId: account,
    ForensicsAccountId: world.forensicsAccount,
    OrganizationId: world.organizationId,
    OrchestratorRoleArn: orchestratorRoleArn(world),
    ExternalId: world.externalId,
    CollectionTagKey: world.collectionTag.key,
    CollectionTagValue: world.collectionTag.value,
    CollectorRoleName: world.collectorRoleName,
    ForensicsKeyArn: world.forensicsKeyArn,
    ResponderPrincipalArnPattern: world.responderPrincipalArnPattern,
    TagAdminPrincipalArnPattern: world.tagAdminPrincipalArnPattern,
    EvidenceBucketArn: `arn:${world.partition}:s3:::${evidenceBucketName(world)}`,
  };
}

/** The shipped policies, filled for this world (target-account ones for `account`). */
export function shippedPolicies(world: PolicyWorld, account: string) {
  const values = placeholderValues(world, account);
  return {
    collectorTrust: fillPolicy('collector-trust-policy', values),
    collector: fillPolicy('collector-policy', values),
    orchestratorTrust: fillPolicy('orchestrator-trust-policy', values),
    orchestrator: fillPolicy('orchestrator-policy', placeholderValues(world, world.forensicsAccount)),
    orchestratorEvidenceBucket: fillPolicy('orchestrator-evidence-bucket-policy', placeholderValues(world, world.forensicsAccount)),
    evidenceBucket: fillPolicy('evidence-bucket-policy', placeholderValues(world, world.forensicsAccount)),
    forensicsKey: fillPolicy('forensics-kms-key-policy', placeholderValues(world, world.forensicsAccount)),
    shareableKey: fillPolicy('shareable-kms-key-policy', values),
    protectTagScp: fillPolicy('protect-collection-tag-scp', values),
  };
}

/** AWS's default SCP: without it, an SCP that only denies would deny everything. */
const FULL_AWS_ACCESS: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

/** The key policy AWS gives `aws/ebs`: anyone in the account, through EC2 only. */
function awsManagedEbsKeyPolicy(account: string, partition: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AllowThroughEc2ForPrincipalsInTheAccount',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:CallerAccount': account }, StringLike: { 'kms:ViaService': 'ec2.*.amazonaws.com' } },
      },
      {
        Sid: 'AllowDirectDescribeInTheAccount',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: ['kms:Describe*', 'kms:Get*', 'kms:List*'],
        Resource: '*',
      },
    ],
  };
}

function createVolumePermission(accounts: string[], partition: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'SharedWith',
        Effect: 'Allow',
        Principal: { AWS: accounts.map((a) => `arn:${partition}:iam::${a}:root`) },
        Action: ['ec2:CopySnapshot', 'ec2:CreateVolume', 'ec2:DescribeSnapshots'],
        Resource: '*',
      },
    ],
  };
}

export interface SimRequest {
  /** The caller: an assumed-role session ARN, a role ARN or a user ARN. */
  principal: string;
  action: string;
  resource: string;
  /** The account owning the resource (snapshot ARNs carry none). */
  resourceAccount: string;
  context?: Record<string, string | string[]>;
  /** Replaces the identity policy chosen from the principal (for other principals in a test). */
  identityPolicy?: PolicyDocument;
  sessionPolicy?: PolicyDocument;
  /** What the KMS key is, when the resource is a key: the resource policy follows from it. */
  keyKind?: 'shareable' | 'forensics' | 'aws-ebs';
  /** A snapshot of another account shared (createVolumePermission) with these accounts. */
  snapshotSharedWith?: string[];
}

export interface SimVerdict {
  result: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
  /** `<policy>#<Sid>` of the statements that allowed or denied. */
  allowedBy: string[];
  deniedBy: string[];
  /** A sentence naming action, resource and why. */
  reason: string;
}

export interface PrincipalParts {
  account: string;
  roleName?: string;
  roleArn?: string;
}

/** Account and role of a principal ARN (`arn:aws:sts::A:assumed-role/R/s`, `arn:aws:iam::A:role/p/R`). */
export function parsePrincipal(arn: string, partition = 'aws'): PrincipalParts {
  const parts = arn.split(':');
  const account = parts[4] ?? '';
  const rest = parts.slice(5).join(':');
  if (rest.startsWith('assumed-role/')) {
    const roleName = rest.split('/')[1] ?? '';
    return { account, roleName, roleArn: `arn:${partition}:iam::${account}:role/${roleName}` };
  }
  if (rest.startsWith('role/')) return { account, roleName: rest.split('/').pop(), roleArn: arn };
  return { account };
}

/** Runs one request through the simulator with the policies AWS would evaluate for it. */
export async function simulateRequest(world: PolicyWorld, request: SimRequest): Promise<SimVerdict> {
  const caller = parsePrincipal(request.principal, world.partition);
  const policies = shippedPolicies(world, request.resourceAccount);
  const callerPolicies = shippedPolicies(world, caller.account);

  let identity: PolicyDocument | undefined = request.identityPolicy;
  let identityName = 'identity';
  // The orchestrator role holds two policies (the bucket's only when the template creates it).
  let extraIdentity: { name: string; policy: PolicyDocument } | undefined;
  if (!identity && caller.roleName === world.collectorRoleName && caller.account !== world.forensicsAccount) {
    identity = callerPolicies.collector;
    identityName = 'collector-policy';
  } else if (!identity && caller.roleName === world.orchestratorRoleName && caller.account === world.forensicsAccount) {
    identity = callerPolicies.orchestrator;
    identityName = 'orchestrator-policy';
    extraIdentity = { name: 'orchestrator-evidence-bucket-policy', policy: callerPolicies.orchestratorEvidenceBucket };
  }

  let resourcePolicy: PolicyDocument | undefined;
  let resourcePolicyName = 'resource-policy';
  if (request.action.startsWith('sts:') && request.resource.includes(':role/')) {
    const role = parsePrincipal(request.resource, world.partition);
    if (role.roleName === world.collectorRoleName) {
      resourcePolicy = policies.collectorTrust;
      resourcePolicyName = 'collector-trust-policy';
    } else if (role.roleName === world.orchestratorRoleName && role.account === world.forensicsAccount) {
      resourcePolicy = policies.orchestratorTrust;
      resourcePolicyName = 'orchestrator-trust-policy';
    }
  } else if (request.action.startsWith('kms:') && request.resource.includes(':key/')) {
    const kind = request.keyKind ?? (request.resource === world.forensicsKeyArn ? 'forensics' : 'shareable');
    if (kind === 'forensics') {
      resourcePolicy = policies.forensicsKey;
      resourcePolicyName = 'forensics-kms-key-policy';
    } else if (kind === 'shareable') {
      resourcePolicy = policies.shareableKey;
      resourcePolicyName = 'shareable-kms-key-policy';
    } else {
      resourcePolicy = awsManagedEbsKeyPolicy(request.resourceAccount, world.partition);
      resourcePolicyName = 'aws-ebs-key-policy';
    }
  }

  if (request.action.startsWith('s3:') && request.resource.startsWith(`arn:${world.partition}:s3:::${evidenceBucketName(world)}`)) {
    resourcePolicy = shippedPolicies(world, world.forensicsAccount).evidenceBucket;
    resourcePolicyName = 'evidence-bucket-policy';
  }

  if (request.snapshotSharedWith && request.resource.includes(':snapshot/')) {
    // createVolumePermission is EC2's resource-based grant: it lets the accounts named use the snapshot.
    resourcePolicy = createVolumePermission(request.snapshotSharedWith, world.partition);
    resourcePolicyName = 'create-volume-permission';
  }

  const context: Record<string, string | string[]> = {
    'aws:PrincipalAccount': caller.account,
    'aws:PrincipalOrgID': world.organizationId,
    ...(caller.roleArn ? { 'aws:PrincipalArn': caller.roleArn } : { 'aws:PrincipalArn': request.principal }),
    ...(request.context ?? {}),
  };
  // KMS fills kms:CallerAccount itself.
  if (request.action.startsWith('kms:')) context['kms:CallerAccount'] = caller.account;

  const result = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: request.resourceAccount },
        contextVariables: context,
      },
      identityPolicies: [...(identity ? [{ name: identityName, policy: identity }] : []), ...(extraIdentity ? [extraIdentity] : [])],
      sessionPolicy: request.sessionPolicy,
      serviceControlPolicies: [
        {
          orgIdentifier: world.organizationId,
          policies: [
            { name: 'FullAWSAccess', policy: FULL_AWS_ACCESS },
            { name: 'protect-collection-tag-scp', policy: policies.protectTagScp },
          ],
        },
      ],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    },
    { simulationMode: 'Strict' },
  );
  if (result.resultType === 'error') {
    throw new Error(`simulation of ${request.action} on ${request.resource} failed: ${JSON.stringify(result.errors)}`);
  }
  const single = result.resultType === 'single' ? result.result : result.results[0];
  const overall = result.resultType === 'single' ? result.overallResult : (single?.analysis.result ?? 'ImplicitlyDenied');
  const analysis = single?.analysis;
  const label = (policyName: string) => (s: { statement: { sid(): string | undefined } }) =>
    `${policyName}#${s.statement.sid() ?? '(no Sid)'}`;
  // Statements are labelled with the policy they came from (the simulator names it).
  const labelOf = (s: { policyId: string; statement: { sid(): string | undefined } }, fallback: string) =>
    `${s.policyId || fallback}#${s.statement.sid() ?? '(no Sid)'}`;
  const allowedBy = [
    ...(analysis?.identityAnalysis?.allowStatements ?? []).map((s) => labelOf(s, identityName)),
    ...(analysis?.resourceAnalysis?.allowStatements ?? []).map(label(resourcePolicyName)),
  ];
  const deniedBy = [
    ...(analysis?.identityAnalysis?.denyStatements ?? []).map((s) => labelOf(s, identityName)),
    ...(analysis?.resourceAnalysis?.denyStatements ?? []).map(label(resourcePolicyName)),
    ...(analysis?.scpAnalysis?.ouAnalysis ?? []).flatMap((ou) => ou.denyStatements.map(label('scp'))),
  ];
  return { result: overall, allowedBy, deniedBy, reason: explain(request, overall, deniedBy) };
}

function explain(request: SimRequest, result: SimVerdict['result'], deniedBy: string[]): string {
  const head = `${request.action} on ${request.resource}`;
  if (result === 'Allowed') return `${head} is allowed`;
  if (result === 'ExplicitlyDenied') return `${head} is explicitly denied by ${deniedBy.join(', ')}`;
  return `${head} is not allowed by any statement of the shipped policies`;
}
