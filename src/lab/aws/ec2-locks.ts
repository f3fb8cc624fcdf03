/**
 * EBS snapshot locks: LockSnapshot and DescribeLockedSnapshots. A compliance lock cannot be
 * changed once its cool-off period is over; the lock state is computed from the lab clock.
 */
import { authorize, resourceTagContext, type CallContext, type HandlerResult } from './context.js';
import { applyFilters, endIfDryRun, findOwnSnapshot, paginate, parseFilters, requireString, respond, snapshotArn } from './ec2-common.js';
import { invalidParameterValue, LabAwsError } from './errors.js';
import { getString, getStrings, type QueryTree } from './query.js';
import type { LabSnapshot, LabState } from './state.js';
import { items, type XmlChild } from './xml.js';

function lockState(state: LabState, snapshot: LabSnapshot): string | undefined {
  const lock = snapshot.lock;
  if (!lock) return undefined;
  const now = state.clock.now();
  if (now >= lock.expiresOn) return 'expired';
  if (lock.mode === 'compliance' && lock.coolOffHours !== undefined && now < lock.createdOn + lock.coolOffHours * 3600_000) {
    return 'compliance-cooloff';
  }
  return lock.mode;
}

function renderLock(state: LabState, snapshot: LabSnapshot): XmlChild[] {
  const lock = snapshot.lock;
  if (!lock) return [['snapshotId', snapshot.id]];
  return [
    ['ownerId', snapshot.ownerId],
    ['snapshotId', snapshot.id],
    ['lockState', lockState(state, snapshot)],
    ['lockDuration', lock.durationDays],
    ['coolOffPeriod', lock.coolOffHours],
    ['coolOffPeriodExpiresOn', lock.coolOffHours !== undefined ? new Date(lock.createdOn + lock.coolOffHours * 3600_000) : undefined],
    ['lockCreatedOn', new Date(lock.createdOn)],
    ['lockDurationStartTime', new Date(lock.createdOn)],
    ['lockExpiresOn', new Date(lock.expiresOn)],
  ];
}

async function lockSnapshot(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const { state } = call.lab;
  const snapshot = findOwnSnapshot(call, requireString(params, 'SnapshotId'));
  const mode = requireString(params, 'LockMode');
  if (mode !== 'compliance' && mode !== 'governance') throw invalidParameterValue(`Value (${mode}) for parameter lockMode is invalid.`);
  const durationText = getString(params, 'LockDuration');
  const expirationText = getString(params, 'ExpirationDate');
  const coolOffText = getString(params, 'CoolOffPeriod');
  if ((durationText === undefined) === (expirationText === undefined)) {
    throw new LabAwsError('InvalidParameterCombination', 'Specify either LockDuration or ExpirationDate, but not both.', 400);
  }
  const durationDays = durationText === undefined ? undefined : Number(durationText);
  if (durationDays !== undefined && (!Number.isInteger(durationDays) || durationDays < 1 || durationDays > 36500)) {
    throw invalidParameterValue(`Value (${durationText}) for parameter lockDuration is invalid. Expecting a value between 1 and 36500.`);
  }
  const coolOffHours = coolOffText === undefined ? undefined : Number(coolOffText);
  if (coolOffHours !== undefined) {
    if (mode !== 'compliance') throw new LabAwsError('InvalidParameterCombination', 'CoolOffPeriod can only be specified with compliance mode.', 400);
    if (!Number.isInteger(coolOffHours) || coolOffHours < 1 || coolOffHours > 72) {
      throw invalidParameterValue(`Value (${coolOffText}) for parameter coolOffPeriod is invalid. Expecting a value between 1 and 72.`);
    }
  }
  await authorize(call, 'ec2:LockSnapshot', [
    { resource: snapshotArn(snapshot.region, snapshot.id), context: resourceTagContext(snapshot.tags) },
  ]);
  endIfDryRun(params);
  const current = lockState(state, snapshot);
  if (current === 'compliance') {
    throw new LabAwsError('SnapshotLocked', `The snapshot '${snapshot.id}' is locked in compliance mode and the lock cannot be modified.`, 400);
  }
  const now = state.clock.now();
  const expiresOn = durationDays !== undefined ? now + durationDays * 86_400_000 : Date.parse(expirationText ?? '');
  if (!Number.isFinite(expiresOn) || expiresOn <= now) throw invalidParameterValue('The expiration date must be in the future.');
  snapshot.lock = { mode, createdOn: now, durationDays, coolOffHours, expiresOn };
  return respond(call, 'LockSnapshot', renderLock(state, snapshot));
}

async function describeLockedSnapshots(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const { state } = call.lab;
  const ids = getStrings(params, 'SnapshotId');
  await authorize(call, 'ec2:DescribeLockedSnapshots', [{ resource: '*' }]);
  endIfDryRun(params);
  const own = [...state.region(call.region).snapshots.values()].filter((s) => s.ownerId === call.account && s.lock);
  const candidates = ids.length > 0 ? own.filter((s) => ids.includes(s.id)) : own;
  const matched = applyFilters(candidates, parseFilters(params), ['lock-state'], (s, name) =>
    name === 'lock-state' ? [lockState(state, s) ?? ''] : undefined,
  );
  const { page, nextToken } = paginate(matched, params, {
    action: 'DescribeLockedSnapshots',
    min: 5,
    max: 1000,
    idsGiven: false,
    idsParameter: 'snapshotIdSet',
  });
  return respond(call, 'DescribeLockedSnapshots', [
    ['snapshotSet', items(page, (s) => renderLock(state, s))],
    ['nextToken', nextToken],
  ]);
}

export const lockHandlers: Record<string, (call: CallContext, params: QueryTree) => Promise<HandlerResult>> = {
  LockSnapshot: lockSnapshot,
  DescribeLockedSnapshots: describeLockedSnapshots,
};
