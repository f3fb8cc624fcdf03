/**
 * Collector sessions: from the forensics account's credentials, `sts:AssumeRole` into each target
 * account's collector role, attributed to the analyst (SourceIdentity) and the case (session
 * name, session tag). One session per account, shared by every target there, refreshed about two
 * minutes before it lapses. With `narrowSessionPolicy` the session carries an inline policy that
 * narrows it to the targets it was assumed for; a target the session does not cover yet makes
 * the next use re-assume with the wider set.
 */
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AwsConfig, CustodyConfig } from '../config.js';
import { CustodyError } from '../../core/errors.js';
import type { CaseRecorder } from '../../core/ports.js';
import { callAws } from './call-aws.js';
import { AwsClients } from './clients.js';
import { AWS_OPERATIONS, roleArnFor, type AwsOperation } from './operations.js';
import type { Clock } from './clock.js';

/** Refresh this long before the session expires. */
const REFRESH_MARGIN_MS = 2 * 60_000;
/** Beyond this many instance ARNs in one region, the session policy names `instance/*` there. */
const MAX_NAMED_RESOURCES = 10;

/** `custody-<caseId>`: only `[\w+=,.@-]`, at most 64 characters. */
export function sessionNameFor(caseId: string): string {
  return `custody-${caseId}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/**
 * SourceIdentity allows 2-64 characters of `[\w+=,.@-]`. An analyst given as an ARN becomes its
 * last path segment (the user or session name), which is what CloudTrail shows people anyway.
 */
export function sourceIdentityFor(analyst: string): string {
  const base = analyst.startsWith('arn:') ? (analyst.split('/').pop() ?? analyst) : analyst;
  const cleaned = base.replace(/[^\w+=,.@-]/g, '_').slice(0, 64);
  return cleaned.length >= 2 ? cleaned : `${cleaned}__`.slice(0, 2);
}

export interface CallerIdentity {
  account: string;
  arn: string;
  userId: string;
  requestId: string | undefined;
}

/**
 * Who the forensics credentials belong to: the default analyst when none is given.
 *
 * @example const { arn } = await resolveCallerIdentity(config); // arn:aws:sts::111111111111:assumed-role/Responder/alice
 */
export async function resolveCallerIdentity(
  config: CustodyConfig,
  deps: { credentials?: AwsCredentialIdentityProvider } = {},
): Promise<CallerIdentity> {
  if (!config.aws) throw new CustodyError('E_CONFIG', 'the config has no "aws" section');
  const clients = new AwsClients(config.aws, deps.credentials);
  try {
    const { output, requestId } = await callAws('getCallerIdentity', clients.sts(), new GetCallerIdentityCommand({}), {
      resource: `forensics account ${config.aws.forensicsAccount}`,
    });
    return { account: output.Account ?? '', arn: output.Arn ?? '', userId: output.UserId ?? '', requestId };
  } finally {
    clients.destroy();
  }
}

/** What a session must be allowed to touch in one account. */
export interface Coverage {
  partition: string;
  /** region → instance ARNs named, or '*' for every instance in the region. */
  instances: Map<string, Set<string> | '*'>;
  /** region → volume ARNs named, or '*'. */
  volumes: Map<string, Set<string> | '*'>;
  /** Bumped whenever something new must be covered. */
  version: number;
}

interface Session {
  identity: AwsCredentialIdentity;
  expiresAt: number;
  assumedAt: number;
  coveredVersion: number;
}

interface AccountState {
  coverage: Coverage;
  session?: Session;
  pending?: Promise<Session>;
  forceRenew: boolean;
  provider: AwsCredentialIdentityProvider;
}

export type AssumeReason = 'first' | 'expiring' | 'expired-token' | 'wider-scope';

export class CollectorSessions {
  private readonly accounts = new Map<string, AccountState>();
  private recorder: CaseRecorder | undefined;

  constructor(
    private readonly config: CustodyConfig & { aws: AwsConfig },
    private readonly clients: AwsClients,
    private readonly clock: Clock,
  ) {}

  private state(account: string, partition = 'aws'): AccountState {
    let state = this.accounts.get(account);
    if (!state) {
      const created: AccountState = {
        coverage: { partition, instances: new Map(), volumes: new Map(), version: 0 },
        forceRenew: false,
        provider: undefined as unknown as AwsCredentialIdentityProvider,
      };
      // `memoized` tells the SDK not to wrap its own cache around ours: we decide when to refresh.
      const provider = Object.assign(async () => (await this.ensureSession(account)).identity, { memoized: true });
      created.provider = provider;
      this.accounts.set(account, created);
      state = created;
    }
    return state;
  }

  /** The credentials provider the SDK clients for `account` use. */
  providerFor(account: string): AwsCredentialIdentityProvider {
    return this.state(account).provider;
  }

  /**
   * Declares what a session in `account` must cover: an instance or volume ARN, or (`'*'`) every
   * instance in a region (tag searches). Cheap and synchronous: call it before collecting.
   */
  cover(account: string, partition: string, region: string, what: { instanceArn?: string; volumeArn?: string; anyInstance?: boolean }): void {
    const { coverage } = this.state(account, partition);
    const add = (map: Map<string, Set<string> | '*'>, arn: string | '*') => {
      const current = map.get(region);
      if (current === '*') return;
      if (arn === '*') {
        map.set(region, '*');
        coverage.version += 1;
        return;
      }
      const set = current ?? new Set<string>();
      if (set.has(arn)) return;
      set.add(arn);
      map.set(region, set.size > MAX_NAMED_RESOURCES ? '*' : set);
      coverage.version += 1;
    };
    if (what.anyInstance) {
      add(coverage.instances, '*');
      add(coverage.volumes, '*');
    }
    if (what.instanceArn) {
      add(coverage.instances, what.instanceArn);
      // An instance's volumes are not known before it is described.
      add(coverage.volumes, '*');
    }
    if (what.volumeArn) add(coverage.volumes, what.volumeArn);
  }

  /**
   * Makes sure a live session exists for `account`, assuming the role if needed (recorded as
   * `credentials.assumed`). Throws `E_ACCESS_DENIED` / `E_CREDENTIALS` when STS refuses.
   */
  async ensure(account: string, recorder: CaseRecorder): Promise<void> {
    this.recorder = recorder;
    await this.ensureSession(account);
  }

  /**
   * After AWS said "expired": re-assume, unless a session newer than the failed call exists.
   * `since` is when the failed call started.
   */
  async refresh(account: string, since: number): Promise<void> {
    const state = this.state(account);
    if (state.session && state.session.assumedAt >= since) return;
    state.forceRenew = true;
    await this.ensureSession(account);
  }

  private async ensureSession(account: string): Promise<Session> {
    const state = this.state(account);
    for (;;) {
      if (state.pending) {
        // Waiters share the outcome: one refused AssumeRole is not retried by every target.
        await state.pending;
        continue;
      }
      const reason = this.renewReason(state);
      if (!reason) return state.session as Session;
      const pending = this.assume(account, state, reason);
      state.pending = pending;
      try {
        const session = await pending;
        state.session = session;
        if (reason === 'expired-token') state.forceRenew = false;
        // Coverage may have grown while we waited; loop to check.
      } finally {
        if (state.pending === pending) state.pending = undefined;
      }
    }
  }

  private renewReason(state: AccountState): AssumeReason | undefined {
    const session = state.session;
    if (!session) return 'first';
    if (state.forceRenew) return 'expired-token';
    if (session.expiresAt - REFRESH_MARGIN_MS <= this.clock.now()) return 'expiring';
    if (this.config.aws.narrowSessionPolicy && session.coveredVersion < state.coverage.version) return 'wider-scope';
    return undefined;
  }

  private async assume(account: string, state: AccountState, reason: AssumeReason): Promise<Session> {
    const recorder = this.recorder;
    if (!recorder) throw new CustodyError('E_INTERNAL', 'a collector session was needed before any case was given');
    const aws = this.config.aws;
    const roleArn = roleArnFor(this.config, account, state.coverage.partition);
    const sessionName = sessionNameFor(recorder.caseId);
    const sourceIdentity = sourceIdentityFor(recorder.analyst);
    const coveredVersion = state.coverage.version;
    const policy = aws.narrowSessionPolicy ? fitSessionPolicy(account, state.coverage) : undefined;
    const startedAt = this.clock.now();
    const { output, requestId } = await callAws(
      'assumeCollectorRole',
      this.clients.sts(),
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionName,
        SourceIdentity: sourceIdentity,
        Tags: [{ Key: 'CaseId', Value: recorder.caseId }],
        DurationSeconds: aws.sessionDurationSeconds,
        ...(aws.externalId ? { ExternalId: aws.externalId } : {}),
        ...(policy ? { Policy: JSON.stringify(policy) } : {}),
      }),
      { resource: roleArn },
    );
    const c = output.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) {
      throw new CustodyError('E_CREDENTIALS', `sts:AssumeRole on ${roleArn} returned no credentials`, { resource: roleArn, requestId });
    }
    const expiration = c.Expiration ?? new Date(startedAt + aws.sessionDurationSeconds * 1000);
    const session: Session = {
      identity: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration },
      // Measured on our clock from before the call: a skewed local clock cannot make a fresh
      // session look stale (and be re-assumed in a loop).
      expiresAt: startedAt + aws.sessionDurationSeconds * 1000,
      assumedAt: this.clock.now(),
      coveredVersion,
    };
    // Ids and times only: the secret key and session token never reach the ledger.
    await recorder.record('credentials.assumed', {
      account,
      roleArn,
      sessionName,
      assumedRoleId: output.AssumedRoleUser?.AssumedRoleId ?? null,
      arn: output.AssumedRoleUser?.Arn ?? null,
      // What STS's answer confirmed, not what was asked: AssumeRole echoes SourceIdentity (an
      // emulator may not), and never lists session tags; PackedPolicySize is its only sign of them.
      ...confirmedAttribution(output, sourceIdentity, { CaseId: recorder.caseId }),
      durationSeconds: aws.sessionDurationSeconds,
      expiration: expiration.toISOString(),
      externalIdUsed: aws.externalId !== undefined,
      sessionPolicy: policy
        ? summarisePolicy(policy)
        : aws.narrowSessionPolicy
          ? { narrowedTo: null, note: `a narrowing policy would exceed ${MAX_SESSION_POLICY_CHARS} characters: the role's own policy alone applies` }
          : null,
      reason,
      // AWS's clock minus this machine's when STS answered, as the SDK measured it from the
      // answer's Date (1 s resolution): the ledger's times are this machine's, and an examiner
      // lining them up with AWS's own (CloudTrail, a snapshot's StartTime) needs the difference.
      awsClockOffsetMs: Math.round(this.clients.sts().config.systemClockOffset ?? 0),
      requestId: requestId ?? null,
    });
    return session;
  }
}

