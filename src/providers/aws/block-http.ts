/**
 * Keep-alive HTTP/1.1 connections to one origin for GET requests whose answer body is read
 * straight into the caller's buffer: GetSnapshotBlock's transport (ebs-block-client.ts).
 *
 * Why not a general HTTP client: a disk hash reads ~1,000 blocks of 512 KiB a second. Node's
 * streams and the HTTP clients built on them (undici carried this before) allocate a new buffer
 * for every socket read and pass the bytes through their parser's own copy, so every block left
 * 512 KiB of short-lived external memory and ~50 KiB of JavaScript objects behind it: on a hash
 * thread the garbage collection that followed cost about as much CPU as checking the block's
 * SHA-256 (bench/README.md, "bench:hash"). Here every connection of the process reads into one
 * reused buffer (Node's `onread` option, for TCP and TLS alike) and a block's bytes are copied
 * once, from there into the caller's slot. The protocol surface is what EBS's answers need and no
 * more: GET only, status line and headers, a body framed by Content-Length, by chunked encoding
 * or by the connection's close, keep-alive unless either side says otherwise.
 *
 * Loaded by the hash threads as it is (Node strips its types): no enums, no parameter properties.
 */
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export interface BlockHttpResponse {
  status: number;
  /** Header names in lower case; a header sent twice keeps its first value. */
  headers: Record<string, string>;
  /** Bytes of a 2xx answer's body written into the caller's buffer. */
  length: number;
  /** The body of an answer that is not 2xx, at most `MAX_ERROR_BODY` bytes of it. */
  errorBody: Buffer | undefined;
}

export interface BlockHttpOptions {
  /** Connections kept to the origin at most; requests beyond wait for one. */
  maxConnections: number;
  /** TLS settings for an https origin (tests give their own CA; the product uses Node's defaults). */
  tls?: Pick<ConnectionOptions, 'ca' | 'rejectUnauthorized'>;
  /** A request whose connection sees no byte for this long fails with ETIMEDOUT (ms). */
  timeoutMs?: number;
  /** An idle connection is closed after this long (ms; default `IDLE_MS`). */
  idleMs?: number;
}

/** An error body is a small JSON document; more than this is not kept. */
const MAX_ERROR_BODY = 64 * 1024;
/** Status line and headers larger than this are refused. */
const MAX_HEAD = 64 * 1024;
/** An idle connection is closed after this long, before a server's own keep-alive timeout is likely to close it under a request. */
const IDLE_MS = 4_000;
const DEFAULT_TIMEOUT_MS = 120_000;
/** Every socket of the thread reads into this buffer; each read is consumed before the next one is made. */
const READ_BUFFER_BYTES = 256 * 1024;
let readBuffer: Buffer | undefined;

const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** An error as Node's sockets raise them (`code`), so the SDK's retry classifiers know it. */
function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A request cancelled by its signal: `AbortError`, with the signal's reason when it gave one. */
export function abortError(signal: AbortSignal): Error {
  const error = new Error(`the request was aborted${signal.reason instanceof Error ? ` (${signal.reason.message})` : ''}`);
  error.name = 'AbortError';
  return error;
}

interface Pending {
  head: string;
  into: Buffer;
  signal: AbortSignal | undefined;
  resolve: (r: BlockHttpResponse) => void;
  reject: (e: Error) => void;
  onAbort: () => void;
  /** Sent once more on a new connection if a reused one failed before answering. */
  retriedStale: boolean;
}

/** What is being read of the answer on a connection. */
type Phase = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'until-close' | 'done';

class Connection {
  readonly socket: Socket;
  request: Pending | undefined;
  /** Requests this connection answered in full. */
  served = 0;
  private phase: Phase = 'head';
  /** The head's bytes so far, when it did not come whole in one read. */
  private headSoFar: Buffer | undefined;
  private status = 0;
  private headers: Record<string, string> = {};
  private keepAlive = true;
  private remaining = 0;
  private length = 0;
  private errorChunks: Buffer[] | undefined;
  private errorBytes = 0;
  private line = '';
  private received = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly pool: BlockHttpPool;

