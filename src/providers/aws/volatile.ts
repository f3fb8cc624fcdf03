/** Volatile evidence first: console output (and, asked for, the screenshot) before anything slower. */
import { GetConsoleOutputCommand, GetConsoleScreenshotCommand } from '@aws-sdk/client-ec2';
import type { EvidenceInput } from '../../core/ports.js';
import type { AwsInstanceTarget } from './targets.js';
import { runStep, storedBefore, storeEvidenceOnce, type TargetRun } from './run.js';

/**
 * Asks EC2 for the console output (volatile: its request leaves before the snapshot's) and
 * returns it as the file to store, held in memory; undefined when an earlier run of the case
 * stored it or the call failed (a `console-output` step failure). The caller stores it with
 * `storeConsoleOutput`, together with the instance's description: the two files share their
 * folder's fsync, and the target is not complete until both are stored.
 */
export async function fetchConsoleOutput(run: TargetRun<AwsInstanceTarget>): Promise<EvidenceInput | undefined> {
  const { target } = run;
  if (storedBefore(run, run.evidenceId, 'console-output.txt')) return undefined;
  const fetched = await runStep(run, 'console-output', async (): Promise<EvidenceInput> => {
    const { output, requestId } = await run.scope.caller.ec2(
      'getConsoleOutput',
      new GetConsoleOutputCommand({ InstanceId: target.instanceId }),
      target.arn,
      run.signal,
    );
    // EC2 returns the console base64-encoded; the evidence is the text the instance printed.
    const text = output.Output ? Buffer.from(output.Output, 'base64') : new Uint8Array();
    return {
      evidenceId: run.evidenceId,
      name: 'console-output.txt',
      kind: 'console-output',
      source: target.arn,
      content: text,
      mediaType: 'text/plain',
      target: target.arn,
      cloudIds: { instanceId: target.instanceId, ...(output.Timestamp ? { consoleTimestamp: output.Timestamp.toISOString() } : {}) },
      requestIds: requestId ? [requestId] : [],
    };
  });
  return fetched.ok ? fetched.value : undefined;
}

/** Stores what `fetchConsoleOutput` returned; a failure is a `console-output` step failure. */
export async function storeConsoleOutput(run: TargetRun<AwsInstanceTarget>, input: EvidenceInput): Promise<void> {
  await runStep(run, 'console-output', () => storeEvidenceOnce(run, input));
}

export async function collectScreenshot(run: TargetRun<AwsInstanceTarget>): Promise<void> {
  const { target } = run;
  if (storedBefore(run, run.evidenceId, 'console-screenshot.jpg')) return;
  await runStep(run, 'console-screenshot', async () => {
    const { output, requestId } = await run.scope.caller.ec2(
      'getConsoleScreenshot',
      new GetConsoleScreenshotCommand({ InstanceId: target.instanceId, WakeUp: false }),
      target.arn,
      run.signal,
    );
    await storeEvidenceOnce(run, {
      evidenceId: run.evidenceId,
      name: 'console-screenshot.jpg',
      kind: 'console-screenshot',
      source: target.arn,
      content: output.ImageData ? Buffer.from(output.ImageData, 'base64') : new Uint8Array(),
      mediaType: 'image/jpeg',
      target: target.arn,
      cloudIds: { instanceId: target.instanceId },
      requestIds: requestId ? [requestId] : [],
    });
  });
}
