import { createHash, createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/core/errors.js';
import type { LedgerEntry } from '../../src/core/ports.js';
import { canonicalize } from '../../src/custody/canonical-json.js';
import { assertNoCredentials } from '../../src/custody/credential-guard.js';
import { entryData } from '../../src/custody/entry-data.js';
import { toJsonData } from '../../src/custody/json-data.js';
import { GENESIS_PREV, entryLine, hashEntry, sealEntry, sealEntryLine } from '../../src/custody/entry.js';
import { checkChain } from '../../src/custody/chain.js';
import { Ledger, openLedgerFile, type LedgerFile } from '../../src/custody/ledger.js';
import { signingKeyFrom } from '../../src/custody/signing-key.js';
import { openCase, verifyCase } from '../../src/custody/index.js';
import { caseOptions, useScratch } from './helpers.js';

// A fixed Ed25519 key from a 32-byte seed (PKCS#8 DER prefix + seed), for golden values.
const SEED = Buffer.alloc(32, 7);
const FIXED_KEY = signingKeyFrom(
  createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), SEED]), format: 'der', type: 'pkcs8' }),
);

async function readLines(path: string): Promise<LedgerEntry[]> {
  const text = await readFile(path, 'utf8');
  return text.trimEnd().split('\n').map((line) => JSON.parse(line) as LedgerEntry);
}

describe('ledger entry format', () => {
  it('hashes the canonical JSON of every field except hash and sig, and signs the hash hex text', () => {
    const entry = sealEntry(
      {
        seq: 1,
        time: '2026-01-02T03:04:05.678Z',
        type: 'case.opened',
        actor: 'alice',
        data: { publicKey: FIXED_KEY.publicKey, keyAlgorithm: 'Ed25519', caseId: 'IR-1' },
        prev: GENESIS_PREV,
      },
      FIXED_KEY,
    );
    // Written out by hand, not by canonicalize(): keys sorted, no whitespace.
    const canonicalText =
      `{"actor":"alice","data":{"caseId":"IR-1","keyAlgorithm":"Ed25519","publicKey":"${FIXED_KEY.publicKey}"},` +
      `"prev":"${GENESIS_PREV}","seq":1,"time":"2026-01-02T03:04:05.678Z","type":"case.opened"}`;
    expect(entry.hash).toBe(createHash('sha256').update(canonicalText).digest('hex'));
    expect(hashEntry(entry)).toBe(entry.hash);

    const publicKey = createPublicKey({ key: Buffer.from(FIXED_KEY.publicKey, 'base64'), format: 'der', type: 'spki' });
    const sig = Buffer.from(entry.sig, 'base64');
    expect(verify(null, Buffer.from(entry.hash, 'utf8'), publicKey, sig)).toBe(true);
    // The signed message is the 64 hex characters, not the 32 raw digest bytes.
    expect(verify(null, Buffer.from(entry.hash, 'hex'), publicKey, sig)).toBe(false);
    // Golden values (the public key agrees with `openssl pkey -pubout` on the same seed); Ed25519
    // is deterministic, so these pin the format across versions.
    expect(FIXED_KEY.publicKey).toBe('MCowBQYDK2VwAyEA6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=');
    expect(entry.hash).toBe('db4d86c78a9731dfe719314d6eb95c093c4f0db0cb99e2848c8d9280c093e435');
    expect(entry.sig).toBe('XhbTQAdeLF2mJBsHvW0h5J828oZT+cLiYfCcEPPo+yvhO9049H2v+RIlEyoyT2vXWtpOERQiY6qYMXQbR1tDBw==');
  });
});

