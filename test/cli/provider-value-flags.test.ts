import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectOptionsFrom, parseCommandArgs } from '../../src/cli/args.js';
import { collectHelp } from '../../src/cli/help.js';
import { REGISTRY } from '../../src/providers/registry.js';

const I1 = 'arn:aws:ec2:us-east-1:111111111111:instance/i-0123456789abcdef0';
const options = (...argv: string[]) => collectOptionsFrom(parseCommandArgs('collect', ['--case', 'IR-1', ...argv, I1]).values);

describe('the AWS module\'s disk-hash flags, through the registry', () => {
  it('none given: every boolean option false, no image folder', () => {
    const o = options();
    expect(o).toMatchObject({ hash: false, hashSource: false, preserve: false });
    expect('imageDir' in o).toBe(false);
  });

  it('--image DIR is made absolute and implies --hash; --hash-source implies --hash', () => {
    expect(options('--image', 'images')).toMatchObject({ hash: true, hashSource: false, imageDir: resolve('images') });
    expect(options('--hash-source')).toMatchObject({ hash: true, hashSource: true });
  });

  it('an empty --image is bad input naming what it needs', () => {
    expect(() => options('--image', '')).toThrow(/--image needs DIR/);
  });

  it('library options by option name: a folder for imageDir, not a boolean', () => {
    expect(REGISTRY.collectOptions({ imageDir: '/tmp/x' }, 'option')).toMatchObject({ hash: true, imageDir: '/tmp/x' });
    expect(() => REGISTRY.collectOptions({ imageDir: true }, 'option')).toThrow(/^option imageDir needs DIR/);
  });

  it('collect --help shows the value placeholder and the continuation line indented', () => {
    const help = collectHelp();
    expect(help).toMatch(/\n {2}--image DIR {7,}\(AWS\) also write each hashed disk/);
    expect(help).toMatch(/\n {21}direct APIs, with its block-hash list/);
  });
});
