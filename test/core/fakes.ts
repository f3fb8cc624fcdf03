// Small in-memory stand-ins for the recorder and a provider, for orchestrator tests.
import { CustodyError } from '../../src/core/errors.js';
import { parseConfig } from '../../src/providers/config.js';
import type { CustodyConfig } from '../../src/providers/config.js';
import type {
  ArtifactInput,
  CaseRecorder,
  EvidenceInput,
  LedgerEntry,
  PlannedStep,
  Provider,
  ProviderContext,
  StoredEvidence,
  TargetOutcome,
} from '../../src/core/ports.js';
import { isAwsTarget, isPodTarget, parseTarget, targetKey } from '../../src/providers/targets.js';
import type { Selector, Target } from '../../src/providers/targets.js';

export function testConfig(concurrency = { perScope: 10, total: 64 }): CustodyConfig {
  return parseConfig({
    concurrency,
    aws: { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222', '333333333333'] },
  });
}

export class MemoryRecorder implements CaseRecorder {
  readonly caseId = 'IR-TEST';
  readonly analyst = 'alice';
  readonly caseDir = '/nonexistent/IR-TEST';
  readonly log: LedgerEntry[] = [];
  /** Makes the Nth write (1-based, counted from now) fail as an unwritable ledger. */
  failAtWrite: number | undefined;
  private writes = 0;

  constructor(earlier: Array<Pick<LedgerEntry, 'type' | 'target' | 'data'>> = []) {
    for (const entry of earlier) this.push(entry.type, entry.data, entry.target);
  }

  async record(type: string, data: Record<string, unknown> = {}, target?: string): Promise<LedgerEntry> {
    this.writes += 1;
    if (this.failAtWrite !== undefined && this.writes >= this.failAtWrite) {
      throw new CustodyError('E_LEDGER', 'cannot append to ledger.jsonl: disk full');
    }
    return this.push(type, data, target);
  }

  entries(): readonly LedgerEntry[] {
    return this.log;
  }

  async storeEvidence(input: EvidenceInput): Promise<StoredEvidence> {
    await this.record('evidence.stored', { evidenceId: input.evidenceId, name: input.name }, input.target);
    return { evidenceId: input.evidenceId, name: input.name, path: `evidence/${input.evidenceId}/${input.name}`, sha256: '0'.repeat(64), size: 0 };
  }

  recordArtifact(input: ArtifactInput): Promise<LedgerEntry> {
    return this.record('artifact.recorded', { evidenceId: input.evidenceId }, input.target);
  }

  ofType(type: string): LedgerEntry[] {
    return this.log.filter((e) => e.type === type);
  }

  private push(type: string, data: Record<string, unknown>, target?: string): LedgerEntry {
    const entry: LedgerEntry = {
      seq: this.log.length,
      time: new Date(0).toISOString(),
      type,
      actor: this.analyst,
      data,
      prev: '',
      hash: '',
      sig: '',
      ...(target === undefined ? {} : { target }),
    };
    this.log.push(entry);
    return entry;
  }
}

export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

type Behaviour = (target: Target, ctx: ProviderContext) => Promise<TargetOutcome>;

/** An AWS-shaped provider whose collect() does whatever the test says, and counts calls. */
export class FakeAwsProvider implements Provider {
  readonly name = 'aws';
  readonly collected: string[] = [];
  readonly resolved: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly maxInFlightByScope = new Map<string, number>();
  private readonly inFlightByScope = new Map<string, number>();
  behaviour: Behaviour = async (target, ctx) => {
    await ctx.recorder.record('snapshot.requested', {}, targetKey(target));
    return { target: targetKey(target), status: 'collected', evidenceIds: [`ev-${targetKey(target).slice(-8)}`] };
  };
  selectorResult: Target[] = [];

  constructor(private readonly allowed = ['222222222222', '333333333333']) {}

  handles(target: Target): boolean {
    return target.kind === 'aws-instance' || target.kind === 'aws-volume';
  }
  handlesSelector(selector: Selector): boolean {
    return selector.kind === 'aws-tag';
  }
  async resolveSelector(selector: Selector): Promise<Target[]> {
    this.resolved.push(selector.kind);
    return this.selectorResult;
  }
  validate(target: Target): void {
    if (isAwsTarget(target) && !this.allowed.includes(target.account)) {
      throw new CustodyError('E_ACCOUNT_NOT_ALLOWED', `account ${target.account} is not in aws.allowedAccounts`, { resource: targetKey(target) });
    }
  }
  scopeOf(target: Target): string {
    return isPodTarget(target) ? target.cluster : isAwsTarget(target) ? `${target.account}/${target.region}` : target.key;
  }
  plan(): PlannedStep[] {
    return [
      {
        step: 'snapshot',
        description: 'snapshot every volume',
        calls: [
          { api: 'ec2:CreateSnapshots', where: 'target account', mutates: true, permissions: [{ action: 'ec2:CreateSnapshots', resource: '*' }] },
          { api: 'ec2:DescribeSnapshots', where: 'target account', mutates: false, permissions: [{ action: 'ec2:DescribeSnapshots', resource: '*' }] },
        ],
      },
    ];
  }
  async collect(target: Target, ctx: ProviderContext): Promise<TargetOutcome> {
    const scope = this.scopeOf(target);
    this.collected.push(targetKey(target));
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const inScope = (this.inFlightByScope.get(scope) ?? 0) + 1;
    this.inFlightByScope.set(scope, inScope);
    this.maxInFlightByScope.set(scope, Math.max(this.maxInFlightByScope.get(scope) ?? 0, inScope));
    try {
      return await this.behaviour(target, ctx);
    } finally {
      this.inFlight -= 1;
      this.inFlightByScope.set(scope, (this.inFlightByScope.get(scope) ?? 1) - 1);
    }
  }
}

export function instance(account: string, n: number): Target {
  return parseTarget(`arn:aws:ec2:us-east-1:${account}:instance/i-${n.toString(16).padStart(17, '0')}`);
}
