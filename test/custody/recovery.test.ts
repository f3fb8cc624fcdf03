/**
 * A run killed (kill -9) between placing an evidence file and recording it leaves a complete but
 * unrecorded file. Resuming records it honestly as `evidence.recovered`; verify then checks it
 * like any other, and nothing planted after a close is ever adopted.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCustodyError } from '../../src/core/errors.js';
import type { EvidenceInput } from '../../src/core/ports.js';
import { MANIFEST_FILE, openCase, renderReport, verifyCase, type CaseHandle, type Manifest } from '../../src/custody/index.js';
import { buildClosedCase, caseOptions, INSTANCE, useScratch } from './helpers.js';

const EV = 'ev-aaaaaaaaaaaa';
const KILLED_BYTES = '{"InstanceId":"i-0abc1234def567890","requestedAt":"the killed run"}\n';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const NOTE =
  'found after an interrupted run; it was written but not recorded before the interruption, so its content before this resume is not attested';

/** What the AWS provider does on resume: different bytes under a taken name go under a name of their own. */
async function storeLikeAProvider(kase: CaseHandle, input: EvidenceInput): Promise<string> {
  try {
    return (await kase.storeEvidence(input)).name;
  } catch (error) {
    if (!isCustodyError(error) || error.code !== 'E_INPUT') throw error;
    const name = input.name.replace(/\.json$/, `.resumed-${kase.entries().length}.json`);
    return (await kase.storeEvidence({ ...input, name })).name;
  }
}