/** Said where STS's answer lacks what the request carried. */
export const NOT_ECHOED = 'requested, not echoed';

/**
 * The attribution fields of `credentials.assumed`, from STS's answer: `sourceIdentity` is the
 * value the answer echoed, or `"requested, not echoed"` (a phrase no source identity can be: it
 * has spaces); `sessionTags` is always `"requested, not echoed"` because the AssumeRole answer
 * has no field for them; the requested values sit beside them, and `packedPolicySize` is the
 * answer's percentage of the packed policy and tag allowance used (null when absent).
 */
export function confirmedAttribution(
  output: { SourceIdentity?: string | undefined; PackedPolicySize?: number | undefined },
  requestedSourceIdentity: string,
  requestedTags: Record<string, string>,
): Record<string, unknown> {
  return {
    sourceIdentity: output.SourceIdentity ?? NOT_ECHOED,
    sourceIdentityRequested: requestedSourceIdentity,
    ...(output.SourceIdentity !== undefined && output.SourceIdentity !== requestedSourceIdentity ? { sourceIdentityDiffers: true } : {}),
    sessionTags: NOT_ECHOED,
    sessionTagsRequested: requestedTags,
    packedPolicySize: output.PackedPolicySize ?? null,
  };
}

interface PolicyStatement {
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
}
interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/**
 * The inline session policy: the collector role's actions (from `AWS_OPERATIONS`), on the named
 * instances (or every instance in a region a tag search covers), their volumes, the regions'
 * snapshots and the account's keys. The role's own policy still applies: this only narrows.
 */
