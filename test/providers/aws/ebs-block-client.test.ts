/**
 * GetSnapshotBlock's lean path (ebs-block-client.ts) on the wire, against a local server: the
 * request is the one the SDK sends (same path and block token, under a custom endpoint's path),
 * its SigV4 signature holds for what arrives, the credentials are the SDK client's at each
 * request, and EBS's answers come back as the SDK would give them (checksum headers, request id,
 * error codes, retries of throttling and 5xx up to maxAttempts, never of a refusal).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EBSClient, GetSnapshotBlockCommand } from '@aws-sdk/client-ebs';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash } from 'node:crypto';
import { BlockBuffers } from '../../../src/providers/aws/block-buffers.js';
import { EbsBlockClient, sourceOfSdk } from '../../../src/providers/aws/ebs-block-client.js';
import { hashPoolFor } from '../../../src/providers/aws/hash-worker.js';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;
const REGION = 'eu-west-1';
const TOKEN = 'AAUBA+uAYaU/2p7s=f!x*';
const seen: IncomingMessage[] = [];
let answers: Answer[] = [];
let server: Server;
let endpoint: string;
let keys = { accessKeyId: 'AKIAFIRST', secretAccessKey: 'first-secret', sessionToken: 'first-token' };

const block = Buffer.alloc(1024, 7);
const ok: Answer = (_req, res) => {
  res.writeHead(200, { 'x-amz-Checksum': 'c2hh', 'x-amz-Checksum-Algorithm': 'SHA256', 'x-amz-Data-Length': String(block.byteLength), 'x-amzn-RequestId': 'req-ok' });
  res.end(block);
};
const fail =
  (status: number, code: string, extra: Record<string, string> = {}): Answer =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-ErrorType': `${code}:http://internal.amazon.com/coral/`, 'x-amzn-RequestId': `req-${code}` });
    res.end(JSON.stringify({ Message: `${code} happened`, ...extra }));
  };

/**
 * A server whose clock is 20 minutes ahead of this machine's: as AWS does, it refuses a signature
 * more than 5 minutes off its time (403 InvalidSignatureException, "Signature expired") and dates
 * every answer with its own time.
 */
const AHEAD_MS = 20 * 60_000;
const amzTime = (value: string) => Date.parse(value.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
const signedAt: number[] = [];
const aheadClock: Answer = (req, res) => {
  const now = Date.now() + AHEAD_MS;
  const date = new Date(now).toUTCString();
  const signed = amzTime(String(req.headers['x-amz-date']));
  signedAt.push(signed - now);
  if (!(Math.abs(now - signed) <= 5 * 60_000)) {
    res.writeHead(403, { 'content-type': 'application/json', date, 'x-amzn-ErrorType': 'InvalidSignatureException:http://internal.amazon.com/coral/', 'x-amzn-RequestId': 'req-expired' });
    res.end(JSON.stringify({ message: `Signature expired: ${String(req.headers['x-amz-date'])} is now earlier than ${new Date(now - 5 * 60_000).toISOString()} (${new Date(now).toISOString()} - 5 min.)` }));
    return;
  }
  res.writeHead(200, { date, 'x-amz-Checksum': 'c2hh', 'x-amz-Checksum-Algorithm': 'SHA256', 'x-amz-Data-Length': String(block.byteLength), 'x-amzn-RequestId': 'req-ok' });
  res.end(block);
};

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    req.resume();
    (answers.shift() ?? ok)(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
  signedAt.length = 0;
  answers = [];
});

// Like the collector's session providers (credentials.ts): `memoized`, so the SDK asks it at every request.
const provider = Object.assign(async () => keys, { memoized: true });
const sdkClient = (maxAttempts = 3) => new EBSClient({ region: REGION, endpoint, credentials: provider, maxAttempts });
const input = { SnapshotId: 'snap-0123456789abcdef0', BlockIndex: 77, BlockToken: TOKEN };

