/**
 * `aws.snapshotPollMs`: the pause before a snapshot's first DescribeSnapshots poll (from which the
 * polls back off). 1 s unless the config says otherwise: a lab whose snapshots finish in a few
 * hundred milliseconds (the demo's, the end-to-end tests') need not wait a second for each.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/providers/config.js';
import { createAwsProvider } from '../../../src/providers/aws/index.js';
import { systemClock, type Clock } from '../../../src/providers/aws/clock.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { contextFor } from './helpers.js';
import { useAwsLab, volumeArn } from './lab-fixture.js';

const world = useAwsLab({ scratchPrefix: 'custody-aws-poll-' });

/** The pauses the provider asks for, each slept for at most 25 ms of real time. */
function recordingClock(): Clock & { pauses: number[] } {
  const pauses: number[] = [];
  return { pauses, now: systemClock.now, sleep: (ms, signal) => (pauses.push(ms), systemClock.sleep(Math.min(ms, 25), signal)) };
}

async function firstPause(aws: Record<string, unknown>): Promise<number | undefined> {
  const clock = recordingClock();
  const config = parseConfig({ aws: { ...world.config.aws, ...aws } });
  const provider = createAwsProvider(config, { credentials: async () => world.lab.orchestratorCredentials, clock });
  const kase = await world.newCase('poll');
  try {
    const target = parseTarget(volumeArn(world.volumeNamed('web-01-data')));
    provider.validate(target);
    const outcome = await provider.collect(target, contextFor(kase));
    expect(outcome.status, outcome.reason).toBe('collected');
  } finally {
    await provider.close?.();
    await kase.release();
  }
  return clock.pauses[0];
}

describe('aws.snapshotPollMs', () => {
  it('is the first pause before polling a snapshot: 1 s by default, the configured value when given', async () => {
    expect(await firstPause({})).toBe(1000);
    expect(await firstPause({ snapshotPollMs: 40 })).toBe(40);
  });

  it('is refused below 10 ms or above a minute', () => {
    expect(() => parseConfig({ aws: { ...world.config.aws, snapshotPollMs: 5 } })).toThrow(/aws\.snapshotPollMs: Too small: expected number to be >=10/);
    expect(() => parseConfig({ aws: { ...world.config.aws, snapshotPollMs: 60_001 } })).toThrow(/aws\.snapshotPollMs: Too big: expected number to be <=60000/);
  });
});
