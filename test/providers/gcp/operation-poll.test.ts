/**
 * `gcp.operationPollMs`: the pause between rounds of operation waits in which nothing finished.
 * 2 s unless the config says otherwise: the demo's lab, whose operations finish at the first
 * wait after the insert, need not pause two seconds for each round.
 */
import { describe, expect, it } from 'vitest';
import { collectGcpTarget } from '../../../src/providers/gcp/collect.js';
import { parseGcpConfig } from '../../../src/providers/gcp/config.js';
import { parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { ContentRecorder, useGcpFixtures } from './fixture.js';

const WEB_1 = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
const startFixture = useGcpFixtures();

/** The non-zero pauses a collection of web-1 asks for (each returned at once). */
async function pausesOf(config: Record<string, unknown>): Promise<number[]> {
  const fx = await startFixture({ config });
  const pauses: number[] = [];
  const recorder = new ContentRecorder();
  // Retries and READY polls pause 0 here: what is left is the operation waiter's idle pause.
  // No waitIdleDelayMs: the pause is the config's (or the default), as in a deployment.
  const session = fx.newSession(recorder, { sleep: async (ms) => void pauses.push(ms), waitIdleDelayMs: undefined });
  const outcome = await collectGcpTarget({ session, recorder }, parseGcpTarget(WEB_1));
  expect(outcome.status).toBe('collected');
  return pauses.filter((ms) => ms > 0);
}

describe('gcp.operationPollMs', () => {
  it('is the pause between wait rounds in which no operation finished: 2 s by default, the configured value when given', async () => {
    const byDefault = await pausesOf({});
    expect(byDefault.length).toBeGreaterThan(0);
    expect(new Set(byDefault)).toEqual(new Set([2000]));
    const configured = await pausesOf({ operationPollMs: 40 });
    expect(configured.length).toBeGreaterThan(0);
    expect(new Set(configured)).toEqual(new Set([40]));
  });

  it('is refused below 10 ms or above a minute', () => {
    const base = { forensicsProject: 'custody-forensics', allowedProjects: ['web-prod'] };
    expect(() => parseGcpConfig({ ...base, operationPollMs: 5 })).toThrow(/operationPollMs: Too small: expected number to be >=10/);
    expect(() => parseGcpConfig({ ...base, operationPollMs: 60_001 })).toThrow(/operationPollMs: Too big: expected number to be <=60000/);
  });
});
