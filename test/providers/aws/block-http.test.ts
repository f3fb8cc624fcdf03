/**
 * GetSnapshotBlock's connections (block-http.ts) against raw TCP and TLS servers that answer byte
 * for byte what a test writes: the body lands in the caller's buffer however the answer is framed
 * (Content-Length, chunked, until close) and however it is split over reads; connections are
 * reused, closed when either side says so, and a reused one that the server closed is replaced
 * once; failures carry Node's socket codes, which the SDK's retry classifiers know.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isTransientError } from '@smithy/core/retry';
import { BlockHttpPool } from '../../../src/providers/aws/block-http.js';

type Handler = (socket: Socket, request: string, index: number) => void;

const servers: Server[] = [];
const pools: BlockHttpPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

interface Started {
  url: string;
  /** Request heads received, in order, and the connection each came on. */
  requests: Array<{ head: string; connection: number }>;
}

/** A server that reads each request head and hands it to `handler` (n-th request overall). */
async function serve(handler: Handler, tls = false): Promise<Started> {
  const requests: Started['requests'] = [];
  let connections = 0;
  const onConnection = (socket: Socket) => {
    const connection = ++connections;
    let pending = '';
    socket.on('error', () => undefined);
    socket.on('data', (data) => {
      pending += data.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        requests.push({ head, connection });
        handler(socket, head, requests.length);
      }
    });
  };
  const server = tls
    ? createTlsServer({ key: readFileSync(new URL('../../fixtures/tls/localhost-key.pem', import.meta.url)), cert: readFileSync(new URL('../../fixtures/tls/localhost-cert.pem', import.meta.url)) }, onConnection)
    : createTcpServer(onConnection);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `${tls ? 'https' : 'http'}://${tls ? 'localhost' : '127.0.0.1'}:${port}`, requests };
}

function pool(url: string, extra: Partial<ConstructorParameters<typeof BlockHttpPool>[1]> = {}): BlockHttpPool {
  const p = new BlockHttpPool(url, { maxConnections: 4, ...extra });
  pools.push(p);
  return p;
}