export function sessionPolicyFor(account: string, coverage: Coverage): PolicyDocument {
  const byPattern = new Map<string, Set<string>>();
  for (const op of Object.values(AWS_OPERATIONS) as AwsOperation[]) {
    if (op.account !== 'target') continue;
    for (const need of op.permissions) {
      const set = byPattern.get(need.resource) ?? new Set<string>();
      set.add(need.action);
      byPattern.set(need.resource, set);
    }
  }
  const regions = [...new Set([...coverage.instances.keys(), ...coverage.volumes.keys()])].sort();
  const fill = (pattern: string, region: string) =>
    pattern.replaceAll('${Partition}', coverage.partition).replaceAll('${Region}', region).replaceAll('${Account}', account);
  const statements: PolicyStatement[] = [];
  for (const [pattern, actions] of byPattern) {
    const resources = new Set<string>();
    if (pattern === '*') {
      resources.add('*');
    } else {
      for (const region of regions) {
        const named = pattern.endsWith(':instance/*') ? coverage.instances.get(region) : pattern.endsWith(':volume/*') ? coverage.volumes.get(region) : '*';
        if (named === undefined) continue;
        if (named === '*') resources.add(fill(pattern, region));
        else for (const arn of named) resources.add(arn);
      }
    }
    if (resources.size === 0) continue;
    const list = [...resources].sort();
    statements.push({ Effect: 'Allow', Action: [...actions].sort(), Resource: list.length === 1 ? (list[0] as string) : list });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** STS refuses an inline session policy longer than this (plaintext characters). */
export const MAX_SESSION_POLICY_CHARS = 2048;

/**
 * The narrowest session policy that STS accepts: named instances if it fits, else every
 * instance of the covered regions; if even that is too long (many regions), none, and the
 * role's own policy alone decides (recorded as `sessionPolicy: null`).
 */
export function fitSessionPolicy(account: string, coverage: Coverage): PolicyDocument | undefined {
  const named = sessionPolicyFor(account, coverage);
  if (JSON.stringify(named).length <= MAX_SESSION_POLICY_CHARS) return named;
  const wide = sessionPolicyFor(account, {
    ...coverage,
    instances: new Map([...coverage.instances.keys()].map((r) => [r, '*' as const])),
    volumes: new Map([...coverage.volumes.keys()].map((r) => [r, '*' as const])),
  });
  return JSON.stringify(wide).length <= MAX_SESSION_POLICY_CHARS ? wide : undefined;
}

function summarisePolicy(policy: PolicyDocument): Record<string, unknown> {
  const resources = new Set<string>();
  for (const s of policy.Statement) for (const r of Array.isArray(s.Resource) ? s.Resource : [s.Resource]) resources.add(r);
  return { narrowedTo: [...resources].sort() };
}