describe('the append path seals and renders in one pass', () => {
  it('gives the same hash, signature and line as sealing then rendering, with and without a target, for awkward data', () => {
    const entries = [
      { seq: 1, time: '2026-01-02T03:04:05.678Z', type: 'case.opened', actor: 'alice', data: {}, prev: GENESIS_PREV },
      {
        seq: 42,
        time: '2026-01-02T03:04:05.679Z',
        type: 'snapshot.created',
        actor: 'arn:aws:sts::111111111111:assumed-role/r/s',
        target: 'arn:aws:ec2:us-east-1:222222222222:instance/i-1',
        data: { z: [1, 2.5, -0, 1e21, null, true], a: { 'é': 'ü\u2028"\\', '\u0080': '', b: 'x' }, 'A': 'upper before lower', '10': 'ten', '9': 'nine' },
        prev: 'a'.repeat(64),
      },
    ];
    for (const entry of entries) {
      const sealed = sealEntry(entry, FIXED_KEY);
      const { entry: fast, line } = sealEntryLine(entry, FIXED_KEY);
      expect(fast).toEqual(sealed);
      expect(line).toBe(entryLine(sealed));
      expect(hashEntry(fast)).toBe(fast.hash);
    }
  });
});

describe("the append path's one walk over an entry's data", () => {
  // What the three careful walks make of `data`: the copy, the credential verdict, the text.
  const careful = (data: Record<string, unknown>) => {
    try {
      const value = toJsonData(data, 'data');
      assertNoCredentials(value, 'data');
      return { value, text: canonicalize(value) };
    } catch {
      return undefined;
    }
  };
  const proto = JSON.parse('{"__proto__": {"a": 1}}') as Record<string, unknown>;

  it('gives the careful walks\' copy and canonical text for what it accepts, and declines the rest', () => {
    const accepted: Array<Record<string, unknown>> = [
      {},
      { volumeId: 'vol-1', size: 8, encrypted: true, kmsKeyId: null, requestId: undefined },
      { z: [1, 2.5, -0, 1e21, 1e-7, null, true, false], a: { 'é': 'ü\u2028"\\\n', '\u0080': '', b: 'x' }, A: 'upper', '10': 'ten', '9': 'nine' },
      { startTime: new Date('2026-01-02T03:04:05.678Z'), nested: [{ b: 1, a: undefined }, [], {}] },
      { tokenExpiry: 'x', passwordPolicy: 'y', token: null, note: 'Bearer' },
      Object.assign(Object.create(null) as Record<string, unknown>, { b: 2, a: 1 }),
    ];
    for (const data of accepted) {
      const fast = entryData(data);
      const slow = careful(data);
      expect(slow).toBeDefined();
      expect(fast).toBeDefined();
      expect(fast!.text).toBe(slow!.text);
      expect(fast!.value).toEqual(slow!.value);
      expect(canonicalize(fast!.value)).toBe(fast!.text);
      expect(Object.isFrozen(fast!.value)).toBe(true);
    }
    // Declined: the careful walks refuse these (not JSON, or a credential) or accept them
    // themselves (surrogate pairs, a __proto__ member, a Date's prototype swapped...).
    const declined: Array<Record<string, unknown>> = [
      { size: Number.NaN },
      { ids: ['a', undefined] },
      // eslint-disable-next-line no-sparse-arrays
      { holes: [1, , 3] },
      { at: new Date(Number.NaN) },
      { buffer: Buffer.from('x') },
      { big: 1n },
      { sessionToken: 'x' },
      { Session_Token: 'x' },
      { header: 'Bearer abc' },
      { list: ['k8s-aws-v1.abc'] },
      { pem: '-----BEGIN RSA PRIVATE KEY-----' },
      { emoji: '\u{1F600}' },
      { lone: '\uD800' },
      { '\uD800': 1 },
      proto,
    ];
    for (const data of declined) expect(entryData(data)).toBeUndefined();
  });

  it('leaves a ledger refusing what it refused, with the same errors', async () => {
    const appended: string[] = [];
    const file: LedgerFile = { write: async (b) => void appended.push(Buffer.from(b).toString('utf8')), sync: async () => undefined, close: async () => undefined };
    const ledger = await Ledger.open({ path: 'mem', key: FIXED_KEY, openFile: async () => file, now: () => new Date('2026-01-02T03:04:05.678Z') });
    await expect(ledger.append('t', 'a', { size: Number.NaN })).rejects.toThrow(/data\.size/);
    await expect(ledger.append('t', 'a', { nested: { clientSecret: 'x' } })).rejects.toThrow(/t data: \$\.nested\.clientSecret looks like a credential/);
    await expect(ledger.append('t', 'a', { header: 'Bearer abc' })).rejects.toThrow(/\$\.header \(a bearer token\)/);
    const entry = await ledger.append('t', 'a', { emoji: '\u{1F600}', at: new Date('2026-01-02T03:04:05.678Z'), z: 1, a: undefined });
    expect(entry.seq).toBe(1);
    expect(entry.data).toEqual({ at: '2026-01-02T03:04:05.678Z', emoji: '\u{1F600}', z: 1 });
    expect(appended.join('')).toBe(entryLine(entry));
    await ledger.close();
  });
});