describe('files left by an interrupted run', () => {
  const scratch = useScratch();

  /** A first run that recorded console-output.log, placed instance.json, and was killed before recording it. */
  async function killedRun(instanceBytes = KILLED_BYTES): Promise<string> {
    const first = await openCase(caseOptions(scratch));
    await first.storeEvidence({ evidenceId: EV, name: 'console-output.log', kind: 'console-output', source: INSTANCE, target: INSTANCE, content: 'login: \n' });
    await writeFile(join(first.caseDir, 'evidence', EV, 'instance.json'), instanceBytes);
    await first.release(); // stands in for the kill: the lock of a live pid would refuse the resume
    return first.caseDir;
  }

  it('a placed-but-unrecorded file with other bytes is recorded as recovered on resume, this run’s copy as stored, and the case verifies', async () => {
    const caseDir = await killedRun();
    const before = await verifyCase(caseDir);
    expect(before.problems.map((p) => [p.kind, p.path])).toEqual([['unrecorded-file', `evidence/${EV}/instance.json`]]);

    const second = await openCase(caseOptions(scratch, { resume: true, analyst: 'bob@example.org' }));
    // Recorded before openCase returns, right after case.resumed, by this run's analyst.
    const [resumed, recovered] = second.entries().slice(-2);
    expect(resumed!.type).toBe('case.resumed');
    expect(resumed!.data.recoveredFiles).toEqual([`evidence/${EV}/instance.json`]);
    expect(recovered!.type).toBe('evidence.recovered');
    expect(recovered!.actor).toBe('bob@example.org');
    expect(recovered!.target).toBe(INSTANCE); // the target earlier entries of this evidence id name
    expect(recovered!.data).toEqual({
      evidenceId: EV,
      name: 'instance.json',
      path: `evidence/${EV}/instance.json`,
      sha256: sha256(KILLED_BYTES),
      size: Buffer.byteLength(KILLED_BYTES),
      note: NOTE,
    });

    const name = await storeLikeAProvider(second, {
      evidenceId: EV, name: 'instance.json', kind: 'instance-description', source: INSTANCE, target: INSTANCE,
      content: '{"InstanceId":"i-0abc1234def567890","requestedAt":"the resumed run"}\n',
    });
    expect(name).toMatch(/^instance\.resumed-\d+\.json$/);
    await second.close({ outcomes: [{ target: INSTANCE, status: 'collected', evidenceIds: [EV] }] });
    expect(second.entries().at(-1)!.data).toMatchObject({ evidenceFiles: 2, recoveredFiles: 1 });

    const result = await verifyCase(caseDir);
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.evidence).toMatchObject({ files: 3, verified: 3 });
    expect(result.warnings.filter((w) => w.kind === 'recovered-file')).toEqual([
      expect.objectContaining({ path: `evidence/${EV}/instance.json`, entrySeq: recovered!.seq, message: expect.stringMatching(/not attested/) }),
    ]);
    const manifest = JSON.parse(await readFile(join(caseDir, MANIFEST_FILE), 'utf8')) as Manifest;
    expect(manifest.files.find((f) => f.name === 'instance.json')).toEqual({
      evidenceId: EV, name: 'instance.json', path: `evidence/${EV}/instance.json`, sha256: sha256(KILLED_BYTES),
      size: Buffer.byteLength(KILLED_BYTES), target: INSTANCE, recovered: true, entrySeq: recovered!.seq,
    });
    expect(manifest.files.find((f) => f.name === name)).toMatchObject({ kind: 'instance-description', source: INSTANCE });
    expect(manifest.files.find((f) => f.name === name)!.recovered).toBeUndefined();

    const report = await renderReport(caseDir);
    for (const path of [report.markdown, report.html]) {
      const text = await readFile(path, 'utf8');
      expect(text).toMatch(/RECOVERED \(entry \d+\), not attested before the resume/);
      expect(text).toContain(sha256(KILLED_BYTES));
    }
  });

  it('a recovered file later stored with the same bytes is adopted (evidence.stored, no longer flagged), and is recovered only once', async () => {
    const content = '{"InstanceId":"i-0abc1234def567890"}\n';
    const caseDir = await killedRun(content);
    const second = await openCase(caseOptions(scratch, { resume: true }));
    await second.release(); // interrupted again before collecting anything
    const third = await openCase(caseOptions(scratch, { resume: true }));
    expect(third.entries().filter((e) => e.type === 'evidence.recovered')).toHaveLength(1);
    expect(third.entries().at(-1)!.type).toBe('case.resumed');
    expect(third.entries().at(-1)!.data.recoveredFiles).toBeUndefined();

    const stored = await third.storeEvidence({ evidenceId: EV, name: 'instance.json', kind: 'instance-description', source: INSTANCE, target: INSTANCE, content });
    expect(stored.sha256).toBe(sha256(content));
    expect(third.entries().at(-1)).toMatchObject({ type: 'evidence.stored', data: { path: `evidence/${EV}/instance.json`, kind: 'instance-description' } });
    await third.close({ outcomes: [] });

    const result = await verifyCase(caseDir);
    expect(result.ok).toBe(true);
    expect(result.warnings.filter((w) => w.kind === 'recovered-file')).toEqual([]);
    const manifest = JSON.parse(await readFile(join(caseDir, MANIFEST_FILE), 'utf8')) as Manifest;
    expect(manifest.files.find((f) => f.name === 'instance.json')).toMatchObject({ kind: 'instance-description', entrySeq: third.entries().at(-2)!.seq });
    expect(manifest.files.find((f) => f.name === 'instance.json')!.recovered).toBeUndefined();
  });

  it('a file planted after the close is named by verify, and resuming the closed case does not recover it, then or later', async () => {
    const kase = await buildClosedCase(scratch);
    const planted = `evidence/${EV}/exfil-proof.json`;
    await writeFile(join(kase.caseDir, ...planted.split('/')), '{"planted":true}');
    const closed = await verifyCase(kase.caseDir);
    expect(closed.ok).toBe(false);
    expect(closed.firstProblem).toMatchObject({ kind: 'unrecorded-file', path: planted });

    const second = await openCase(caseOptions(scratch, { resume: true }));
    expect(second.entries().at(-1)!.data).toMatchObject({
      wasClosed: true,
      unrecordedAfterClose: [{ path: planted, sha256: sha256('{"planted":true}'), size: 16 }],
    });
    await second.release(); // an interrupted run in between must not launder it either
    const third = await openCase(caseOptions(scratch, { resume: true }));
    expect(third.entries().some((e) => e.type === 'evidence.recovered')).toBe(false);
    await third.close({ outcomes: [] });
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => [p.kind, p.path])).toEqual([['unrecorded-file', planted]]);
  });

  it('only files the store itself could have placed are recovered; anything else stays unrecorded for verify to name', async () => {
    const caseDir = await killedRun();
    const evDir = join(caseDir, 'evidence', EV);
    await mkdir(join(evDir, 'nested'), { recursive: true });
    await writeFile(join(evDir, 'nested', 'deep.json'), '{}');
    await writeFile(join(evDir, '.hidden'), 'x');
    await writeFile(join(caseDir, 'evidence', 'loose.txt'), 'x');
    await symlink('/etc/hostname', join(evDir, 'link.txt'));

    const second = await openCase(caseOptions(scratch, { resume: true }));
    expect(second.entries().filter((e) => e.type === 'evidence.recovered').map((e) => e.data.name)).toEqual(['instance.json']);
    await second.close({ outcomes: [] });
    const result = await verifyCase(caseDir);
    expect(result.problems.map((p) => [p.kind, p.path])).toEqual([
      ['unrecorded-file', `evidence/${EV}/.hidden`],
      ['unrecorded-file', `evidence/${EV}/link.txt`],
      ['unrecorded-file', `evidence/${EV}/nested/deep.json`],
      ['unrecorded-file', 'evidence/loose.txt'],
    ]);
  });
});
