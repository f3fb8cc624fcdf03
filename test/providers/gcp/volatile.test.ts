/**
 * Serial port output is paged (start/next) up to a fixed number of pages: output that goes on past
 * them is recorded as cut, and the target is partial, never collected on a file that stops short.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LabGcpState } from '../../../src/lab/gcp/index.js';
import { collectGcpTarget } from '../../../src/providers/gcp/collect.js';
import { parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { startGcpFixture, type GcpFixture } from './fixture.js';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

const WEB_1 = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
let fx: GcpFixture | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
});

describe('serial port output longer than the pages read', () => {
  it('is stored as far as it was read, recorded as volatile.incomplete with where it stopped, and leaves the target partial', async () => {
    // 16-byte pages: 64 pages read 1,024 bytes; port 2 is given more than that.
    fx = await startGcpFixture({ lab: { settings: { operationPolls: 1, serialPageBytes: 16 } }, config: { serialPorts: [1, 2] } });
    const key = LabGcpState.instanceKey('web-prod', 'us-central1-a', 'web-1');
    const port1 = fx.lab.state.instances.get(key)!.serial[1] ?? '';
    fx.lab.state.appendSerial(key, 2, 'x'.repeat(3000));
    const port2 = fx.lab.state.instances.get(key)!.serial[2]!;
    expect(port1.length).toBeLessThan(64 * 16);

    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget(WEB_1));

    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain('serial port 2: reading stopped after 64 pages with more output from byte 1024 on');
    expect(String(fx.recorder.fileNamed('serial-port-1.txt'))).toBe(port1);
    expect(String(fx.recorder.fileNamed('serial-port-2.txt'))).toBe(port2.slice(0, 1024));
    expect(fx.recorder.ofType('volatile.incomplete').map((e) => e.data)).toEqual([
      expect.objectContaining({ what: 'serial-port-2', pages: 64, start: '0', next: '1024' }),
    ]);
  });
});