  constructor(pool: BlockHttpPool, socket: Socket) {
    this.pool = pool;
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(networkError('ECONNRESET', 'the connection closed before the answer was complete')));
    socket.on('end', () => {
      if (this.phase === 'until-close' && this.request) return this.finish(false);
      socket.destroy();
    });
    socket.on('timeout', () => this.fail(networkError('ETIMEDOUT', 'no answer from the server in time')));
  }

  send(request: Pending): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.request = request;
    this.phase = 'head';
    this.headSoFar = undefined;
    this.status = 0;
    this.headers = {};
    this.keepAlive = true;
    this.length = 0;
    this.errorChunks = undefined;
    this.errorBytes = 0;
    this.received = false;
    this.socket.ref();
    this.socket.setTimeout(this.pool.timeoutMs);
    this.socket.write(request.head, 'latin1');
  }

  /** Bytes `buf[0, n)` arrived. Returns nothing; every byte is consumed before the next read. */
  onData(buf: Buffer, n: number): void {
    const request = this.request;
    if (this.closed || n <= 0) return;
    if (!request) {
      // Bytes on an idle connection answer nothing that was sent: it is not in step any more.
      this.close();
      return;
    }
    this.received = true;
    let at = 0;
    // Only this request's answer is read here: finishing it may hand the connection a new one.
    while (at < n && this.request === request && !this.closed) {
      switch (this.phase) {
        case 'head':
          at = this.readHead(buf, at, n);
          break;
        case 'body':
        case 'until-close':
        case 'chunk-data': {
          const take = this.phase === 'until-close' ? n - at : Math.min(this.remaining, n - at);
          this.body(buf, at, at + take);
          at += take;
          if (this.phase === 'until-close') break;
          this.remaining -= take;
          if (this.remaining === 0) {
            if (this.phase === 'body') this.finish(this.keepAlive);
            else this.phase = 'chunk-end';
          }
          break;
        }
        default:
          at = this.readLine(buf, at, n);
      }
    }
    if (at < n && !this.closed) {
      // Bytes after a complete answer, before any request of theirs: the connection is not in step.
      this.fail(networkError('ECONNRESET', 'the server sent more than its answer'));
    }
  }

  private readHead(buf: Buffer, at: number, n: number): number {
    // Usually the whole head is in one read, and the block's first bytes follow it there.
    if (!this.headSoFar) {
      const end = buf.subarray(at, n).indexOf(CRLF_CRLF);
      if (end >= 0) {
        this.parseHead(buf.toString('latin1', at, at + end));
        return at + end + 4;
      }
    }
    // A head split over reads: what came so far is kept (copied: the read buffer is reused) until its end arrives.
    const before = this.headSoFar?.byteLength ?? 0;
    const all = Buffer.concat(this.headSoFar ? [this.headSoFar, buf.subarray(at, n)] : [buf.subarray(at, n)]);
    const end = all.indexOf(CRLF_CRLF, Math.max(0, before - 3));
    if (end < 0) {
      if (all.byteLength > MAX_HEAD) this.fail(new Error(`the server's answer headers exceed ${MAX_HEAD} bytes`));
      else this.headSoFar = all;
      return n;
    }
    this.headSoFar = undefined;
    this.parseHead(all.toString('latin1', 0, end));
    return at + end + 4 - before;
  }

  private parseHead(text: string): void {
    const lines = text.split('\r\n');
    const statusLine = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!statusLine) return this.fail(networkError('ECONNRESET', `the server did not answer in HTTP/1.1 (${JSON.stringify((lines[0] ?? '').slice(0, 40))})`));
    const status = Number(statusLine[2]);
    if (status >= 100 && status < 200) {
      // An interim answer (100 Continue): the real one follows.
      this.phase = 'head';
      return;
    }
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!(name in headers)) headers[name] = line.slice(colon + 1).trim();
    }
    this.status = status;
    this.headers = headers;
    const connection = (headers.connection ?? '').toLowerCase();
    this.keepAlive = statusLine[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    if (status < 200 || status >= 300) this.errorChunks = [];
    const encoding = (headers['transfer-encoding'] ?? '').toLowerCase();
    if (status === 204 || status === 304) return this.finish(this.keepAlive);
    if (encoding.includes('chunked')) {
      this.phase = 'chunk-size';
      this.line = '';
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (!Number.isSafeInteger(length) || length < 0) return this.fail(networkError('ECONNRESET', `the server sent an invalid Content-Length (${headers['content-length']})`));
      this.remaining = length;
      this.phase = 'body';
      if (length === 0) this.finish(this.keepAlive);
    } else {
      this.keepAlive = false;
      this.phase = 'until-close';
    }
  }

  /** Chunk sizes, the CRLF after a chunk, and trailers: line by line. */
  private readLine(buf: Buffer, at: number, n: number): number {
    const lf = buf.indexOf(10, at);
    if (lf < 0 || lf >= n) {
      this.line += buf.toString('latin1', at, n);
      if (this.line.length > MAX_HEAD) this.fail(new Error('a chunk header of the answer is too long'));
      return n;
    }
    const line = (this.line + buf.toString('latin1', at, lf)).replace(/\r$/, '');
    this.line = '';
    if (this.phase === 'chunk-end') {
      if (line !== '') this.fail(networkError('ECONNRESET', 'the answer\'s chunked encoding is broken'));
      else this.phase = 'chunk-size';
    } else if (this.phase === 'chunk-size') {
      const size = parseInt(line.split(';')[0]!.trim(), 16);
      if (!Number.isSafeInteger(size) || size < 0 || !/^[0-9a-fA-F]+$/.test(line.split(';')[0]!.trim())) {
        this.fail(networkError('ECONNRESET', 'the answer\'s chunked encoding is broken'));
      } else if (size === 0) {
        this.phase = 'trailers';
      } else {
        this.remaining = size;
        this.phase = 'chunk-data';
      }
    } else if (line === '') {
      this.finish(this.keepAlive);
    }
    return lf + 1;
  }

  private body(buf: Buffer, from: number, to: number): void {
    if (from === to) return;
    if (this.errorChunks) {
      if (this.errorBytes < MAX_ERROR_BODY) this.errorChunks.push(Buffer.from(buf.subarray(from, Math.min(to, from + MAX_ERROR_BODY - this.errorBytes))));
      this.errorBytes += to - from;
      return;
    }
    const into = this.request!.into;
    if (this.length + (to - from) > into.byteLength) {
      // Nothing more is read; the connection is closed, not reused.
      this.fail(new Error(`a block came with more than ${into.byteLength} bytes`));
      return;
    }
    buf.copy(into, this.length, from, to);
    this.length += to - from;
  }

  private finish(reusable: boolean): void {
    const request = this.request;
    if (!request) return;
    this.request = undefined;
    this.phase = 'done';
    this.served += 1;
    request.signal?.removeEventListener('abort', request.onAbort);
    request.resolve({ status: this.status, headers: this.headers, length: this.errorChunks ? 0 : this.length, errorBody: this.errorChunks ? Buffer.concat(this.errorChunks) : undefined });
    if (reusable && !this.closed) {
      this.socket.setTimeout(0);
      this.pool.release(this);
    } else this.close();
  }

  /** The connection failed: its request (if any) fails, or is sent again once on a new connection when a reused one closed before answering. */
  fail(error: Error): void {
    const request = this.request;
    this.request = undefined;
    const reusedAndSilent = this.served > 0 && !this.received;
    this.close();
    if (!request) return;
    request.signal?.removeEventListener('abort', request.onAbort);
    if (reusedAndSilent && !request.retriedStale && (error as { code?: string }).code !== undefined) {
      request.retriedStale = true;
      this.pool.enqueue(request);
      return;
    }
    request.reject(error);
  }

  /** The request was cancelled: the connection is dropped (its answer may still be coming). */
  abort(error: Error): void {
    const request = this.request;
    this.request = undefined;
    this.close();
    request?.reject(error);
  }

  idle(): void {
    this.socket.unref();
    this.idleTimer = setTimeout(() => this.close(), this.pool.idleMs);
    this.idleTimer.unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.socket.destroy();
    this.pool.forget(this);
  }
}