describe('GetSnapshotBlock without the SDK (ebs-block-client)', () => {
  it('sends the request the SDK sends, signed for what arrives, with the SDK client\'s current credentials', async () => {
    const sdk = sdkClient();
    answers.push(ok);
    const viaSdk = await sdk.send(new GetSnapshotBlockCommand(input));
    await viaSdk.BlockData?.transformToByteArray();
    const client = new EbsBlockClient(sdk);
    const into = Buffer.alloc(4096);
    const got = await client.getBlock(input, into);
    expect(got).toMatchObject({ length: block.byteLength, Checksum: 'c2hh', ChecksumAlgorithm: 'SHA256', DataLength: block.byteLength, $metadata: { httpStatusCode: 200, requestId: 'req-ok' } });
    expect(into.subarray(0, block.byteLength).equals(block)).toBe(true);

    const [sdkRequest, leanRequest] = seen as [IncomingMessage, IncomingMessage];
    const parse = (url: string) => new URL(url, 'http://x');
    expect(parse(leanRequest.url!).pathname).toBe(parse(sdkRequest.url!).pathname);
    expect(parse(leanRequest.url!).pathname).toBe('/prefix/snapshots/snap-0123456789abcdef0/blocks/77');
    expect(parse(leanRequest.url!).searchParams.get('blockToken')).toBe(TOKEN);
    expect(leanRequest.method).toBe('GET');

    // The signature is recomputed from the request as it arrived.
    const auth = String(leanRequest.headers.authorization);
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)![1]!.split(';');
    expect(signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-security-token']));
    const url = parse(leanRequest.url!);
    const amzDate = String(leanRequest.headers['x-amz-date']);
    const date = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    const signer = new SignatureV4({ service: 'ebs', region: REGION, credentials: keys, sha256: (sdk.config as unknown as { sha256: never }).sha256, uriEscapePath: true, applyChecksum: false });
    const headers = Object.fromEntries(signedHeaders.map((h) => [h, String(leanRequest.headers[h])]));
    const again = await signer.sign({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', path: url.pathname, query: Object.fromEntries(url.searchParams), headers }, { signingDate: date });
    expect(auth).toBe(again.headers.authorization);
    expect(auth).toContain(`Credential=AKIAFIRST/${amzDate.slice(0, 8)}/${REGION}/ebs/aws4_request`);

    // Renewed credentials are used by the next request.
    keys = { accessKeyId: 'AKIASECOND', secretAccessKey: 'second-secret', sessionToken: 'second-token' };
    await client.getBlock(input, into);
    expect(String(seen[2]!.headers.authorization)).toContain('Credential=AKIASECOND/');
    expect(seen[2]!.headers['x-amz-security-token']).toBe('second-token');
    await client.destroy();
    sdk.destroy();
  });

  it('answers EBS\'s errors as the SDK names them, with the request id, and does not retry a refusal', async () => {
    const sdk = sdkClient(5);
    const client = new EbsBlockClient(sdk);
    for (const [status, code] of [
      [404, 'ResourceNotFoundException'],
      [403, 'AccessDeniedException'],
      [400, 'ValidationException'],
      [403, 'ExpiredTokenException'],
    ] as const) {
      seen.length = 0;
      answers.push(fail(status, code, { Reason: 'SOME_REASON' }));
      const error = await client.getBlock(input, Buffer.alloc(4096)).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: code, message: `${code} happened`, Reason: 'SOME_REASON', $metadata: { httpStatusCode: status, requestId: `req-${code}`, attempts: 1 } });
      expect(seen).toHaveLength(1);
    }
    await client.destroy();
    sdk.destroy();
  });

  it('retries throttling and server errors up to maxAttempts, then gives the last error', async () => {
    const sdk = sdkClient(3);
    const client = new EbsBlockClient(sdk);
    answers.push(fail(400, 'RequestThrottledException'), fail(503, 'ServiceUnavailable'));
    const got = await client.getBlock(input, Buffer.alloc(4096));
    expect(got.$metadata).toMatchObject({ httpStatusCode: 200, attempts: 3 });
    expect(seen).toHaveLength(3);

    seen.length = 0;
    answers.push(fail(400, 'RequestThrottledException'), fail(400, 'RequestThrottledException'), fail(400, 'RequestThrottledException'));
    const error = await client.getBlock(input, Buffer.alloc(4096)).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'RequestThrottledException', $metadata: { attempts: 3 } });
    expect(seen).toHaveLength(3);
    await client.destroy();
    sdk.destroy();
  });

  it('refuses a block longer than the buffer it is read into, and stops when cancelled', async () => {
    const sdk = sdkClient(1);
    const client = new EbsBlockClient(sdk);
    const error = await client.getBlock(input, Buffer.alloc(block.byteLength - 1)).catch((e: unknown) => e);
    expect(String(error)).toContain(`more than ${block.byteLength - 1} bytes`);

    const stop = new AbortController();
    answers.push((_req, res) => {
      stop.abort();
      setTimeout(() => ok(_req, res), 50);
    });
    const cancelled = await client.getBlock(input, Buffer.alloc(4096), stop.signal).catch((e: unknown) => e);
    expect(cancelled).toMatchObject({ name: 'AbortError' });
    await client.destroy();
    sdk.destroy();
  });

  it('signs on AWS\'s time when this machine\'s clock is off: the offset comes from the SDK client and from every answer\'s Date, and the refusal that corrected it is retried', async () => {
    // Whole minutes off the server's time (-0 made 0).
    const minutes = (ms: number) => Math.round(ms / 60_000) || 0;
    // The SDK itself against this server (what is matched): refused once, then signed on the server's time.
    const sdk = sdkClient(3);
    answers.push(aheadClock, aheadClock);
    const viaSdk = await sdk.send(new GetSnapshotBlockCommand(input));
    await viaSdk.BlockData?.transformToByteArray();
    expect(viaSdk.$metadata.attempts).toBe(2);
    expect(signedAt.map(minutes)).toEqual([-20, 0]);

    // A block client made from that SDK client starts from its offset: nothing refused.
    const informed = new EbsBlockClient(sdk);
    answers.push(aheadClock);
    expect((await informed.getBlock(input, Buffer.alloc(4096))).$metadata.attempts).toBe(1);
    await informed.destroy();

    // One made from a client that has not met the server yet learns the offset from the refusal, retries at once, and keeps it.
    signedAt.length = 0;
    const fresh = new EbsBlockClient(sdkClient(3));
    answers.push(aheadClock, aheadClock, aheadClock);
    const first = await fresh.getBlock(input, Buffer.alloc(4096));
    expect(first).toMatchObject({ length: block.byteLength, $metadata: { httpStatusCode: 200, attempts: 2 } });
    expect((await fresh.getBlock(input, Buffer.alloc(4096))).$metadata.attempts).toBe(1);
    expect(signedAt.map(minutes)).toEqual([-20, 0, 0]);
    await fresh.destroy();

    // With one attempt only, the refusal is the error, named as EBS named it.
    const once = new EbsBlockClient(sdkClient(1));
    answers.push(aheadClock);
    const refused = await once.getBlock(input, Buffer.alloc(4096)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403, requestId: 'req-expired', clockSkewCorrected: true } });
    await once.destroy();
    sdk.destroy();
  });

  it('from a hash thread: the bytes land in the slot with their SHA-256, renewed credentials reach the thread, errors keep their names, cancelling stops the request', async () => {
    keys = { accessKeyId: 'AKIAFIRST', secretAccessKey: 'first-secret', sessionToken: 'first-token' };
    const sdk = sdkClient(1);
    const buffers = new BlockBuffers(4 * 512 * 1024);
    const pool = hashPoolFor(buffers);
    // The threads run while a digest is open.
    const digest = pool.openDigest(512 * 1024, { onHashed() {}, onProgress() {}, onError() {} });
    try {
      const source = sourceOfSdk(sdk);
      const got = await pool.fetchBlock(sdk, source, 2, input);
      expect(got.response).toMatchObject({ length: block.byteLength, Checksum: 'c2hh', ChecksumAlgorithm: 'SHA256', $metadata: { httpStatusCode: 200, requestId: 'req-ok' } });
      expect(buffers.view(2, block.byteLength).equals(block)).toBe(true);
      expect(got.sum).toBe(createHash('sha256').update(block).digest('base64'));
      expect(String(seen[0]!.headers.authorization)).toContain('Credential=AKIAFIRST/');

      keys = { accessKeyId: 'AKIASECOND', secretAccessKey: 'second-secret', sessionToken: 'second-token' };
      // The thread that signed with the first session signs the next requests with the renewed one.
      await Promise.all([pool.fetchBlock(sdk, source, 0, input), pool.fetchBlock(sdk, source, 1, input)]);
      for (const req of seen.slice(1)) expect(String(req.headers.authorization)).toContain('Credential=AKIASECOND/');

      answers.push(fail(403, 'ExpiredTokenException'));
      const error = await pool.fetchBlock(sdk, source, 0, input).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'ExpiredTokenException', $metadata: { httpStatusCode: 403, requestId: 'req-ExpiredTokenException' } });

      const stop = new AbortController();
      answers.push((req, res) => {
        stop.abort();
        setTimeout(() => ok(req, res), 200);
      });
      const cancelled = await pool.fetchBlock(sdk, source, 0, input, stop.signal).catch((e: unknown) => e);
      expect(cancelled).toMatchObject({ name: 'AbortError' });

      // A thread corrects its clock from the answers as well (a fresh SDK client: no offset known yet).
      const behind = sdkClient(3);
      try {
        signedAt.length = 0;
        answers.push(aheadClock, aheadClock, aheadClock);
        const corrected = await pool.fetchBlock(behind, sourceOfSdk(behind), 3, input);
        expect(corrected.response.$metadata).toMatchObject({ httpStatusCode: 200, attempts: 2 });
        expect(buffers.view(3, block.byteLength).equals(block)).toBe(true);
        expect((await pool.fetchBlock(behind, sourceOfSdk(behind), 3, input)).response.$metadata.attempts).toBe(1);
        expect(signedAt.map((ms) => Math.round(ms / 60_000) || 0)).toEqual([-20, 0, 0]);
      } finally {
        behind.destroy();
      }
    } finally {
      digest.close();
      sdk.destroy();
    }
  });
});