describe('ledger writer', () => {
  const scratch = useScratch();

  it('chains every entry to the one before it and signs each with the key pinned in case.opened', async () => {
    const kase = await openCase(caseOptions(scratch));
    await kase.record('credentials.assumed', { roleArn: 'arn:aws:iam::222222222222:role/CloudCustodyCollector' });
    await kase.record('snapshot.requested', { volumeId: 'vol-1' }, 'arn:aws:ec2:us-east-1:222222222222:volume/vol-1');
    await kase.release();

    const lines = await readLines(join(kase.caseDir, 'ledger.jsonl'));
    expect(lines.map((e) => [e.seq, e.type])).toEqual([
      [1, 'case.opened'],
      [2, 'credentials.assumed'],
      [3, 'snapshot.requested'],
    ]);
    const first = lines[0]!;
    expect(first.prev).toBe(GENESIS_PREV);
    expect(first.data).toMatchObject({
      caseId: 'IR-2026-0042',
      keyAlgorithm: 'Ed25519',
      publicKey: kase.publicKey,
      analyst: 'alice@example.org',
      tool: { name: 'cloud-custody', version: '0.1.0-test' },
    });
    expect(typeof first.data.host).toBe('string');
    const publicKey = createPublicKey({ key: Buffer.from(kase.publicKey, 'base64'), format: 'der', type: 'spki' });
    lines.forEach((entry, i) => {
      const { hash, sig, ...rest } = entry;
      expect(hash).toBe(createHash('sha256').update(canonicalize(rest)).digest('hex'));
      if (i > 0) expect(entry.prev).toBe(lines[i - 1]!.hash);
      expect(verify(null, Buffer.from(hash), publicKey, Buffer.from(sig, 'base64'))).toBe(true);
      expect(entry.actor).toBe('alice@example.org');
    });
    expect(lines[2]!.target).toBe('arn:aws:ec2:us-east-1:222222222222:volume/vol-1');
    expect('target' in lines[1]!).toBe(false);
  });

  it('keeps concurrent records in one unbroken chain, one whole line each', async () => {
    const kase = await openCase(caseOptions(scratch));
    const written = await Promise.all(
      Array.from({ length: 60 }, (_, i) => kase.record('snapshot.requested', { volumeId: `vol-${i}` })),
    );
    await kase.release();
    expect(written.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 2));
    const lines = await readLines(join(kase.caseDir, 'ledger.jsonl'));
    expect(lines.map((e) => e.seq)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1));
    const result = await verifyCase(kase.caseDir);
    expect(result.problems).toEqual([]);
  });

  it('refuses credentials in entry data, names where, writes nothing, and keeps recording', async () => {
    const kase = await openCase(caseOptions(scratch));
    const leaks: Array<[Record<string, unknown>, string]> = [
      [{ credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'wJalrXUtnFEMIsecret', SessionToken: 'FQoGZXIvYXdzEXAMPLE' } }, '$.credentials.SecretAccessKey'],
      [{ sessionToken: 'FQoGZXIvYXdzEXAMPLE' }, '$.sessionToken'],
      [{ secretAccessKey: 'wJalrXUtnFEMIsecret' }, '$.secretAccessKey'],
      [{ request: { headers: [{ Authorization: 'AWS4-HMAC-SHA256 Credential=ASIA...' }] } }, '$.request.headers[0].Authorization'],
      [{ kubeconfig: { user: { TOKEN: 'eyJhbGciOiJSUzI1NiJ9.secret' } } }, '$.kubeconfig.user.TOKEN'],
      [{ db: { Password: 'hunter2' } }, '$.db.Password'],
      [{ header: 'Bearer eyJhbGciOiJSUzI1NiJ9.secret' }, '$.header (a bearer token)'],
      // A SAS, a presigned and a signed URL are credentials whatever key carries them.
      [{ source: 'https://acct.blob.core.windows.net/c/disk.vhd?sv=2022-11-02&sr=b&sp=r&sig=N2I0ZDdkSECRET%3D' }, '$.source (a signed URL'],
      [{ links: ['https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abcSECRET'] }, '$.links[0] (a signed URL'],
      [{ url: 'https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=0a1bSECRET' }, '$.url (a signed URL'],
      [{ server: 'https://admin:hunter2@k8s.example:6443' }, '$.server (a URL with a password)'],
      [{ storage: 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0SECRET==;EndpointSuffix=core.windows.net' }, '$.storage (a connection string'],
    ];
    for (const [data, where] of leaks) {
      const error = await kase.record('credentials.assumed', data).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CustodyError);
      expect((error as CustodyError).code).toBe('E_INTERNAL');
      expect((error as CustodyError).message).toContain(where);
      expect((error as CustodyError).message).not.toMatch(/wJalr|FQoG|hunter2|eyJhbG|SECRET/);
    }
    // Ordinary fields whose names merely contain a credential word are fine.
    await kase.record('credentials.assumed', { tokenExpiry: '2026-01-01T00:00:00Z', passwordPolicy: 'n/a', accessKeyId: 'ASIAEXAMPLE' });
    // URLs without a signature, queries included, are fine.
    await kase.record('copy.requested', { container: 'https://acct.blob.core.windows.net/c', arm: 'https://management.azure.com/x?api-version=2024-03-02' });
    await kase.release();
    const text = await readFile(join(kase.caseDir, 'ledger.jsonl'), 'utf8');
    expect(text).not.toMatch(/wJalr|FQoG|hunter2|eyJhbG|AWS4-HMAC|SECRET/);
    expect(text.trimEnd().split('\n')).toHaveLength(3);
  });

  it('stops for good when the ledger cannot be written: that append and every later one reject with E_LEDGER', async () => {
    // /dev/full accepts the open and fails every write with ENOSPC, like a full disk.
    expect(existsSync('/dev/full')).toBe(true);
    const ledger = await Ledger.open({ path: '/dev/full', key: FIXED_KEY });
    const first = await ledger.append('snapshot.requested', 'alice', { volumeId: 'vol-1' }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(CustodyError);
    expect((first as CustodyError).code).toBe('E_LEDGER');
    expect((first as CustodyError).message).toMatch(/snapshot\.requested .*collection must stop/);
    const later = await ledger.append('snapshot.created', 'alice', { snapshotId: 'snap-1' }).catch((e: unknown) => e);
    expect((later as CustodyError).code).toBe('E_LEDGER');
    expect(ledger.entries()).toHaveLength(0);
    await ledger.close();
  });

  it('hands out frozen copies: neither the caller nor a reader can edit a recorded entry', async () => {
    const kase = await openCase(caseOptions(scratch));
    const data = { snapshotId: 'snap-1', tags: ['CaseId'] };
    const entry = await kase.record('snapshot.created', data);
    data.snapshotId = 'snap-2';
    data.tags.push('changed');
    expect(entry.data).toEqual({ snapshotId: 'snap-1', tags: ['CaseId'] });
    expect(() => {
      (entry.data as Record<string, unknown>).snapshotId = 'snap-3';
    }).toThrow(TypeError);
    expect(kase.entries()[1]!.data.snapshotId).toBe('snap-1');
    await kase.release();
  });

  it('records an SDK response with Dates and missing request ids as plain JSON', async () => {
    const kase = await openCase(caseOptions(scratch));
    const entry = await kase.record('snapshot.created', {
      snapshotId: 'snap-1',
      startTime: new Date('2026-11-26T05:00:00.000Z'),
      requestId: undefined,
    });
    expect(entry.data).toEqual({ snapshotId: 'snap-1', startTime: '2026-11-26T05:00:00.000Z' });
    await kase.release();
  });
});

