/**
 * `--hash`: after a volume's chain preserved it, the whole-disk SHA-256 of the preserved snapshot
 * (the forensics copy; without one, the last snapshot in the target account), its block-hash
 * list as an evidence file, optionally a raw image (`--image`), and with `--hash-source` the
 * source snapshot's hash beside it: the two must match. Ledger entries say what was read
 * (snapshot, blocks, sizes, request ids) and are written only for a hash computed over every
 * block. A killed run continues from the progress in the case folder (hash-progress.ts).
 */
import { relative, isAbsolute, sep } from 'node:path';
import { historyOf } from '../../core/case-history.js';
import { CustodyError } from '../../core/errors.js';
import { LEDGER_EVENTS } from '../../core/ledger-events.js';
import { hashDisk, type DiskHash } from './disk-hash.js';
import { createEbsReader } from './ebs-reader.js';
import { FileBlockLog, type BlockLine } from './hash-progress.js';
import { RawImage } from './raw-image.js';
import { runStep, storeEvidenceOnce, type TargetRun } from './run.js';
import type { ScopeCaller } from './scope.js';

/**
 * How often progress is made durable: every sixteenth of the disk, at least 16 MiB and at most
 * 1 GiB of 512 KiB blocks apart. A killed run loses at most that much hashing.
 */
function checkpointBlocks(blockCount: number): number {
  return Math.max(32, Math.min(2048, Math.floor(blockCount / 16)));
}

export interface HashableChain {
  volumeId: string;
  evidenceId: string;
  cloudIds: Record<string, string>;
}

/**
 * Whether this run hashes disks (`--hash`, `--hash-source`, `--image`, or config `aws.hash`, which
 * the orchestrator turns into `hash: true` through `optionsFromConfig`, so the options it records
 * are the ones read here).
 */
export function wantsDiskHash(run: TargetRun): boolean {
  return run.options.hash === true;
}

interface HashSubject {
  snapshotId: string;
  /** `forensics` (the copy the case keeps), `reencrypted` or `source` (target account). */
  role: 'forensics' | 'reencrypted' | 'source';
  side: 'target' | 'forensics';
  region: string;
}

function preservedSubject(run: TargetRun, cloudIds: Record<string, string>): HashSubject | undefined {
  const f = cloudIds.forensicsSnapshotId;
  if (f) return { snapshotId: f, role: 'forensics', side: 'forensics', region: run.aws.region };
  const r = cloudIds.reencryptedSnapshotId;
  if (r) return { snapshotId: r, role: 'reencrypted', side: 'target', region: run.target.region };
  const s = cloudIds.snapshotId;
  if (s) return { snapshotId: s, role: 'source', side: 'target', region: run.target.region };
  return undefined;
}

function hashedBefore(run: TargetRun, snapshotId: string): { sha256: string } | undefined {
  const entry = historyOf(run.recorder).firstWhere(LEDGER_EVENTS.diskHashed, 'snapshotId', snapshotId);
  return entry ? { sha256: String(entry.data.sha256) } : undefined;
}

/**
 * Hashes what the chain preserved (and its source with `--hash-source`). Returns false when a
 * hash failed (recorded as `step.failed`): the volume is then not fully collected.
 */
export async function hashPreservedVolume(run: TargetRun, chain: HashableChain): Promise<boolean> {
  const preserved = preservedSubject(run, chain.cloudIds);
  if (!preserved) return false;
  const copy = await hashStep(run, chain, preserved);
  if (!copy) return false;
  const sourceId = chain.cloudIds.snapshotId;
  if (!run.options.hashSource || !sourceId || sourceId === preserved.snapshotId) return true;
  const source = await hashStep(run, chain, { snapshotId: sourceId, role: 'source', side: 'target', region: run.target.region });
  if (!source) return false;
  const compared = await runStep(
    run,
    'compare-hashes',
    async () => {
      const match = source.sha256 === copy.sha256;
      if (!historyOf(run.recorder).firstWhere(LEDGER_EVENTS.diskHashesCompared, 'snapshotId', preserved.snapshotId)) {
        await run.recorder.record(
          LEDGER_EVENTS.diskHashesCompared,
          { volumeId: chain.volumeId, snapshotId: preserved.snapshotId, sha256: copy.sha256, sourceSnapshotId: sourceId, sourceSha256: source.sha256, match },
          run.target.arn,
        );
      }
      if (!match) {
        throw new CustodyError(
          'E_VERIFY',
          `the preserved snapshot ${preserved.snapshotId} (sha256 ${copy.sha256}) does not hold the same disk as its source ${sourceId} (sha256 ${source.sha256})`,
          { resource: preserved.snapshotId },
        );
      }
    },
    { volumeId: chain.volumeId, snapshotId: preserved.snapshotId },
  );
  return compared.ok;
}

async function hashStep(run: TargetRun, chain: HashableChain, subject: HashSubject): Promise<{ sha256: string } | undefined> {
  const before = hashedBefore(run, subject.snapshotId);
  if (before) return before;
  const result = await runStep(run, subject.role === 'source' && chain.cloudIds.forensicsSnapshotId ? 'hash-source' : 'hash', () => hashSnapshot(run, chain, subject), {
    volumeId: chain.volumeId,
    snapshotId: subject.snapshotId,
  });
  return result.ok ? result.value : undefined;
}

function callerFor(run: TargetRun, subject: HashSubject): ScopeCaller {
  return subject.side === 'forensics' ? run.forensics().caller : run.scope.caller;
}

