import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCase, verifyCase, type CaseHandle } from '../../src/custody/index.js';
import { caseOptions, errorOf, INSTANCE, useScratch } from './helpers.js';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('evidence store', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  beforeEach(async () => {
    kase = await openCase(caseOptions(scratch));
  });
  afterEach(async () => {
    await kase.release();
  });

  const base = { evidenceId: 'ev-0123456789ab', kind: 'pod-log', source: 'k8s:prod/default/pod/web-0', target: 'k8s:prod/default/pod/web-0' };

  it('folders removed behind its back after the first file (partial, evidence) are made again for the next file', async () => {
    await kase.storeEvidence({ ...base, name: 'first.log', content: 'one' });
    await rm(join(kase.caseDir, 'evidence'), { recursive: true });
    await rm(join(kase.caseDir, '.partial'), { recursive: true, force: true });
    const stored = await kase.storeEvidence({ ...base, name: 'second.log', content: 'two' });
    expect(await readFile(join(kase.caseDir, stored.path), 'utf8')).toBe('two');
  });

  it('the case answers "is this file already there?" from what it placed in folders it made, and from the disk for folders it found', async () => {
    const stored = await kase.storeEvidence({ ...base, name: 'placed.log', content: 'placed' });
    expect(kase.evidenceFile!(base.evidenceId, 'placed.log')).toEqual({ sha256: stored.sha256 });
    expect(kase.evidenceFile!(base.evidenceId, 'never.log')).toBeUndefined();
    // A folder the case found (as a resumed case does) is looked at on disk: a file left there counts.
    await mkdir(join(kase.caseDir, 'evidence', 'ev-found'), { recursive: true });
    await writeFile(join(kase.caseDir, 'evidence', 'ev-found', 'left.log'), 'left by a killed run');
    await kase.storeEvidence({ ...base, evidenceId: 'ev-found', name: 'other.log', content: 'other' });
    expect(kase.evidenceFile!('ev-found', 'left.log')).toEqual({ sha256: sha256('left by a killed run') });
    expect(kase.evidenceFile!('ev-found', 'absent.log')).toBeUndefined();
  });

  it('stores text, bytes, a Readable and an async iterable, hashing exactly what lands on disk', async () => {
    const inputs: Array<[string, Parameters<CaseHandle['storeEvidence']>[0]['content'], string]> = [
      ['text.log', 'line one\nline two é\n', 'line one\nline two é\n'],
      ['bytes.bin', new Uint8Array([0, 1, 2, 255]), Buffer.from([0, 1, 2, 255]).toString('latin1')],
      ['stream.log', Readable.from([Buffer.from('abc'), Buffer.from('def')]), 'abcdef'],
      [
        'iterable.log',
        (async function* () {
          yield 'container ';
          yield new TextEncoder().encode('log');
        })(),
        'container log',
      ],
    ];
    for (const [name, content, expected] of inputs) {
      const stored = await kase.storeEvidence({ ...base, name, content });
      const onDisk = await readFile(join(kase.caseDir, 'evidence', base.evidenceId, name));
      expect(onDisk.toString(name === 'bytes.bin' ? 'latin1' : 'utf8')).toBe(expected);
      expect(stored).toEqual({ evidenceId: base.evidenceId, name, path: `evidence/${base.evidenceId}/${name}`, sha256: sha256(onDisk), size: onDisk.length });
    }
    expect(kase.entries().filter((e) => e.type === 'evidence.stored')).toHaveLength(4);
  });

  it('records evidence.stored with the file, its hash, its source and the cloud ids', async () => {
    await kase.storeEvidence({
      evidenceId: 'ev-0123456789ab',
      name: 'instance.json',
      kind: 'instance-description',
      source: INSTANCE,
      target: INSTANCE,
      content: '{"InstanceId":"i-0abc"}',
      cloudIds: { instanceId: 'i-0abc' },
      requestIds: ['req-1', 'req-2'],
    });
    const entry = kase.entries().at(-1)!;
    expect(entry.type).toBe('evidence.stored');
    expect(entry.target).toBe(INSTANCE);
    expect(entry.data).toEqual({
      evidenceId: 'ev-0123456789ab',
      name: 'instance.json',
      path: 'evidence/ev-0123456789ab/instance.json',
      kind: 'instance-description',
      source: INSTANCE,
      sha256: sha256('{"InstanceId":"i-0abc"}'),
      size: 23,
      mediaType: 'application/json',
      cloudIds: { instanceId: 'i-0abc' },
      requestIds: ['req-1', 'req-2'],
    });
  });

  it('refuses file names and evidence ids that could leave their folder, recording nothing', async () => {
    const bad: Array<[string, string]> = [
      ['ev-1', '../ledger.jsonl'],
      ['ev-1', 'a/b.log'],
      ['ev-1', 'a\\b.log'],
      ['ev-1', '..'],
      ['ev-1', '.hidden'],
      ['ev-1', ''],
      ['ev-1', 'x\u0000y'],
      ['..', 'a.log'],
      ['ev/1', 'a.log'],
      ['.partial', 'a.log'],
    ];
    for (const [evidenceId, name] of bad) {
      const error = await errorOf(kase.storeEvidence({ ...base, evidenceId, name, content: 'x' }));
      expect(error.code).toBe('E_INPUT');
      expect(error.message).toMatch(/^refused evidence (id|file name)/);
    }
    expect(kase.entries().map((e) => e.type)).toEqual(['case.opened']);
    expect(existsSync(join(kase.caseDir, 'evidence'))).toBe(false);
  });

  it('a refused name is shown escaped: a direction override in it never reaches the message raw', async () => {
    // A cloud chooses pod and container names; U+202E turns the rest of a terminal line around.
    const error = await errorOf(kase.storeEvidence({ ...base, evidenceId: 'ev-1', name: 'gol.\u202etxt/../x', content: 'x' }));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).not.toContain('\u202e');
    expect(error.message).toContain('"gol.\\u202etxt/../x"');
  });

  it('never overwrites evidence: different bytes under an existing name are refused and the original stays', async () => {
    await kase.storeEvidence({ ...base, name: 'web-0.log', content: 'original log' });
    const error = await errorOf(kase.storeEvidence({ ...base, name: 'web-0.log', content: 'rewritten log' }));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toMatch(/already exists with different content/);
    expect(await readFile(join(kase.caseDir, 'evidence', base.evidenceId, 'web-0.log'), 'utf8')).toBe('original log');
    expect(kase.entries().filter((e) => e.type === 'evidence.stored')).toHaveLength(1);
  });

  it('storing the same bytes again (a resumed run) records nothing new and returns the stored file', async () => {
    const first = await kase.storeEvidence({ ...base, name: 'web-0.log', content: 'same log' });
    const count = kase.entries().length;
    const again = await kase.storeEvidence({ ...base, name: 'web-0.log', content: 'same log' });
    expect(again).toEqual(first);
    expect(kase.entries()).toHaveLength(count);
  });

  it('records a complete file that an interrupted run placed but never got to record', async () => {
    const dir = join(kase.caseDir, 'evidence', base.evidenceId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'web-0.log'), 'placed before the crash');
    await kase.storeEvidence({ ...base, name: 'web-0.log', content: 'placed before the crash' });
    expect(kase.entries().at(-1)!.data.sha256).toBe(sha256('placed before the crash'));
    expect((await verifyCase(kase.caseDir)).problems).toEqual([]);
  });

  it('a source that fails mid-stream leaves no file under evidence/ and nothing recorded', async () => {
    const failing = (async function* () {
      yield Buffer.from('first half of the log ');
      throw new Error('connection reset by the kubelet');
    })();
    await expect(kase.storeEvidence({ ...base, name: 'web-0.log', content: failing })).rejects.toThrow(/connection reset/);
    expect(existsSync(join(kase.caseDir, 'evidence', base.evidenceId, 'web-0.log'))).toBe(false);
    expect(await readdir(join(kase.caseDir, '.partial'))).toEqual([]);
    expect(kase.entries().map((e) => e.type)).toEqual(['case.opened']);
  });

  it('two collectors storing the same file at once produce one file and one entry', async () => {
    const results = await Promise.all([
      kase.storeEvidence({ ...base, name: 'node.json', content: '{"node":"ip-10-0-0-1"}' }),
      kase.storeEvidence({ ...base, name: 'node.json', content: '{"node":"ip-10-0-0-1"}' }),
    ]);
    expect(results[0]).toEqual(results[1]);
    expect(kase.entries().filter((e) => e.type === 'evidence.stored')).toHaveLength(1);
  });

  it('refuses a credential in the metadata before writing the file', async () => {
    const error = await errorOf(
      kase.storeEvidence({ ...base, name: 'web-0.log', content: 'log', cloudIds: { podName: 'web-0', token: 'eyJhbGciOi.secret' } }),
    );
    expect(error.code).toBe('E_INTERNAL');
    expect(error.message).toContain('$.cloudIds.token');
    expect(existsSync(join(kase.caseDir, 'evidence'))).toBe(false);
    expect((await verifyCase(kase.caseDir)).problems).toEqual([]);
  });

  it('records a cloud artefact with its ids', async () => {
    const entry = await kase.recordArtifact({
      evidenceId: 'ev-0123456789ab',
      kind: 'ebs-snapshot',
      source: 'arn:aws:ec2:us-east-1:222222222222:volume/vol-1',
      target: INSTANCE,
      cloudIds: { snapshotId: 'snap-1', forensicsCopyId: 'snap-2' },
      details: { encrypted: true },
    });
    expect(entry.type).toBe('artifact.recorded');
    expect(entry.data).toEqual({
      evidenceId: 'ev-0123456789ab',
      kind: 'ebs-snapshot',
      source: 'arn:aws:ec2:us-east-1:222222222222:volume/vol-1',
      cloudIds: { snapshotId: 'snap-1', forensicsCopyId: 'snap-2' },
      details: { encrypted: true },
    });
  });

  it('streams 200 MiB of generated log to disk without holding it in memory', async () => {
    const chunkSize = 1024 * 1024;
    const chunks = 200;
    const expected = createHash('sha256');
    let peak = 0;
    const baseline = process.memoryUsage();
    const used = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers - (baseline.heapUsed + baseline.arrayBuffers);
    };
    async function* generate() {
      for (let i = 0; i < chunks; i++) {
        // A fresh buffer each time, as a network stream produces: if the store kept them, they
        // would all stay reachable.
        const chunk = Buffer.alloc(chunkSize, i % 251);
        expected.update(chunk);
        peak = Math.max(peak, used());
        yield chunk;
      }
    }
    const stored = await kase.storeEvidence({ ...base, kind: 'disk-image', name: 'big.raw', content: generate() });
    expect(stored.size).toBe(chunks * chunkSize);
    expect(stored.sha256).toBe(expected.digest('hex'));
    // Holding the content would need 200 MiB; a streaming store needs a few chunks plus garbage
    // the collector has not yet reclaimed.
    expect(peak).toBeLessThan(96 * 1024 * 1024);
  });
});