/** A ledger file whose fsyncs the test completes (or fails) one by one. */
function heldFile() {
  const writes: string[] = [];
  const syncs: Array<{ release(): void; fail(error: Error): void }> = [];
  const file: LedgerFile = {
    write: async (bytes) => {
      writes.push(Buffer.from(bytes).toString('utf8'));
    },
    sync: () => new Promise<void>((release, fail) => syncs.push({ release, fail })),
    close: async () => undefined,
  };
  return { file, writes, syncs };
}

/** Lets every pending promise callback and I/O callback run (not a timer: nothing is timed). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Records which promises have settled, and how, without awaiting them. */
function watch<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

describe('ledger group commit', () => {
  const scratch = useScratch();

  it('200 collectors recording at once share fsyncs, and the chain is exactly what one-by-one appends would give', async () => {
    let syncs = 0;
    let writes = 0;
    const path = join(scratch.root, 'ledger.jsonl');
    const ledger = await Ledger.open({
      path,
      key: FIXED_KEY,
      openFile: async (p) => {
        const real = await openLedgerFile(p);
        return {
          write: (bytes) => ((writes += 1), real.write(bytes)),
          sync: () => ((syncs += 1), real.sync()),
          close: () => real.close(),
        };
      },
    });
    await ledger.append('case.opened', 'alice', { caseId: 'IR-1', keyAlgorithm: 'Ed25519', publicKey: FIXED_KEY.publicKey });
    const written = await Promise.all(
      Array.from({ length: 200 }, (_, i) => ledger.append('snapshot.requested', 'alice', { volumeId: `vol-${i}` })),
    );
    await ledger.close();

    // seq in call order, each chained to the entry appended just before it.
    expect(written.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 2));
    expect(written.map((e) => e.data.volumeId)).toEqual(Array.from({ length: 200 }, (_, i) => `vol-${i}`));
    const chain = checkChain(await readFile(path, 'utf8'));
    expect(chain.problems).toEqual([]);
    expect(chain.entries).toHaveLength(201);
    expect(ledger.entries().map((e) => e.hash)).toEqual(chain.entries.map((e) => e.hash));
    // One fsync per flush, and far fewer flushes than entries.
    expect(syncs).toBe(writes);
    expect(syncs).toBeLessThan(201);
    expect(syncs).toBeLessThanOrEqual(3);
  });

  it('no append resolves before the fsync of the flush that carries it has completed', async () => {
    const held = heldFile();
    const ledger = await Ledger.open({ path: 'held.jsonl', key: FIXED_KEY, openFile: async () => held.file });
    const a = watch(ledger.append('snapshot.requested', 'alice', { volumeId: 'vol-a' }));
    await settle();
    // a is written and its fsync is in flight; b and c arrive meanwhile and wait for the next flush.
    expect(held.writes).toHaveLength(1);
    expect(held.syncs).toHaveLength(1);
    const b = watch(ledger.append('snapshot.requested', 'alice', { volumeId: 'vol-b' }));
    const c = watch(ledger.append('snapshot.requested', 'alice', { volumeId: 'vol-c' }));
    await settle();
    expect([a.settled, b.settled, c.settled]).toEqual([false, false, false]);
    expect(held.writes).toHaveLength(1);
    expect(ledger.entries()).toHaveLength(0);

    held.syncs[0]!.release();
    await settle();
    expect(a.settled).toBe(true);
    expect(a.value?.seq).toBe(1);
    expect(ledger.entries().map((e) => e.seq)).toEqual([1]);
    // b and c went out together in one write, and are still not acknowledged: their fsync is held.
    expect(held.writes).toHaveLength(2);
    expect(held.writes[1]!.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as LedgerEntry).data.volumeId)).toEqual(['vol-b', 'vol-c']);
    expect([b.settled, c.settled]).toEqual([false, false]);

    held.syncs[1]!.release();
    await settle();
    expect([b.value?.seq, c.value?.seq]).toEqual([2, 3]);
    expect(c.value?.prev).toBe(b.value?.hash);
    expect(b.value?.prev).toBe(a.value?.hash);
    expect(held.syncs).toHaveLength(2);
    await ledger.close();
  });

  it('a failed flush rejects every append it carried, those queued behind it and every later one, with E_LEDGER', async () => {
    const held = heldFile();
    const ledger = await Ledger.open({ path: 'held.jsonl', key: FIXED_KEY, openFile: async () => held.file });
    const a = watch(ledger.append('credentials.assumed', 'alice', { account: '222222222222' }));
    await settle();
    const b = watch(ledger.append('snapshot.requested', 'alice', { volumeId: 'vol-b' }));
    const c = watch(ledger.append('snapshot.created', 'alice', { snapshotId: 'snap-c' }));
    held.syncs[0]!.release();
    await settle();
    expect(a.value?.seq).toBe(1);
    // b and c are being flushed; d arrives behind them.
    const d = watch(ledger.append('snapshot.requested', 'alice', { volumeId: 'vol-d' }));
    held.syncs[1]!.fail(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await settle();
    for (const refused of [b, c, d]) {
      expect(refused.settled).toBe(true);
      expect(refused.error).toBeInstanceOf(CustodyError);
      expect((refused.error as CustodyError).code).toBe('E_LEDGER');
    }
    expect((b.error as CustodyError).message).toMatch(/EIO.*entries 2\.\.3 \(snapshot\.requested, snapshot\.created\) were not recorded and collection must stop/);
    const later = await ledger.append('step.failed', 'alice', { step: 'x' }).catch((e: unknown) => e);
    expect((later as CustodyError).code).toBe('E_LEDGER');
    expect(ledger.broken).toBe(b.error);
    // Only what was acknowledged counts as recorded; d was never even written.
    expect(ledger.entries().map((e) => e.seq)).toEqual([1]);
    expect(held.writes).toHaveLength(2);
    await ledger.close();
  });

  it('close waits for the entries already appended and refuses later ones', async () => {
    const held = heldFile();
    const ledger = await Ledger.open({ path: 'held.jsonl', key: FIXED_KEY, openFile: async () => held.file });
    const a = watch(ledger.append('case.closed', 'alice', {}));
    const closing = watch(ledger.close());
    await settle();
    expect(closing.settled).toBe(false);
    const late = await ledger.append('snapshot.requested', 'alice', {}).catch((e: unknown) => e);
    expect((late as CustodyError).code).toBe('E_LEDGER');
    held.syncs[0]!.release();
    await settle();
    expect(a.value?.seq).toBe(1);
    expect(closing.settled).toBe(true);
  });
});

describe('the ledger file', () => {
  const scratch = useScratch();

  it('is never opened through a symlink: entries cannot land in a file outside the case', async () => {
    const outside = join(scratch.root, 'outside.jsonl');
    writeFileSync(outside, '');
    const inCase = join(scratch.root, 'ledger.jsonl');
    symlinkSync(outside, inCase);
    await expect(openLedgerFile(inCase)).rejects.toMatchObject({ code: 'ELOOP' });
    expect(readFileSync(outside, 'utf8')).toBe('');
  });
});
