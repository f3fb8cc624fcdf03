/**
 * Volatile state through `pods/exec`: the allow-listed commands, run one at a time in each
 * running container. Each command is recorded exactly (`exec.requested`) before it runs; its
 * stdout is streamed into the case folder and hashed while written; the kubelet's status decides
 * the recorded result. A command the image lacks is recorded as `command-not-found` and the next
 * one runs. If RBAC refuses exec, the remaining commands are not attempted.
 */
import type { V1Status } from '@kubernetes/client-node';
import { CustodyError, isStopSignal } from '../../core/errors.js';
import { openExecStream } from './exec-stream.js';
import type { ContainerInfo, PodRun } from './pod-run.js';
import { freshName, safeName, storedBefore } from './pod-run.js';
import { volatileCommands } from './commands.js';
import type { VolatileCommand } from './commands.js';

/** The allow-listed commands finish in milliseconds; one that has not ended by then is abandoned. */
export const EXEC_TIMEOUT_MS = 60_000;

export type ExecResult =
  | { result: 'exited'; exitCode: number }
  | { result: 'command-not-found'; exitCode?: number; message: string }
  | { result: 'failed'; reason?: string; message: string };

/**
 * What the kubelet's status says. containerd reports a missing binary as an InternalError
 * ("executable file not found"), CRI-O and others as exit code 126/127.
 */
export function interpretExecStatus(status: V1Status | undefined): ExecResult {
  if (!status) return { result: 'failed', message: 'the exec stream closed without a status' };
  if (status.status === 'Success') return { result: 'exited', exitCode: 0 };
  const message = status.message ?? '';
  const exitCause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const exitCode = exitCause?.message !== undefined ? Number(exitCause.message) : undefined;
  if (/executable file not found|no such file or directory|not found in \$PATH/i.test(message) || exitCode === 127 || exitCode === 126) {
    return exitCode === undefined ? { result: 'command-not-found', message } : { result: 'command-not-found', exitCode, message };
  }
  if (status.reason === 'NonZeroExitCode' && exitCode !== undefined && Number.isFinite(exitCode)) return { result: 'exited', exitCode };
  return { result: 'failed', ...(status.reason ? { reason: status.reason } : {}), message };
}


async function runOne(run: PodRun, container: ContainerInfo, command: VolatileCommand): Promise<void> {
  const { namespace, pod } = run.target;
  const { recorder } = run.ctx;
  const argv = [...command.argv];
  const base = `exec-${safeName(container.name)}-${command.name}`;
  const earlier = storedBefore(run, `${base}.out`);
  if (earlier) {
    run.stored.push(earlier); // a resumed case ran it already: never run a command twice
    return;
  }
  await recorder.record('exec.requested', { container: container.name, command: argv, purpose: command.why }, run.key);

  const query = new URLSearchParams({ container: container.name, stdout: 'true', stderr: 'true' });
  for (const arg of argv) query.append('command', arg);
  const source = `/api/v1/namespaces/${namespace}/pods/${pod}/exec?${query.toString()}`;
  const session = await openExecStream({
    access: run.access,
    operation: 'execInPod',
    resource: run.resource,
    namespace,
    pod,
    container: container.name,
    argv,
    signal: run.ctx.signal,
    idleTimeoutMs: EXEC_TIMEOUT_MS,
  });
  const stored = await recorder.storeEvidence({
    evidenceId: run.evidenceId,
    name: freshName(run, `${base}.out`),
    kind: 'exec-output',
    source,
    content: session.stdout,
    mediaType: 'text/plain',
    target: run.key,
    cloudIds: { container: container.name, containerID: container.status?.containerID ?? '' },
    ...(session.requestId ? { requestIds: [session.requestId] } : {}),
  });
  run.stored.push(stored.name);
  const { status, idleTimedOut } = await session.finished;
  const errText = session.stderrText();
  let stderrFile: { path: string; sha256: string; size: number } | undefined;
  if (errText) {
    const e = await recorder.storeEvidence({
      evidenceId: run.evidenceId,
      name: freshName(run, `${base}.err`),
      kind: 'exec-stderr',
      source,
      content: errText,
      mediaType: 'text/plain',
      target: run.key,
      ...(session.requestId ? { requestIds: [session.requestId] } : {}),
    });
    run.stored.push(e.name);
    stderrFile = { path: e.path, sha256: e.sha256, size: e.size };
  }
  const outcome: ExecResult =
    !status && idleTimedOut ? { result: 'failed', message: `nothing for ${EXEC_TIMEOUT_MS / 1000} s: the session was closed` } : interpretExecStatus(status);
  await recorder.record(
    'exec.completed',
    {
      container: container.name,
      command: argv,
      ...outcome,
      stdout: { path: stored.path, sha256: stored.sha256, size: stored.size },
      ...(stderrFile ? { stderr: stderrFile } : {}),
      ...(session.requestId ? { requestId: session.requestId } : {}),
    },
    run.key,
  );
}

/** Runs the allow-listed commands in every running, non-init container of `containers`. */
export async function runVolatileCommands(run: PodRun, containers: readonly ContainerInfo[]): Promise<void> {
  const commands = volatileCommands(run.ctx.options.includeEnv === true);
  for (const container of containers) {
    if (container.init || !container.status?.state?.running) {
      await run.ctx.recorder.record('exec.skipped', { container: container.name, reason: container.init ? 'init containers have finished: nothing runs to exec into' : 'the container is not running' }, run.key);
      continue;
    }
    for (const command of commands) {
      try {
        await runOne(run, container, command);
      } catch (error) {
        // Access denied or a vanished pod would fail every other command the same way.
        if (isStopSignal(error) || (error instanceof CustodyError && (error.code === 'E_ACCESS_DENIED' || error.code === 'E_NOT_FOUND' || error.code === 'E_CREDENTIALS'))) throw error;
        run.failures.push(error instanceof CustodyError ? error : new CustodyError('E_CLOUD', String((error as Error).message ?? error), { cause: error }));
        await run.ctx.recorder.record('step.failed', { step: `exec:${container.name}:${command.name}`, error: run.failures[run.failures.length - 1]!.toRecord() }, run.key);
      }
    }
  }
}