/** Keep-alive connections to one origin (`http:` or `https:`), at most `maxConnections`, requests beyond them queued in order. */
export class BlockHttpPool {
  readonly timeoutMs: number;
  readonly idleMs: number;
  private readonly origin: URL;
  private readonly maxConnections: number;
  private readonly tls: BlockHttpOptions['tls'];
  private readonly all = new Set<Connection>();
  private readonly idleConnections: Connection[] = [];
  private readonly queue: Pending[] = [];
  private closing = false;

  constructor(origin: string | URL, options: BlockHttpOptions) {
    this.origin = new URL(origin);
    if (this.origin.protocol !== 'http:' && this.origin.protocol !== 'https:') throw new Error(`EBS endpoint ${this.origin.href}: only http and https are supported`);
    this.maxConnections = Math.max(1, options.maxConnections);
    this.tls = options.tls;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.idleMs = options.idleMs ?? IDLE_MS;
  }

  /**
   * GET `path` (with its query) with `headers` (names and values as they are to be sent, `host`
   * among them); a 2xx answer's body goes into `into`. Rejects on a network failure, a body longer
   * than `into`, or when `signal` aborts (the connection is then closed).
   */
  get(path: string, headers: Record<string, string>, into: Buffer, signal?: AbortSignal): Promise<BlockHttpResponse> {
    if (this.closing) return Promise.reject(new Error('the EBS connection pool is closed'));
    // A CR or LF inside the path or a value would let it write a header of its own.
    const breaks = /[\r\n]/;
    let head = `GET ${path} HTTP/1.1\r\n`;
    let unsafe = breaks.test(path);
    for (const name in headers) {
      const value = headers[name]!;
      unsafe ||= breaks.test(name) || breaks.test(value);
      head += `${name}: ${value}\r\n`;
    }
    if (unsafe) return Promise.reject(new Error('a request header or path holds a line break'));
    head += '\r\n';
    return new Promise<BlockHttpResponse>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const pending: Pending = { head, into, signal, resolve, reject, onAbort: () => this.abort(pending), retriedStale: false };
      signal?.addEventListener('abort', pending.onAbort, { once: true });
      this.enqueue(pending);
    });
  }

  /** @internal A request goes to an idle connection, a new one, or the queue. */
  enqueue(pending: Pending): void {
    if (this.closing) return pending.reject(new Error('the EBS connection pool is closed'));
    const idle = this.idleConnections.pop();
    if (idle) return idle.send(pending);
    if (this.all.size < this.maxConnections) return this.open().send(pending);
    this.queue.push(pending);
  }

  /** @internal A connection finished its request and can take another. */
  release(connection: Connection): void {
    const next = this.queue.shift();
    if (next) return connection.send(next);
    this.idleConnections.push(connection);
    connection.idle();
  }

  /** @internal A connection closed. */
  forget(connection: Connection): void {
    this.all.delete(connection);
    const i = this.idleConnections.indexOf(connection);
    if (i >= 0) this.idleConnections.splice(i, 1);
    // A queued request takes the place it left.
    const next = this.queue.shift();
    if (next) this.enqueue(next);
  }

  private abort(pending: Pending): void {
    const error = abortError(pending.signal!);
    const queued = this.queue.indexOf(pending);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      return pending.reject(error);
    }
    for (const c of this.all) if (c.request === pending) return c.abort(error);
  }

  private open(): Connection {
    readBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const host = this.origin.hostname.replace(/^\[|\]$/g, '');
    const secure = this.origin.protocol === 'https:';
    const port = Number(this.origin.port) || (secure ? 443 : 80);
    let connection: Connection | undefined;
    const onread = {
      buffer: readBuffer,
      callback: (n: number, buf: Uint8Array) => {
        connection?.onData(buf as Buffer, n);
        return true;
      },
    };
    const socket = secure
      ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'], ...this.tls, onread } as ConnectionOptions)
      : tcpConnect({ host, port, onread });
    connection = new Connection(this, socket);
    this.all.add(connection);
    return connection;
  }

  /** Closes every connection; queued and running requests fail. */
  async close(): Promise<void> {
    this.closing = true;
    for (const pending of this.queue.splice(0)) pending.reject(new Error('the EBS connection pool is closed'));
    for (const c of [...this.all]) c.fail(new Error('the EBS connection pool is closed'));
  }
}
