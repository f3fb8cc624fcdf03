/**
 * Everything the provider keeps for one run of a case (provider.ts keys it by the run's signal):
 * its collector sessions (their names and tags carry the case id), its clients, and per account and region the shared describe batchers, snapshot
 * index, waiter and key cache. The forensics account has its own scope per region.
 */
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AwsConfig, CustodyConfig } from '../config.js';
import { AwsClients, type RetrySettings } from './clients.js';
import type { Clock } from './clock.js';
import { CollectorSessions } from './credentials.js';
import { ResourceDirectory } from './describe.js';
import { KeyDirectory } from './kms-keys.js';
import { MAX_CONCURRENT_COPIES, MAX_PENDING_SNAPSHOTS, Semaphore } from './limits.js';
import type { ForensicsScope, TargetScope } from './run.js';
import { ScopeCaller } from './scope.js';
import { CaseSnapshotIndex } from './snapshot-index.js';
import { SnapshotWaiter, type WaitSettings } from './snapshot-waiter.js';
import { VolumePlan } from './volume-plan.js';

export interface CaseStateOptions {
  config: CustodyConfig & { aws: AwsConfig };
  caseId: string;
  credentials: AwsCredentialIdentityProvider | undefined;
  clock: Clock;
  retry: RetrySettings;
  wait: WaitSettings;
  describeMaxAgeMs: number;
}

export class CaseState {
  readonly aws: AwsConfig;
  readonly clients: AwsClients;
  readonly sessions: CollectorSessions;
  /** Which target of this run snapshots each volume (earlier runs' holders are in the ledger). */
  readonly volumes = new VolumePlan();
  private readonly scopes = new Map<string, TargetScope>();
  private readonly forensicsScopes = new Map<string, ForensicsScope>();
  private readonly waiters: SnapshotWaiter[] = [];

  constructor(private readonly options: CaseStateOptions) {
    this.aws = options.config.aws;
    this.clients = new AwsClients(this.aws, options.credentials, options.retry);
    this.sessions = new CollectorSessions(options.config, this.clients, options.clock);
  }

  targetScope(account: string, region: string, partition: string): TargetScope {
    const key = `${account}/${region}`;
    let scope = this.scopes.get(key);
    if (!scope) {
      const { clock } = this.options;
      const caller = new ScopeCaller(
        { kind: 'target', account, region, partition },
        this.clients.forAccount(account, region, this.sessions.providerFor(account)),
        clock,
        (since) => this.sessions.refresh(account, since),
      );
      const waiter = new SnapshotWaiter(caller, clock, this.options.wait, 'describeSnapshots');
      this.waiters.push(waiter);
      scope = {
        caller,
        pendingSnapshots: new Semaphore(MAX_PENDING_SNAPSHOTS),
        copies: new Semaphore(MAX_CONCURRENT_COPIES),
        directory: new ResourceDirectory(caller, clock, this.options.describeMaxAgeMs),
        snapshots: new CaseSnapshotIndex(caller, this.options.caseId, 'describeSnapshots'),
        waiter,
        keys: new KeyDirectory(caller),
      };
      this.scopes.set(key, scope);
    }
    return scope;
  }

  forensicsScope(region: string, partition: string): ForensicsScope {
    let scope = this.forensicsScopes.get(region);
    if (!scope) {
      const { clock } = this.options;
      const caller = new ScopeCaller({ kind: 'forensics', account: this.aws.forensicsAccount, region, partition }, this.clients.forensics(region), clock, undefined);
      const waiter = new SnapshotWaiter(caller, clock, this.options.wait, 'describeForensicsSnapshots');
      this.waiters.push(waiter);
      scope = { caller, waiter, copies: new Semaphore(MAX_CONCURRENT_COPIES), snapshots: new CaseSnapshotIndex(caller, this.options.caseId, 'describeForensicsSnapshots') };
      this.forensicsScopes.set(region, scope);
    }
    return scope;
  }

  /** Snapshot-wait polls made so far (the benchmark separates them from other calls). */
  waitPolls(): number {
    return this.waiters.reduce((n, w) => n + w.polls, 0);
  }

  close(): void {
    for (const w of this.waiters) w.close();
    this.clients.destroy();
  }
}
