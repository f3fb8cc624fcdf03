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
