/**
 * The GCP fixture points ADC at its lab through process variables; stopping it puts them back,
 * so a later test file run in the same process does not find a stopped lab's metadata host.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startGcpFixture } from './fixture.js';

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
