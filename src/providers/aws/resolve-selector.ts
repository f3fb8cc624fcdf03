/**
 * `tag:KEY=VALUE`: every instance carrying the tag, in every allowed account and configured
 * region. Each account and region searched is recorded with what it found and EC2's request ids
 * (`selector.searched`), and each that could not be searched with why (`step.failed`, step
 * `resolve-selector`): a role missing in one account must not hide the others
 * (src/core/selector-search.ts, as every provider records its searches).
 */
import { DescribeInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import { selectorKey } from '../../core/targets.js';
import { instanceTarget, type AwsInstanceTarget, type AwsTagSelector } from './targets.js';
import { partitionOfRegion } from '../shared/aws-names.js';
import type { CaseRecorder } from '../../core/ports.js';
import type { CaseState } from './case-state.js';
import { awsErrorText } from './call-aws.js';
import { allSettledOrThrow } from '../../core/kernel.js';
import { startSelectorSearch, type SearchScope } from '../../core/selector-search.js';

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
  // A call cut short by the run's stop says nothing about an account's access: the search ends.
  const search = startSelectorSearch({ recorder, selector: key, provider: 'aws', signal, describeError: awsErrorText, ...(searchIncomplete ? { searchIncomplete } : {}) });
  const scopes: Array<SearchScope & { account: string; region: string }> = [];
  for (const account of aws.allowedAccounts) for (const region of regions) scopes.push({ account, region, where: `account ${account} in ${region}`, fields: { account, region } });
  const filters = { [`tag:${selector.tagKey}`]: selector.value, 'instance-state-name': LIVE_STATES };

  // The searches run at once and finish in any order; `finish` tells their failures in `scopes` order.
  await allSettledOrThrow(
    scopes.map(async (where) => {
      const { account, region } = where;
      const partition = partitionOf(region);
      const answer = await search.scope(where, async () => {
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
        return { found: instances.map((i) => i.InstanceId as string).sort(), requestIds, detail: { filters } };
      });
      for (const id of answer?.found ?? []) found.push(instanceTarget(partition, region, account, id));
    }),
  );
  // Nothing could be searched at all: that is the selector failing, not an empty result.
  search.finish(scopes);
  // The orchestrator records `selector.resolved` with the targets.
  return found.sort((a, b) => a.arn.localeCompare(b.arn));
}