const bytes = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
const ok = (body: Buffer, extra = '') => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.byteLength}\r\nx-amz-Checksum: c3Vt\r\nx-amzn-RequestId: r-1\r\n${extra}\r\n`), body]);

describe('block-http: GET into the caller\'s buffer', () => {
  it('sends the request head as given and reads a Content-Length body into the buffer, over one reused connection', async () => {
    const body = bytes(300_000);
    const server = await serve((socket) => socket.write(ok(body)));
    const p = pool(server.url);
    for (let i = 0; i < 3; i++) {
      const into = Buffer.alloc(512 * 1024);
      const got = await p.get(`/snapshots/snap-1/blocks/${i}?blockToken=a%2Bb`, { host: 'h.example', authorization: 'AWS4-HMAC-SHA256 x' }, into);
      expect(got).toMatchObject({ status: 200, length: body.byteLength, errorBody: undefined, headers: { 'x-amz-checksum': 'c3Vt', 'x-amzn-requestid': 'r-1' } });
      expect(into.subarray(0, got.length).equals(body)).toBe(true);
    }
    expect(server.requests.map((r) => r.head.split('\r\n'))).toEqual([0, 1, 2].map((i) => [`GET /snapshots/snap-1/blocks/${i}?blockToken=a%2Bb HTTP/1.1`, 'host: h.example', 'authorization: AWS4-HMAC-SHA256 x']));
    expect(new Set(server.requests.map((r) => r.connection)).size).toBe(1);
  });

  it('reads an answer split anywhere: inside the head, inside CRLF CRLF, a byte at a time', async () => {
    const body = bytes(5000, 7);
    const answer = ok(body);
    const cuts = [1, 20, answer.indexOf('\r\n\r\n') + 1, answer.indexOf('\r\n\r\n') + 3, answer.byteLength - 1];
    const server = await serve((socket, _head, n) => {
      if (n <= cuts.length) {
        const at = cuts[n - 1]!;
        socket.write(answer.subarray(0, at));
        setTimeout(() => socket.write(answer.subarray(at)), 20);
      } else {
        // A byte at a time.
        let i = 0;
        const next = () => {
          if (i >= answer.byteLength) return;
          socket.write(answer.subarray(i, i + 1));
          i += 1;
          setImmediate(next);
        };
        next();
      }
    });
    const p = pool(server.url, { maxConnections: 1 });
    for (let n = 0; n <= cuts.length; n++) {
      const into = Buffer.alloc(8192);
      const got = await p.get('/x', { host: 'h' }, into);
      expect(got.length).toBe(body.byteLength);
      expect(into.subarray(0, got.length).equals(body)).toBe(true);
    }
  });

  it('decodes a chunked body, with extensions and trailers, and keeps the connection', async () => {
    const body = bytes(70_000, 3);
    const parts = [body.subarray(0, 1), body.subarray(1, 40_000), body.subarray(40_000)];
    const chunked = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
      ...parts.flatMap((part, i) => [Buffer.from(`${part.byteLength.toString(16)}${i === 1 ? ';ext=1' : ''}\r\n`), part, Buffer.from('\r\n')]),
      Buffer.from('0\r\nx-trailer: t\r\n\r\n'),
    ]);
    const server = await serve((socket) => {
      // In three writes that cut through sizes and data.
      socket.write(chunked.subarray(0, 50));
      setTimeout(() => socket.write(chunked.subarray(50, 40_100)), 10);
      setTimeout(() => socket.write(chunked.subarray(40_100)), 20);
    });
    const p = pool(server.url);
    for (let i = 0; i < 2; i++) {
      const into = Buffer.alloc(100_000);
      const got = await p.get('/c', { host: 'h' }, into);
      expect(got.length).toBe(body.byteLength);
      expect(into.subarray(0, got.length).equals(body)).toBe(true);
    }
    expect(new Set(server.requests.map((r) => r.connection)).size).toBe(1);
  });

  it('reads a body that ends with the connection (HTTP/1.0, no length) and opens a new connection for the next request', async () => {
    const body = bytes(10_000, 9);
    const server = await serve((socket) => socket.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), body])));
    const p = pool(server.url);
    for (let i = 0; i < 2; i++) {
      const into = Buffer.alloc(20_000);
      const got = await p.get('/c', { host: 'h' }, into);
      expect(got.length).toBe(body.byteLength);
      expect(into.subarray(0, got.length).equals(body)).toBe(true);
    }
    expect(server.requests.map((r) => r.connection)).toEqual([1, 2]);
  });

  it('closes an idle connection on which the server sends bytes that answer nothing', async () => {
    const sockets: Socket[] = [];
    const server = await serve((socket) => {
      sockets.push(socket);
      socket.write(ok(bytes(10)));
    });
    // Idle connections are kept long here: only the stray bytes can close this one.
    const p = pool(server.url, { idleMs: 600_000 });
    await p.get('/a', { host: 'h' }, Buffer.alloc(64));
    let closed = false;
    sockets[0]!.once('close', () => (closed = true));
    sockets[0]!.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx');
    while (!closed) await new Promise((resolve) => setTimeout(resolve, 5));
    const got = await p.get('/b', { host: 'h' }, Buffer.alloc(64));
    expect(got.length).toBe(10);
    expect(server.requests.map((r) => r.connection)).toEqual([1, 2]);
  });

  it('closes the connection after an answer that says Connection: close', async () => {
    const server = await serve((socket) => socket.write(ok(bytes(10), 'Connection: close\r\n')));
    const p = pool(server.url);
    await p.get('/a', { host: 'h' }, Buffer.alloc(64));
    await p.get('/b', { host: 'h' }, Buffer.alloc(64));
    expect(server.requests.map((r) => r.connection)).toEqual([1, 2]);
  });

  it('gives an error answer\'s body (not into the buffer) and an interim 100 answer is skipped', async () => {
    const json = JSON.stringify({ Message: 'no such snapshot', Reason: 'SNAPSHOT_NOT_FOUND' });
    const server = await serve((socket) =>
      socket.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nx-amzn-ErrorType: ResourceNotFoundException\r\nContent-Length: ${json.length}\r\n\r\n${json}`),
    );
    const p = pool(server.url);
    const into = Buffer.alloc(64, 0xee);
    const got = await p.get('/a', { host: 'h' }, into);
    expect(got.status).toBe(404);
    expect(got.headers['x-amzn-errortype']).toBe('ResourceNotFoundException');
    expect(got.errorBody?.toString()).toBe(json);
    expect(into.every((b) => b === 0xee)).toBe(true);
  });

  it('refuses a body longer than the buffer and closes that connection', async () => {
    const server = await serve((socket) => socket.write(ok(bytes(100))));
    const p = pool(server.url);
    await expect(p.get('/a', { host: 'h' }, Buffer.alloc(99))).rejects.toThrow('more than 99 bytes');
    const got = await p.get('/a', { host: 'h' }, Buffer.alloc(100));
    expect(got.length).toBe(100);
    expect(server.requests.map((r) => r.connection)).toEqual([1, 2]);
  });

  it('fails with ECONNRESET when the server closes mid-answer, a code the SDK retries', async () => {
    const server = await serve((socket) => {
      const answer = ok(bytes(1000));
      socket.end(answer.subarray(0, 500));
    });
    const p = pool(server.url);
    const error = await p.get('/a', { host: 'h' }, Buffer.alloc(2000)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECONNRESET' });
    expect(isTransientError(error as Parameters<typeof isTransientError>[0])).toBe(true);
  });

  it('sends a request again, once, on a new connection when a reused one was closed by the server before answering', async () => {
    const server = await serve((socket, _head, n) => {
      if (n === 2) socket.destroy();
      else socket.write(ok(bytes(10)));
    });
    const p = pool(server.url);
    await p.get('/a', { host: 'h' }, Buffer.alloc(64));
    const got = await p.get('/b', { host: 'h' }, Buffer.alloc(64));
    expect(got.status).toBe(200);
    expect(server.requests.map((r) => [r.head.split(' ')[1], r.connection])).toEqual([
      ['/a', 1],
      ['/b', 1],
      ['/b', 2],
    ]);

    // A new connection that fails is not sent again: the caller's retries decide.
    const refused = new BlockHttpPool('http://127.0.0.1:1', { maxConnections: 1 });
    pools.push(refused);
    await expect(refused.get('/a', { host: 'h' }, Buffer.alloc(8))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('fails with ECONNRESET on an answer that is not HTTP/1.1 or whose chunked encoding is broken', async () => {
    const answers = ['SSH-2.0-OpenSSH\r\n\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'];
    const server = await serve((socket, _head, n) => socket.write(answers[n - 1]!));
    const p = pool(server.url);
    for (let i = 0; i < answers.length; i++) {
      const error = await p.get('/a', { host: 'h' }, Buffer.alloc(64)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ECONNRESET' });
    }
  });

  it('fails with ETIMEDOUT when the server goes silent', async () => {
    const server = await serve(() => undefined);
    const p = pool(server.url, { timeoutMs: 100 });
    const error = await p.get('/a', { host: 'h' }, Buffer.alloc(8)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ETIMEDOUT' });
    expect(isTransientError(error as Parameters<typeof isTransientError>[0])).toBe(true);
  });

  it('holds requests beyond its connections in a queue, and a cancelled one fails with AbortError whether queued or sent', async () => {
    const held: Socket[] = [];
    const server = await serve((socket, head) => {
      if (head.includes('/hold')) held.push(socket);
      else socket.write(ok(bytes(10)));
    });
    const p = pool(server.url, { maxConnections: 1 });
    const sent = new AbortController();
    const queued = new AbortController();
    const first = p.get('/hold', { host: 'h' }, Buffer.alloc(64), sent.signal).catch((e: unknown) => e);
    const second = p.get('/queued', { host: 'h' }, Buffer.alloc(64), queued.signal).catch((e: unknown) => e);
    const third = p.get('/after', { host: 'h' }, Buffer.alloc(64));
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(server.requests.map((r) => r.head.split(' ')[1])).toEqual(['/hold']);
    queued.abort();
    sent.abort();
    expect(await first).toMatchObject({ name: 'AbortError' });
    expect(await second).toMatchObject({ name: 'AbortError' });
    expect((await third).status).toBe(200);
    expect(server.requests.map((r) => r.head.split(' ')[1])).toEqual(['/hold', '/after']);
  });

  it('refuses a header or path with a line break before sending anything', async () => {
    const server = await serve((socket) => socket.write(ok(bytes(1))));
    const p = pool(server.url);
    await expect(p.get('/a', { host: 'h', 'x-bad': 'v\r\nx-injected: 1' }, Buffer.alloc(8))).rejects.toThrow('line break');
    await expect(p.get('/a\r\nx: 1', { host: 'h' }, Buffer.alloc(8))).rejects.toThrow('line break');
    expect(server.requests).toEqual([]);
  });

  it('speaks TLS to an https endpoint, checking the server\'s certificate', async () => {
    const body = bytes(200_000, 5);
    const server = await serve((socket) => socket.write(ok(body)), true);
    const p = pool(server.url, { tls: { ca: readFileSync(new URL('../../fixtures/tls/localhost-cert.pem', import.meta.url)) } });
    for (let i = 0; i < 2; i++) {
      const into = Buffer.alloc(256 * 1024);
      const got = await p.get('/t', { host: 'localhost' }, into);
      expect(got.length).toBe(body.byteLength);
      expect(into.subarray(0, got.length).equals(body)).toBe(true);
    }
    expect(new Set(server.requests.map((r) => r.connection)).size).toBe(1);

    // Without the test CA the certificate is refused.
    const untrusted = pool(server.url);
    await expect(untrusted.get('/t', { host: 'localhost' }, Buffer.alloc(256 * 1024))).rejects.toThrow(/self-signed|certificate/i);
  });
});
