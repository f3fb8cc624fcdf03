/**
 * Volatile state through `pods/exec`: the allow-listed commands, run one at a time in each
 * running container. Each command is recorded exactly (`exec.requested`) before it runs; its
 * stdout is streamed into the case folder and hashed while written; the kubelet's status decides
 * the recorded result. A command the image lacks is recorded as `command-not-found` and the next
 * one runs. If RBAC refuses exec, the remaining commands are not attempted.
 */
import { PassThrough, Writable } from 'node:stream';
import type { V1Status } from '@kubernetes/client-node';
import { CustodyError } from '../../core/errors.js';
import { callKubernetes } from './call.js';
import type { ContainerInfo, PodRun } from './collect-pod.js';
import { safeName } from './collect-pod.js';
import { volatileCommands } from './commands.js';
import type { VolatileCommand } from './commands.js';

const MAX_STDERR = 64 * 1024;
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

function boundedSink(limit: number): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (size < limit) chunks.push(chunk.subarray(0, limit - size));
      size += chunk.length;
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') + (size > limit ? `\n[… ${size - limit} more bytes not kept]\n` : '') };
}

async function runOne(run: PodRun, container: ContainerInfo, command: VolatileCommand): Promise<void> {
  const { namespace, pod } = run.target;
  const { recorder } = run.ctx;
  const argv = [...command.argv];
  const base = `exec-${safeName(container.name)}-${command.name}`;
  const stdoutPath = `evidence/${run.evidenceId}/${base}.out`;
  if (recorder.entries().some((e) => e.type === 'evidence.stored' && e.data.path === stdoutPath)) return; // a resumed case ran it already
  await recorder.record('exec.requested', { container: container.name, command: argv, purpose: command.why }, run.key);

  const stdout = new PassThrough();
  const stderr = boundedSink(MAX_STDERR);
  let status: V1Status | undefined;
  let settle: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (settle = resolve));
  const query = new URLSearchParams({ container: container.name, stdout: 'true', stderr: 'true' });
  for (const arg of argv) query.append('command', arg);
  const source = `/api/v1/namespaces/${namespace}/pods/${pod}/exec?${query.toString()}`;

  const socket = await callKubernetes('execInPod', run.resource, () =>
    run.access.exec.exec(namespace, pod, container.name, argv, stdout, stderr.stream, null, false, (s) => {
      status = s;
      settle();
    }),
  ).catch(async (error: unknown) => {
    stdout.destroy();
    throw error;
  });
  // The status channel ends stdout; a socket that closes without one must end it too.
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    socket.close();
  }, EXEC_TIMEOUT_MS);
  const onAbort = () => socket.close();
  run.ctx.signal.addEventListener('abort', onAbort, { once: true });
  socket.on('close', () => {
    clearTimeout(timer);
    run.ctx.signal.removeEventListener('abort', onAbort);
    if (!stdout.writableEnded) stdout.end();
    settle();
  });
  const stored = await recorder.storeEvidence({
    evidenceId: run.evidenceId,
    name: `${base}.out`,
    kind: 'exec-output',
    source,
    content: stdout,
    mediaType: 'text/plain',
    target: run.key,
    cloudIds: { container: container.name, containerID: container.status?.containerID ?? '' },
  });
  run.stored.push(stored.name);
  await finished;
  const errText = stderr.text();
  let stderrFile: { path: string; sha256: string; size: number } | undefined;
  if (errText) {
    const e = await recorder.storeEvidence({ evidenceId: run.evidenceId, name: `${base}.err`, kind: 'exec-stderr', source, content: errText, mediaType: 'text/plain', target: run.key });
    run.stored.push(e.name);
    stderrFile = { path: e.path, sha256: e.sha256, size: e.size };
  }
  const outcome: ExecResult =
    !status && timedOut ? { result: 'failed', message: `no status after ${EXEC_TIMEOUT_MS / 1000} s: the session was closed` } : interpretExecStatus(status);
  await recorder.record(
    'exec.completed',
    {
      container: container.name,
      command: argv,
      ...outcome,
      stdout: { path: stored.path, sha256: stored.sha256, size: stored.size },
      ...(stderrFile ? { stderr: stderrFile } : {}),
    },
    run.key,
  );
}

/** Runs the allow-listed commands in every running, non-init container of `containers`. */
export async function runVolatileCommands(run: PodRun, containers: readonly ContainerInfo[]): Promise<void> {
  const commands = volatileCommands(run.ctx.options.includeEnv);
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
        if (error instanceof CustodyError && (error.code === 'E_ACCESS_DENIED' || error.code === 'E_NOT_FOUND' || error.code === 'E_LEDGER' || error.code === 'E_CREDENTIALS')) throw error;
        run.failures.push(error instanceof CustodyError ? error : new CustodyError('E_CLOUD', String((error as Error).message ?? error), { cause: error }));
        await run.ctx.recorder.record('step.failed', { step: `exec:${container.name}:${command.name}`, error: run.failures[run.failures.length - 1]!.toRecord() }, run.key);
      }
    }
  }
}
