/**
 * `tag:KEY=VALUE`: every instance carrying the tag, in every allowed account and configured
 * region. Each account and region searched is recorded with what it found, including searches
 * that failed (a role missing in one account must not hide the others).
 */
import { DescribeInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import { isCustodyError, CustodyError } from '../../core/errors.js';
import { selectorKey } from '../../core/targets.js';
import { instanceTarget, type AwsInstanceTarget, type AwsTagSelector } from './targets.js';
import { partitionOfRegion } from '../shared/aws-names.js';
import type { CaseRecorder } from '../../core/ports.js';
import type { CaseState } from './case-state.js';
import { isStopSignal } from './run.js';
import { awsErrorText } from './call-aws.js';
import { allSettledOrThrow } from '../../core/kernel.js';

/** The partition a region belongs to. */
export const partitionOf = partitionOfRegion;

/** States worth collecting: a terminated instance has no volumes left to snapshot. */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];

export async function resolveTagSelector(
  selector: AwsTagSelector,
  state: CaseState,
  recorder: CaseRecorder,
  signal: AbortSignal,
  searchIncomplete?: (scope: string, code: string) => void,
): Promise<AwsInstanceTarget[]> {
  const aws = state.aws;
  const key = selectorKey(selector);
  const regions = aws.regions ?? [aws.region];
  const found: AwsInstanceTarget[] = [];
  // By search, in the order of `searches`: the searches run at once, and finish in any order.
  const failures = new Map<number, CustodyError>();
  const searches: Array<{ account: string; region: string }> = [];
  for (const account of aws.allowedAccounts) for (const region of regions) searches.push({ account, region });

  await allSettledOrThrow(
    searches.map(async ({ account, region }, index) => {
      const partition = partitionOf(region);
      try {
        state.sessions.cover(account, partition, region, { anyInstance: true });
        await state.sessions.ensure(account, recorder);
        const scope = state.targetScope(account, region, partition);
        const instances: Instance[] = [];
        const owners = new Map<string, string>();
        const requestIds: string[] = [];
        let nextToken: string | undefined;
        do {
          const { output, requestId } = await scope.caller.ec2(
            'describeInstances',
            new DescribeInstancesCommand({
              Filters: [
                { Name: `tag:${selector.tagKey}`, Values: [selector.value] },
                { Name: 'instance-state-name', Values: LIVE_STATES },
              ],
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
            `instances tagged ${selector.tagKey}=${selector.value} in ${account} ${region}`,
            signal,
          );
          if (requestId) requestIds.push(requestId);
          for (const reservation of output.Reservations ?? []) {
            for (const instance of reservation.Instances ?? []) {
              if (!instance.InstanceId) continue;
              instances.push(instance);
              if (reservation.OwnerId) owners.set(instance.InstanceId, reservation.OwnerId);
            }
          }
          nextToken = output.NextToken;
        } while (nextToken);
        // The search already described them: collecting them needs no second DescribeInstances.
        scope.directory.seedInstances(instances, requestIds[0], owners);
        const ids = instances.map((i) => i.InstanceId as string).sort();
        await recorder.record('selector.searched', { selector: key, account, region, filters: { [`tag:${selector.tagKey}`]: selector.value, 'instance-state-name': LIVE_STATES }, found: ids, requestIds }, key);
        for (const id of ids) {
          found.push(instanceTarget(partition, region, account, id));
        }
      } catch (error) {
        // A call cut short by the run's stop says nothing about this account's access: the search ends.
        if (isStopSignal(error) || signal.aborted) throw error;
        const e = isCustodyError(error) ? error : new CustodyError('E_CLOUD', awsErrorText(error), { cause: error });
        failures.set(index, e);
        await recorder.record('step.failed', { step: 'resolve-selector', selector: key, account, region, error: e.toRecord() }, key);
      }
    }),
  );
  // Nothing could be searched at all: that is the selector failing, not an empty result.
  if (failures.size === searches.length && failures.get(0)) throw failures.get(0);
  searches.forEach(({ account, region }, index) => {
    const failure = failures.get(index);
    if (failure) searchIncomplete?.(`account ${account} in ${region}`, failure.code);
  });
  // The orchestrator records `selector.resolved` with the targets; failed searches are `step.failed` above.
  return found.sort((a, b) => a.arn.localeCompare(b.arn));
}
