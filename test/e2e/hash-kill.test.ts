// A collector process killed (SIGKILL: no handler runs, nothing is flushed) while it hashes a disk:
// `--resume` continues from the last block range recorded in the case folder, re-reads only what
// the whole-disk SHA-256 needs and checks it against what was recorded before the kill, records
// the one right hash, and the case verifies. What it re-reads is counted at the lab.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyCase } from '../../src/custody/index.js';
import { EXIT } from '../../src/core/errors.js';
import { addInstance, diskOfVolume, ebsControl, type LabDisk } from '../../src/lab/index.js';
import { runCliChild, startCli } from './child-cli.js';
import { useLabFixture } from './lab-fixture.js';

const fx = useLabFixture();
const ACCOUNT = '222222222222';

function expectedSha256(disk: LabDisk): string {
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(disk.bytes / disk.blockCount);
  for (let i = 0; i < disk.blockCount; i++) hash.update(disk.isWritten(i) ? disk.block(i) : zeros);
  return hash.digest('hex');
}

/** The upTo of the last range line in the case's progress file of one disk, or 0. */
function recordedRange(caseDir: string): number {
  const dir = join(caseDir, '.hash-progress');
  if (!existsSync(dir)) return 0;
  let upTo = 0;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      const m = /^\{"upTo":(\d+)\}$/.exec(line);
      if (m) upTo = Math.max(upTo, Number(m[1]));
    }
  }
  return upTo;
}

const getBlockCalls = () => fx.lab.control.totalCalls('ebs:GetSnapshotBlock');

describe.each([
  ['from EBS', false],
  ['from its image', true],
] as const)('a collector killed mid-hash resumes %s', (_name, withImage) => {
  it('re-reads what the whole-disk hash needs, checks it against the record, records the right hash once, and the case verifies', async () => {
    const host = addInstance(fx.lab.state, ACCOUNT, fx.lab.region, {
      tags: { Name: `kill-hash-${withImage}`, ForensicsEnabled: 'true' },
      volumes: [{ sizeGiB: 8, encryption: 'aws/ebs', tags: { ForensicsEnabled: 'true' }, disk: { sizeMiB: 128, writtenFraction: 0.5 } }],
    });
    const disk = diskOfVolume(fx.lab.state, host.blockDevices[0]!.volumeId, 8);
    const config = JSON.parse(readFileSync(fx.configPath, 'utf8')) as { aws: { endpoints: Record<string, string> } };
    config.aws.endpoints.ebs = fx.lab.endpoint;
    writeFileSync(fx.configPath, JSON.stringify(config));
    const caseId = `IR-KILL-HASH-${withImage ? 'IMAGE' : 'EBS'}`;
    const caseDir = join(fx.dir, 'cases', caseId);
    const args = ['collect', '--case', caseId, '--analyst', 'alice', '--config', fx.configPath, '--hash', ...(withImage ? ['--image', join(caseDir, 'images')] : [])];
    const target = `arn:aws:ec2:${fx.lab.region}:${ACCOUNT}:instance/${host.id}`;

    // From the 48th block read on, reads take seconds: the collector has hashed a few ranges by
    // then and stalls with them on record, so the kill lands mid-disk whatever the machine's
    // speed — the test waits for the stall and a recorded range, never for a time. (Killed
    // before the stall, its requests still on their way would reach the lab during the resumed
    // run, and the stall would begin there.)
    let stalled = false;
    ebsControl.beforeBlockRequest(fx.lab.state, 48, () => {
      fx.lab.control.setLatency({ perAction: { 'ebs:GetSnapshotBlock': 3000 } });
      stalled = true;
    });
    const run = startCli([...args, target], fx.env);
    let finished = false;
    void run.done.then(() => (finished = true));
    while (!finished && !(stalled && recordedRange(caseDir) >= 32)) await new Promise((r) => setTimeout(r, 5));
    expect(finished, 'the hash finished before it could be killed').toBe(false);
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    fx.lab.control.setLatency({});
    const killedAt = recordedRange(caseDir);
    const ledger = readFileSync(join(caseDir, 'ledger.jsonl'), 'utf8');
    expect(ledger).not.toContain('"disk.hashed"');

    // The resumed run's reads are counted from its first ListSnapshotBlocks: requests the killed
    // process had on their way when it died reach the lab while the new one is still starting.
    let before: number | undefined;
    ebsControl.beforeListRequest(fx.lab.state, 1, () => (before = getBlockCalls()));
    const resumed = await runCliChild([...args, '--resume', '--json', target], fx.env);
    expect(resumed.code, resumed.stderr).toBe(EXIT.OK);
    expect(before, 'the resumed run listed the snapshot\'s blocks').toBeDefined();
    const requests = getBlockCalls() - before!;
    const entries = readFileSync(join(caseDir, 'ledger.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    const hashed = entries.filter((e) => e.type === 'disk.hashed');
    expect(hashed).toHaveLength(1);
    expect(hashed[0]!.data).toMatchObject({ sha256: expectedSha256(disk), writtenBlocks: disk.written.length, resumed: { prefixFrom: withImage ? 'image' : 'ebs' } });
    const fromBlock = (hashed[0]!.data.resumed as { fromBlock: number }).fromBlock;
    expect(fromBlock).toBeGreaterThanOrEqual(killedAt);
    const after = [...disk.written].filter((i) => i >= fromBlock).length;
    // Without an image the hashed part is read again from EBS (the digest needs its bytes; each
    // is checked against the checksum recorded before the kill); with one, only the rest is.
    expect(requests).toBe(withImage ? after : disk.written.length);
    expect(hashed[0]!.data.blockRequests).toBe(requests);
    const verified = await verifyCase(caseDir);
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  }, 180_000);
});
