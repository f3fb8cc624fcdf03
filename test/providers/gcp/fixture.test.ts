/**
 * The GCP fixture points ADC at its lab through process variables; stopping it puts them back,
 * so a later test file run in the same process does not find a stopped lab's metadata host.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startGcpFixture, useGcpFixtures } from './fixture.js';

const NAMES = ['GCE_METADATA_HOST', 'METADATA_SERVER_DETECTION', 'GOOGLE_APPLICATION_CREDENTIALS', 'CLOUDSDK_CONFIG'] as const;
const saved = new Map(NAMES.map((name) => [name, process.env[name]]));

afterEach(() => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('the GCP fixture', () => {
  it('puts back the variables it set, unset or as they were, and removes its gcloud folder', async () => {
    process.env.GCE_METADATA_HOST = 'metadata.before.example';
    delete process.env.METADATA_SERVER_DETECTION;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nowhere/key.json';
    delete process.env.CLOUDSDK_CONFIG;

    const fx = await startGcpFixture();
    expect(process.env.GCE_METADATA_HOST).toBe(fx.lab.metadataHost);
    const gcloudDir = process.env.CLOUDSDK_CONFIG!;
    expect(existsSync(gcloudDir)).toBe(true);
    await fx.stop();

    expect(NAMES.map((name) => [name, process.env[name]])).toEqual([
      ['GCE_METADATA_HOST', 'metadata.before.example'],
      ['METADATA_SERVER_DETECTION', undefined],
      ['GOOGLE_APPLICATION_CREDENTIALS', '/nowhere/key.json'],
      ['CLOUDSDK_CONFIG', undefined],
    ]);
    expect(existsSync(gcloudDir)).toBe(false);
  });
});

describe('the GCP fixtures a test starts with useGcpFixtures', () => {
  // Registered before useGcpFixtures' own: vitest runs a suite's afterEach hooks last-registered
  // first, so this sees the variables just after the fixtures stopped (and before the file puts them back).
  let afterStop: Array<[string, string | undefined]> = [];
  afterEach(() => void (afterStop = NAMES.map((name) => [name, process.env[name]])));
  const startFixture = useGcpFixtures();
  let gcloudDirs: string[] = [];

  it('run side by side, the last started pointing ADC at its lab', async () => {
    process.env.GCE_METADATA_HOST = 'metadata.before.example';
    delete process.env.CLOUDSDK_CONFIG;
    await startFixture();
    const first = process.env.CLOUDSDK_CONFIG!;
    const second = await startFixture();
    gcloudDirs = [first, process.env.CLOUDSDK_CONFIG!];
    expect(process.env.GCE_METADATA_HOST).toBe(second.lab.metadataHost);
  });

  it('are stopped after the test, the last started first: the variables are as before the first one, and both gcloud folders are gone', () => {
    expect(afterStop).toContainEqual(['GCE_METADATA_HOST', 'metadata.before.example']);
    expect(afterStop).toContainEqual(['CLOUDSDK_CONFIG', undefined]);
    expect(gcloudDirs.map((dir) => existsSync(dir))).toEqual([false, false]);
  });
});