/** Where the image of `snapshotId` goes, and how the ledger names it (relative inside the case folder). */
function imagePlace(run: TargetRun, chain: HashableChain, snapshotId: string): { dir: string; name: string; recordedPath: string } | undefined {
  const dir = run.options.imageDir;
  if (!dir) return undefined;
  const name = `${chain.volumeId}-${snapshotId}.raw`;
  const rel = relative(run.recorder.caseDir, `${dir}${sep}${name}`);
  const inside = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  return { dir, name, recordedPath: inside ? rel.split(sep).join('/') : `${dir}${sep}${name}` };
}

async function hashSnapshot(run: TargetRun, chain: HashableChain, subject: HashSubject): Promise<{ sha256: string }> {
  const target = run.target.arn;
  const partition = run.target.partition;
  const snapshotArn = `arn:${partition}:ec2:${subject.region}::snapshot/${subject.snapshotId}`;
  const reader = createEbsReader({ caller: callerFor(run, subject), side: subject.side, snapshotId: subject.snapshotId, snapshotArn });
  const log = new FileBlockLog(run.recorder.caseDir, subject.snapshotId);
  const place = imagePlace(run, chain, subject.snapshotId);
  const startedBefore = historyOf(run.recorder).firstWhere(LEDGER_EVENTS.diskHashStarted, 'snapshotId', subject.snapshotId) !== undefined;
  await run.recorder.record(
    LEDGER_EVENTS.diskHashStarted,
    {
      snapshotId: subject.snapshotId,
      role: subject.role,
      volumeId: chain.volumeId,
      apis: ['ebs:ListSnapshotBlocks', 'ebs:GetSnapshotBlock'],
      account: subject.side === 'forensics' ? run.aws.forensicsAccount : run.target.account,
      region: subject.region,
      ...(place ? { image: place.recordedPath } : {}),
      ...(startedBefore ? { continues: 'an earlier run started this hash; it continues from the progress kept in the case folder' } : {}),
    },
    target,
  );
  let hashed: DiskHash;
  try {
    hashed = await hashDisk({
      reader,
      log,
      signal: run.signal,
      ...(place ? { openImage: (bytes: number, blockSize: number, resume: boolean) => RawImage.open(place.dir, place.name, bytes, blockSize, resume) } : {}),
      checkpointEvery: checkpointBlocks,
      onProgress: (done, total) => {
        if (done % 256 === 0 || done === total) run.progress({ target, step: 'hash', state: 'waiting', detail: subject.snapshotId, fraction: done / total });
      },
    });
  } finally {
    await log.close();
  }

  const stored = await storeEvidenceOnce(run, {
    evidenceId: chain.evidenceId,
    name: `${subject.snapshotId}.block-sha256.txt`,
    kind: 'disk-block-hashes',
    source: snapshotArn,
    content: blockListText(hashed, log.lines()),
    mediaType: 'text/plain',
    target,
    cloudIds: { snapshotId: subject.snapshotId, volumeId: chain.volumeId },
    requestIds: hashed.listRequestIds,
  });
  await run.recorder.record(
    LEDGER_EVENTS.diskHashed,
    {
      snapshotId: subject.snapshotId,
      role: subject.role,
      volumeId: chain.volumeId,
      algorithm: 'SHA-256',
      sha256: hashed.sha256,
      volumeBytes: hashed.volumeBytes,
      blockSize: hashed.blockSize,
      blockCount: hashed.blockCount,
      writtenBlocks: hashed.writtenBlocks,
      zeroBlocks: hashed.blockCount - hashed.writtenBlocks,
      zeroBlockSha256: hashed.zeroBlockSha256,
      blockRequests: hashed.blockRequests,
      checksumRetries: hashed.checksumRetries,
      checksumsVerified: 'every written block against the SHA-256 EBS returned with it',
      listRequestIds: hashed.listRequestIds,
      blockList: stored ? stored.path : null,
      ...(hashed.resumed ? { resumed: hashed.resumed } : {}),
    },
    target,
  );
  if (place && hashed.imagePath) {
    await run.recorder.record(
      'disk.imaged',
      {
        snapshotId: subject.snapshotId,
        volumeId: chain.volumeId,
        path: place.recordedPath,
        insideCase: !isAbsolute(place.recordedPath),
        format: 'raw (sparse: unwritten blocks are holes)',
        sha256: hashed.sha256,
        size: hashed.volumeBytes,
        synced: true,
      },
      target,
    );
  }
  await log.finish();
  return { sha256: hashed.sha256 };
}

/**
 * The block-hash list: a header, then one line per written block — index, SHA-256 (hex), the
 * GetSnapshotBlock request id. Every block not listed is unwritten and hashes to the zero block's
 * SHA-256 given in the header, so any part of the disk can be checked without the whole.
 */
async function* blockListText(hashed: DiskHash, lines: AsyncIterable<BlockLine>): AsyncIterable<string> {
  yield [
    '# cloud-custody block hashes v1',
    `# snapshot ${hashed.snapshotId}`,
    `# volume-bytes ${hashed.volumeBytes} block-size ${hashed.blockSize} blocks ${hashed.blockCount} written ${hashed.writtenBlocks}`,
    `# whole-disk sha256 ${hashed.sha256}`,
    `# zero-block sha256 ${hashed.zeroBlockSha256} (every block not listed below)`,
    '# block-index sha256 request-id',
    '',
  ].join('\n');
  let chunk: string[] = [];
  for await (const line of lines) {
    chunk.push(`${line.index} ${Buffer.from(line.checksum, 'base64').toString('hex')} ${line.requestId ?? '-'}\n`);
    if (chunk.length >= 1024) {
      yield chunk.join('');
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk.join('');
}
