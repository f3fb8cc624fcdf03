import { describe, expect, it } from 'vitest';
import { composeDemoLab, startDemoLab, type DemoPart } from '../../../src/lab/demo/index.js';

function part(label: string, overrides: Partial<DemoPart> = {}): DemoPart & { closed: number } {
  const p = {
    closed: 0,
    label,
    endpoint: `http://127.0.0.1:1/${label}`,
    config: { [label.toLowerCase()]: { lab: label } },
    clusters: [{ configName: `demo-${label.toLowerCase()}`, clusterConfig: { server: `http://${label}` } }],
    env: { [`${label}_KEY`]: `${label}-key`, [`${label}_PROFILE`]: undefined },
    targets: { collectable: [`${label}:a`], refusedByPolicy: [`${label}:untagged`], followed: [`${label}:node`] },
    description: [`${label} lab`],
    checkCase: () => ({ ok: label !== 'BAD', lines: [`${label} checked`] }),
    async close() {
      p.closed += 1;
    },
    ...overrides,
  };
  return p;
}

describe('the demo is composed of one part per cloud', () => {
  it('merges the parts’ config sections, clusters, env, targets and checks into one case', () => {
    const lab = composeDemoLab([part('AWS', { selector: 'tag:Incident=INC-42', evidenceBucket: 'bucket' }), part('GCP')]);
    expect(lab.config).toEqual({
      aws: { lab: 'AWS' },
      gcp: { lab: 'GCP' },
      kubernetes: { clusters: { 'demo-aws': { server: 'http://AWS' }, 'demo-gcp': { server: 'http://GCP' } } },
    });
    expect(lab.env).toEqual({ AWS_KEY: 'AWS-key', AWS_PROFILE: undefined, GCP_KEY: 'GCP-key', GCP_PROFILE: undefined });
    expect(lab.targets).toEqual({
      collectable: ['AWS:a', 'GCP:a'],
      refusedByPolicy: ['AWS:untagged', 'GCP:untagged'],
      followed: ['AWS:node', 'GCP:node'],
      selector: 'tag:Incident=INC-42',
    });
    expect(lab.endpoint).toBe('http://127.0.0.1:1/AWS');
    expect(lab.endpoints).toEqual({ AWS: 'http://127.0.0.1:1/AWS', GCP: 'http://127.0.0.1:1/GCP' });
    expect(lab.evidenceBucket).toBe('bucket');
    expect(lab.description).toEqual(['AWS lab', 'GCP lab']);
    expect(lab.checkCase('/case')).toEqual({ ok: true, lines: ['AWS checked', 'GCP checked'] });
    expect(composeDemoLab([part('AWS'), part('BAD')]).checkCase('/case').ok).toBe(false);
  });

  it('refuses two parts claiming one config section or cluster name, or setting one variable differently', () => {
    expect(() => composeDemoLab([part('AWS'), part('X', { config: { aws: {} } })])).toThrow(/config section aws/);
    expect(() => composeDemoLab([part('AWS'), part('X', { clusters: [{ configName: 'demo-aws', clusterConfig: {} }] })])).toThrow(/cluster demo-aws/);
    expect(() => composeDemoLab([part('AWS'), part('X', { env: { AWS_KEY: 'other' } })])).toThrow(/AWS_KEY/);
    expect(() => composeDemoLab([part('AWS', { config: { kubernetes: {} } })])).toThrow(/clusters/);
  });

  it('when one part fails to start, the parts that did start are closed', async () => {
    const started = part('AWS');
    await expect(startDemoLab([async () => started, async () => Promise.reject(new Error('no port'))])).rejects.toThrow('no port');
    expect(started.closed).toBe(1);
  });
});
