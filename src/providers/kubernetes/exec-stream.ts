/**
 * One exec session as a readable stream of its stdout, with backpressure: when the case folder
 * cannot keep up (a multi-GiB checkpoint archive), the WebSocket is paused, so memory stays flat.
 * client-node writes each frame to stdout without waiting, so the pause happens here.
 */
import { PassThrough, Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import type { V1Status } from '@kubernetes/client-node';
import { callKubernetes } from './call.js';
import type { ClusterAccess } from './cluster-access.js';
import type { KubernetesOperationName } from './operations.js';
import { upgradeAuditId } from './exec-upgrade.js';

const MAX_STDERR = 64 * 1024;
const HIGH_WATER_MARK = 1024 * 1024;

export interface ExecStream {
  stdout: Readable;
  /** The first 64 KiB of stderr. */
  stderrText(): string;
  /** Resolves when the session ends: the kubelet's status, or none (closed, idle too long). */
  finished: Promise<{ status?: V1Status; idleTimedOut: boolean }>;
  /** The Audit-Id of the upgrade's 101 answer: the session's id in the API server's audit log. */
  requestId?: string;
}

export interface OpenExecInput {
  access: ClusterAccess;
  operation: KubernetesOperationName;
  /** For errors: `k8s:cluster/ns/pod`. */
  resource: string;
  namespace: string;
  pod: string;
  container: string;
  argv: string[];
  signal: AbortSignal;
  /** Close the session when nothing arrives for this long. */
  idleTimeoutMs: number;
}

/** Opens the session; rejects (mapped by `callKubernetes`) when the upgrade is refused. */
export async function openExecStream(input: OpenExecInput): Promise<ExecStream> {
  const out = new PassThrough({ highWaterMark: HIGH_WATER_MARK });
  const errChunks: Buffer[] = [];
  let errSize = 0;
  let socket: { pause(): void; resume(): void; close(): void; on(event: 'close', cb: () => void): void } | undefined;
  let paused = false;
  let timer: NodeJS.Timeout | undefined;
  let idleTimedOut = false;
  const armIdle = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idleTimedOut = true;
      socket?.close();
    }, input.idleTimeoutMs);
  };

  const stdout = new Writable({
    highWaterMark: HIGH_WATER_MARK,
    write(chunk: Buffer, _encoding, done) {
      armIdle();
      if (!out.write(chunk) && !paused && socket) {
        paused = true;
        clearTimeout(timer); // waiting on our own disk is not the server being idle
        socket.pause();
        out.once('drain', () => {
          paused = false;
          armIdle();
          socket?.resume();
        });
      }
      done();
    },
    final(done) {
      out.end();
      done();
    },
  });
  const stderr = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (errSize < MAX_STDERR) errChunks.push(chunk.subarray(0, MAX_STDERR - errSize));
      errSize += chunk.length;
      done();
    },
  });

  let settle: (value: { status?: V1Status; idleTimedOut: boolean }) => void = () => undefined;
  let status: V1Status | undefined;
  const finished = new Promise<{ status?: V1Status; idleTimedOut: boolean }>((resolve) => (settle = resolve));
  const ws = await callKubernetes(input.operation, input.resource, () =>
    input.access.exec.exec(input.namespace, input.pod, input.container, input.argv, stdout, stderr, null, false, (s) => {
      status = s;
    }),
  ).catch((error: unknown) => {
    out.destroy();
    throw error;
  });
  socket = ws;
  const requestId = upgradeAuditId(ws);
  armIdle();
  const onAbort = () => ws.close();
  input.signal.addEventListener('abort', onAbort, { once: true });
  // A reader that gives up (the case folder refused the file) destroys stdout: end the session
  // then, instead of leaving the socket open until the idle timeout.
  out.once('close', () => ws.close());
  ws.on('close', () => {
    clearTimeout(timer);
    input.signal.removeEventListener('abort', onAbort);
    if (!out.writableEnded) out.end();
    settle(status ? { status, idleTimedOut } : { idleTimedOut });
  });
  return {
    stdout: out,
    stderrText: () => Buffer.concat(errChunks).toString('utf8') + (errSize > MAX_STDERR ? `\n[… ${errSize - MAX_STDERR} more bytes not kept]\n` : ''),
    finished,
    ...(requestId ? { requestId } : {}),
  };
}
