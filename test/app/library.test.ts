// The library API (`collect` from 'cloud-custody') as a Lambda function or a SOAR playbook calls it:
// its input often comes from a JSON event, so what the CLI's parser would refuse is refused here too,
// before anything is created.
import { afterAll, describe, expect, it } from 'vitest';
import { collect } from '../../src/app/library.js';
import { CustodyError } from '../../src/core/errors.js';
import { GOOD_CONFIG, fakeWorld, removeWorlds } from '../cli/harness.js';

afterAll(removeWorlds);

const I1 = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0';

async function refusal(run: Promise<unknown>): Promise<CustodyError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CustodyError);
  return error as CustodyError;
}

describe('collect (library): bad input is refused before anything is created', () => {
  it.each([[''], ['   ']])('a blank analyst (%j) is bad input naming the analyst, never a case recorded as collected by nobody', async (analyst) => {
    const world = fakeWorld();
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst, targets: [I1] }, world.deps));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toMatch(/^analyst is empty: /);
    expect(world.opened).toEqual([]);
  });
});

describe('collect (library): the case id', () => {
  it.each([
    ['', /^collect needs a caseId /],
    [undefined, /^collect needs a caseId /],
    ['..', /^invalid case id "\.\."/],
    ['IR/1', /^invalid case id "IR\/1"/],
  ])('%j is refused as an invalid case id, not as a folder that "already exists" (add --resume) or a crash', async (caseId, message) => {
    const world = fakeWorld();
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: caseId as string, analyst: 'soar', targets: [I1] }, world.deps));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toMatch(message);
    expect(world.opened).toEqual([]);
  });
});

describe('collect (library): options', () => {
  it.each([['true'], ['false'], [1]])('a boolean option given as %j (a JSON event field typed as text) is refused naming it, never silently off', async (value) => {
    const world = fakeWorld();
    const options = { preserve: value } as unknown as Record<string, boolean>;
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1], options }, world.deps));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toBe(`option preserve takes true or false, not ${JSON.stringify(value)}`);
    expect(world.opened).toEqual([]);
  });

  it('a value option given as something other than text says which option and what it needs, by its option name', async () => {
    const world = fakeWorld();
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1], options: { imageDir: true } }, world.deps));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toBe('option imageDir needs DIR (a non-empty text), not true');
  });

  it('true and false are taken as given; an option left out is off', async () => {
    const world = fakeWorld();
    const seen: unknown[] = [];
    const collectTarget = world.provider.behaviour;
    world.provider.behaviour = (target, ctx) => {
      seen.push(ctx.options);
      return collectTarget(target, ctx);
    };
    await collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1], options: { preserve: true, screenshot: false } }, world.deps);
    expect(seen).toEqual([expect.objectContaining({ preserve: true, screenshot: false, hash: false })]);
  });
});
