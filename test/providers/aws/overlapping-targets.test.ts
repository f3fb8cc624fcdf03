import { REGISTRY } from '../../../src/providers/registry.js';
/**
 * An instance and one of its own volumes named in the same case (or found by --select beside an
 * explicit volume): the volume must be snapshotted once, and the signed manifest must hold every
 * snapshot taken — before, both targets snapshotted it and the manifest merged the two records
 * under one evidence id, keeping only one of the snapshots.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/providers/config.js';
import { DEFAULT_COLLECT_OPTIONS, runCollection } from '../../../src/core/orchestrator.js';
import { parseSelector, parseTarget } from '../../../src/providers/targets.js';
import { collectEvidenceItems } from '../../../src/custody/manifest.js';
import { verifyCase } from '../../../src/custody/index.js';
import { contextFor, manifestArtifacts } from './helpers.js';
import { instanceArn, REGION, useAwsLab, volumeArn } from './lab-fixture.js';

const world = useAwsLab({ scratchPrefix: 'custody-aws-overlap-', caseIdPrefix: 'IR-overlap-' });

async function collectBoth(label: string, order: 'instance-first' | 'volume-first', perScope: number) {
  const kase = await world.newCase(label);
  const web = world.instanceNamed('web-01');
  const root = world.volumeNamed('web-01-root');
  const targets = [parseTarget(instanceArn(web)), parseTarget(volumeArn(root))];
  if (order === 'volume-first') targets.reverse();
  const aws = world.provider();
  const config = parseConfig({
    concurrency: { perScope, total: 64 },
    aws: { forensicsAccount: '111111111111', region: REGION, allowedAccounts: ['222222222222', '333333333333'] },
  });
  const result = await runCollection({ config, parser: REGISTRY, providers: [aws], recorder: kase, targets, options: DEFAULT_COLLECT_OPTIONS });
  return { kase, web, root, result };
}

describe('overlapping targets: an instance and its own volume in one case', () => {
  it.each([
    ['instance-first', 10],
    ['volume-first', 10],
    ['volume-first', 1],
    ['instance-first', 1],
  ] as const)('named %s (perScope %i): each volume snapshotted once, every snapshot in the manifest, both targets collected', async (order, perScope) => {
    const { kase, web, root, result } = await collectBoth(`${order}-${perScope}`, order, perScope);
    const outcomeOf = (arn: string) => result.outcomes.find((o) => o.target === arn);
    expect(outcomeOf(instanceArn(web))?.status, outcomeOf(instanceArn(web))?.reason).toBe('collected');
    expect(outcomeOf(volumeArn(root))?.status, outcomeOf(volumeArn(root))?.reason).toBe('collected');
    const sources = world.snapshotsOf(kase.caseId).filter((s) => s.tags.SourceSnapshotId === undefined);
    const perVolume = new Map<string, number>();
    for (const s of sources) perVolume.set(s.volumeId, (perVolume.get(s.volumeId) ?? 0) + 1);
    expect(Object.fromEntries(perVolume)).toEqual(Object.fromEntries(web.blockDevices.map((d) => [d.volumeId, 1])));

    // Every source snapshot the lab holds for the case is in the manifest, once.
    const artifacts = manifestArtifacts(kase.entries());
    expect(artifacts.map((a) => a.cloudIds.snapshotId).sort()).toEqual(sources.map((s) => s.id).sort());
    expect(artifacts.every((a) => a.cloudIds.forensicsSnapshotId?.startsWith('snap-'))).toBe(true);
    expect(kase.entries().filter((e) => e.type === 'volume.covered')).toHaveLength(1);
    // Whichever claimed the root first snapshotted it; the other target says it was covered.
    expect(`${outcomeOf(instanceArn(web))?.reason ?? ''} ${outcomeOf(volumeArn(root))?.reason ?? ''}`).toMatch(/covered|snapshotted once for the case/);


    await kase.close({ outcomes: result.outcomes });
    expect(collectEvidenceItems(kase.entries()).artifacts).toHaveLength(web.blockDevices.length);
    const verified = await verifyCase(join(world.dir, 'cases', kase.caseId));
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });
});

describe('overlapping targets: a selector and an explicit volume of an instance it finds', () => {
  it('--select finds worker-07 and its root volume is also named: the root is snapshotted once, both targets collected', async () => {
    const kase = await world.newCase('select-plus-volume');
    const worker = world.instanceNamed('worker-07');
    const root = world.volumeNamed('worker-07-root');
    const config = parseConfig({
      concurrency: { perScope: 10, total: 64 },
      aws: { forensicsAccount: '111111111111', region: REGION, allowedAccounts: ['222222222222', '333333333333'] },
    });
    const result = await runCollection({
      config,
      parser: REGISTRY,
      providers: [world.provider()],
      recorder: kase,
      targets: [parseTarget(volumeArn(root))],
      selectors: [parseSelector('tag:Incident=INC-42')],
      options: DEFAULT_COLLECT_OPTIONS,
    });
    const outcomeOf = (arn: string) => result.outcomes.find((o) => o.target === arn);
    expect(outcomeOf(instanceArn(worker))?.status, outcomeOf(instanceArn(worker))?.reason).toBe('collected');
    expect(outcomeOf(volumeArn(root))?.status, outcomeOf(volumeArn(root))?.reason).toBe('collected');

    const sources = world.snapshotsOf(kase.caseId).filter((s) => s.tags.SourceSnapshotId === undefined);
    const perVolume = new Map<string, number>();
    for (const s of sources) perVolume.set(s.volumeId, (perVolume.get(s.volumeId) ?? 0) + 1);
    expect(Object.fromEntries(perVolume)).toEqual(Object.fromEntries(worker.blockDevices.map((d) => [d.volumeId, 1])));
    expect(manifestArtifacts(kase.entries()).map((a) => a.cloudIds.snapshotId).sort()).toEqual(sources.map((s) => s.id).sort());

    await kase.close({ outcomes: result.outcomes });
    expect(collectEvidenceItems(kase.entries()).artifacts).toHaveLength(worker.blockDevices.length);
    expect((await verifyCase(join(world.dir, 'cases', kase.caseId))).ok).toBe(true);
  });
});

describe('overlapping targets across runs of one case', () => {
  it.each(['volume-then-instance', 'instance-then-volume'] as const)('%s: the later target finds the earlier run\'s snapshot in the ledger and takes no second one', async (order) => {
    const web = world.instanceNamed('web-01');
    const root = world.volumeNamed('web-01-root');
    const [first, second] = order === 'volume-then-instance' ? [volumeArn(root), instanceArn(web)] : [instanceArn(web), volumeArn(root)];
    const kase = await world.newCase(order);
    const aws1 = world.provider();
    aws1.validate(parseTarget(first));
    expect((await aws1.collect(parseTarget(first), contextFor(kase))).status).toBe('collected');
    await kase.release();

    const resumed = await world.openCase(kase.caseId, true);
    const aws2 = world.provider();
    aws2.validate(parseTarget(second));
    const outcome = await aws2.collect(parseTarget(second), contextFor(resumed));
    expect(outcome.status, outcome.reason).toBe('collected');
    const covered = resumed.entries().filter((e) => e.type === 'volume.covered');
    expect(covered.map((e) => e.data)).toEqual([expect.objectContaining({ volumeId: root.id, coveredBy: first })]);

    const sources = world.snapshotsOf(kase.caseId).filter((s) => s.tags.SourceSnapshotId === undefined);
    const perVolume = new Map<string, number>();
    for (const s of sources) perVolume.set(s.volumeId, (perVolume.get(s.volumeId) ?? 0) + 1);
    // The instance (in whichever run) took its other volume; the root was taken once, by the first run.
    expect(Object.fromEntries(perVolume)).toEqual(Object.fromEntries(web.blockDevices.map((d) => [d.volumeId, 1])));
    expect(manifestArtifacts(resumed.entries()).map((a) => a.cloudIds.snapshotId).sort()).toEqual(sources.map((s) => s.id).sort());
    await resumed.close({ outcomes: [outcome] });
    expect((await verifyCase(join(world.dir, 'cases', kase.caseId))).ok).toBe(true);
  });
});
