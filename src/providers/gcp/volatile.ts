/**
 * Volatile first: serial port output (every configured port) and, when the instance has a display
 * device, a screenshot. Both exist only while the VM runs (docs/research/gcp.md §3.2), so they are
 * read before anything slower. Each port is paged with `start`/`next` until `next` stops moving;
 * the first `start` the API answered is recorded so overwritten output shows as a gap.
 */
import type { CaseRecorder } from '../../core/ports.js';
import { CustodyError, isStopSignal } from '../../core/errors.js';
import { storeOnce, type StoreOnceResult } from '../../core/kernel.js';
import type { Instance } from './describe.js';
import type { GcpSession } from './session.js';
import { gcpTargetKey, resourceNameOf, type GcpInstanceTarget } from './targets.js';

export interface VolatileResult {
  stored: string[];
  /** `absent`: there was nothing to take (no display device), which is not a failure. */
  unavailable: Array<{ what: string; reason: string; absent?: true }>;
}

const MAX_PAGES = 64;

export async function collectVolatile(
  session: GcpSession,
  recorder: CaseRecorder,
  target: GcpInstanceTarget,
  instance: Instance,
  evidenceId: string,
): Promise<VolatileResult> {
  const result: VolatileResult = { stored: [], unavailable: [] };
  const key = gcpTargetKey(target);
  const name = resourceNameOf(target);
  if (instance.status !== 'RUNNING') {
    const reason = `the instance is ${instance.status ?? 'in an unknown state'}: serial output and screenshots exist only while it runs`;
    await recorder.record('volatile.unavailable', { what: 'serial-port-output, screenshot', status: instance.status ?? null, reason }, key);
    result.unavailable.push({ what: 'serial ports and screenshot', reason });
    return result;
  }
  for (const port of session.config.serialPorts) {
    try {
      let start = 0;
      let firstStart: string | undefined;
      let next = '0';
      const chunks: string[] = [];
      let reachedEnd = false;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const [output] = await session.call('getSerialPortOutput', target.project, name, evidenceId, (c, o) =>
          c.instances.getSerialPortOutput({ project: target.project, zone: target.zone, instance: target.instance, port, start }, o),
        );
        firstStart ??= String(output.start ?? '0');
        chunks.push(output.contents ?? '');
        next = String(output.next ?? start);
        if (Number(next) <= start) {
          reachedEnd = true;
          break;
        }
        start = Number(next);
      }
      // Stored once per case (the kernel's storeOnce): a resumed run finds what an earlier one
      // stored, even if the console has grown since, as a result, not as a refusal to catch.
      const stored = await storeOnce(recorder, {
        evidenceId,
        name: `serial-port-${port}.txt`,
        kind: 'serial-port-output',
        source: `${name}/serialPort?port=${port}`,
        content: chunks.join(''),
        mediaType: 'text/plain',
        target: key,
        cloudIds: { instanceId: String(instance.id ?? ''), port: String(port), start: firstStart ?? '0', next },
      });
      result.stored.push(storedPath(evidenceId, stored));
      if (!reachedEnd && stored.status === 'stored') {
        // The file holds what was read, but the port had more: the record says where it stopped,
        // and the target is partial rather than collected on output that was cut.
        const reason = `serial port ${port}: reading stopped after ${MAX_PAGES} pages with more output from byte ${next} on`;
        await recorder.record('volatile.incomplete', { what: `serial-port-${port}`, pages: MAX_PAGES, start: firstStart ?? '0', next, reason }, key);
        result.unavailable.push({ what: `the rest of serial port ${port}`, reason });
      }
    } catch (error) {
      const e = error as CustodyError;
      if (isStopSignal(e)) throw error;
      await recorder.record('volatile.unavailable', { what: `serial-port-${port}`, error: e.toRecord?.() ?? { message: String(error) } }, key);
      result.unavailable.push({ what: `serial port ${port}`, reason: e.message });
    }
  }
  if (instance.displayDevice?.enableDisplay) {
    try {
      const [shot] = await session.call('getScreenshot', target.project, name, evidenceId, (c, o) =>
        c.instances.getScreenshot({ project: target.project, zone: target.zone, instance: target.instance }, o),
      );
      const stored = await storeOnce(recorder, {
        evidenceId,
        name: 'screenshot.png',
        kind: 'screenshot',
        source: `${name}/screenshot`,
        content: Buffer.from(shot.contents ?? '', 'base64'),
        mediaType: 'image/png',
        target: key,
        cloudIds: { instanceId: String(instance.id ?? '') },
      });
      result.stored.push(storedPath(evidenceId, stored));
    } catch (error) {
      const e = error as CustodyError;
      if (isStopSignal(e)) throw error;
      await recorder.record('volatile.unavailable', { what: 'screenshot', error: e.toRecord?.() ?? { message: String(error) } }, key);
      result.unavailable.push({ what: 'screenshot', reason: e.message });
    }
  } else {
    await recorder.record('volatile.unavailable', { what: 'screenshot', reason: 'the instance has no display device enabled (displayDevice.enableDisplay is not true)' }, key);
    result.unavailable.push({ what: 'screenshot', reason: 'no display device', absent: true });
  }
  return result;
}

/** Where the case holds the file: stored now, or by an earlier run under the name it recorded. */
function storedPath(evidenceId: string, result: StoreOnceResult): string {
  return result.status === 'stored' ? result.stored.path : `evidence/${evidenceId}/${result.name}`;
}
