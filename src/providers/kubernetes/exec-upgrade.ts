/**
 * The exec WebSocket's upgrade answer carries the request's `Audit-Id`, like every other answer
 * of the API server, but client-node's `Exec` hands back only the opened socket. Its
 * `WebSocketHandler` takes a socket factory: the socket made here keeps the header of the 101
 * answer, read once the session is open (`upgradeAuditId`), and a refused upgrade fails with its
 * answer's id (`auditIdOfError`).
 */
import WebSocket from 'ws';
import type { KubeConfig } from '@kubernetes/client-node';
import { Exec } from '@kubernetes/client-node';
// Not re-exported by the package's index; the package has no `exports` map, so this is its public file.
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import { auditIdOf } from './call.js';

const auditIds = new WeakMap<object, string>();

function openSocket(uri: string, protocols: string[], opts: WebSocket.ClientOptions): WebSocket {
  const socket = new WebSocket(uri, protocols, opts);
  // 'upgrade' comes before 'open', so the id is known by the time Exec resolves with the socket.
  socket.once('upgrade', (res) => {
    const id = auditIdOf(res.headers);
    if (id) auditIds.set(socket, id);
  });
  // A refused upgrade (403, 404, …): ws would fail with "Unexpected server response: N" and drop
  // the answer; with this listener the error carries the answer's Audit-Id as well (the refusal
  // is filed in the audit log like any request). ws leaves the handshake to the listener.
  socket.once('unexpected-response', (_req, res) => {
    const id = auditIdOf(res.headers);
    res.resume();
    socket.emit('error', Object.assign(new Error(`Unexpected server response: ${res.statusCode ?? 0}`), id ? { headers: { 'audit-id': id } } : {}));
    socket.terminate();
  });
  return socket;
}

/** An `Exec` whose sessions remember their upgrade's Audit-Id. */
export function execClient(kc: KubeConfig): Exec {
  return new Exec(kc, new WebSocketHandler(kc, openSocket));
}

/** The Audit-Id of the 101 answer that opened `socket` (undefined when the server sent none). */
export function upgradeAuditId(socket: object): string | undefined {
  return auditIds.get(socket);
}
