/**
 * Volatile state through `pods/exec`: the allow-listed commands, run one at a time in each
 * running container. Each command is recorded exactly (`exec.requested`) before it runs; its
 * stdout is streamed into the case folder and hashed while written; the kubelet's status decides
 * the recorded result. A command the image lacks is recorded as `command-not-found` and the next
 * one runs. If RBAC refuses exec, the remaining commands are not attempted.
 */
import type { V1Status } from '@kubernetes/client-node';
import { historyOf } from '../../core/case-history.js';
import { CustodyError, isCustodyError, isStopSignal } from '../../core/errors.js';
import type { LedgerEntry } from '../../core/ports.js';
import { auditIdOfError, statusOf } from './call.js';
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


const STARTED_BEFORE =
  "an earlier run of this case started it and was cut off before its result was on record: running it again would change the container a second time, and the first run's output (recoveredOutput, when the file was found) is the evidence";

const sameCommand = (entry: LedgerEntry, container: string, argv: readonly string[]) =>
  entry.data.container === container && entry.data.pod === undefined && Array.isArray(entry.data.command) && entry.data.command.join('\u0000') === argv.join('\u0000');

/**
 * The latest `exec.requested` of `argv` in `container` that has neither an `exec.completed` nor
 * an `exec.refused` after it: a run recorded the request (before it opened the session) and
 * ended before the answer was on record, so the command may have run.
 */
function startedUnanswered(run: PodRun, container: string, argv: readonly string[]): LedgerEntry | undefined {
  const history = historyOf(run.ctx.recorder);
  const last = (type: string) => history.about(type, run.key).findLast((e) => sameCommand(e, container, argv));
  const asked = last('exec.requested');
  if (!asked) return undefined;
  const answered = Math.max(last('exec.completed')?.seq ?? -1, last('exec.refused')?.seq ?? -1);
  return answered > asked.seq ? undefined : asked;
}

/** Output files of `base` that a resume recovered (`evidence.recovered`) for this pod: `.out` and `.err`, resumed copies too. */
function recoveredOutput(run: PodRun, base: string): Array<{ name: string; path: string }> {
  const ofBase = (name: string) => (name.endsWith('.out') || name.endsWith('.err')) && (name.length === base.length + 4 || name.startsWith(`${base}.resumed-`)) && name.startsWith(`${base}.`);
  return historyOf(run.ctx.recorder)
    .ofType('evidence.recovered')
    .filter((e) => e.data.evidenceId === run.evidenceId && typeof e.data.name === 'string' && ofBase(e.data.name))
    .map((e) => ({ name: String(e.data.name), path: String(e.data.path) }));
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
  const started = startedUnanswered(run, container.name, argv);
  if (started) {
    // Like a checkpoint asked for and never answered: not asked again, and the ledger says why.
    const recovered = recoveredOutput(run, base);
    run.stored.push(...recovered.map((r) => r.name));
    await recorder.record(
      'exec.skipped',
      { container: container.name, command: argv, reason: STARTED_BEFORE, requestedSeq: started.seq, recoveredOutput: recovered.map((r) => r.path) },
      run.key,
    );
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
  }).catch(async (error: unknown) => {
    // An HTTP answer other than 101 to the upgrade means no session was opened, so the command
    // never started: recorded as such, so a resumed case knows it may run it.
    const cause = isCustodyError(error) ? error.cause : error;
    const { status } = statusOf(cause);
    if (status !== undefined && !isStopSignal(error)) {
      const requestId = auditIdOfError(cause);
      await recorder.record(
        'exec.refused',
        { container: container.name, command: argv, httpStatus: status, ...(requestId ? { requestId } : {}), error: isCustodyError(error) ? error.toRecord() : { message: String(error) } },
        run.key,
      );
    }
    throw error;
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
