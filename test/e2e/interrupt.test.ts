// Ctrl-C during a collection, or SIGTERM (a container, Lambda or Kubernetes Job being stopped):
// the running steps finish and are recorded, the case is left open (not closed), the responder is
// told how to finish it, and --resume does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyCase } from '../../src/custody/index.js';
import { EXIT } from '../../src/core/errors.js';
import { ledgerLines, runCliChild, startCli } from './child-cli.js';
import { useLabFixture } from './lab-fixture.js';

// One target at a time, so an interrupt leaves later targets not started.
const fx = useLabFixture({ config: { concurrency: { perScope: 1, total: 1 } } });

describe.each([
  ['Ctrl-C', 'SIGINT', 'IR-CTRL-C'],
  ['SIGTERM', 'SIGTERM', 'IR-SIGTERM'],
] as const)('%s', (_name, signal, caseId) => {
  it('stops starting targets, leaves the case resumable, says how to finish it, and --resume finishes it', async () => {
    const targets = ['web-01', 'db-01', 'api-01', 'worker-07'].map((n) => fx.instanceArn(n));
    const args = ['collect', '--case', caseId, '--analyst', 'alice', '--config', fx.configPath];
    const run = startCli([...args, ...targets], fx.env);
    const ledger = join(fx.dir, 'cases', caseId, 'ledger.jsonl');
    while (ledgerLines(ledger) < 6) await new Promise((r) => setTimeout(r, 5));
    run.child.kill(signal);
    const interrupted = await run.done;
    expect(interrupted.signal).toBeNull(); // handled, not killed by the signal
    // The same words as a stop during collect's copy or copy-case (test/e2e/evidence-bucket.test.ts).
    expect(interrupted.stderr).toContain(
      `custody: ${signal === 'SIGINT' ? 'interrupted' : 'SIGTERM received'}; stopping cleanly: no new target or upload starts, what is in flight is finished and recorded, and the command then says how to continue (custody collect --resume, or custody copy-case for a closed case) (${signal === 'SIGINT' ? 'Ctrl-C' : 'send SIGTERM'} again to quit at once)`,
    );
    expect(interrupted.code).toBe(EXIT.CANCELLED);
    expect(interrupted.stdout).toContain('--resume');
    expect(interrupted.stdout).toMatch(/skipped/);
    const types = ledgerOf(ledger);
    expect(types).toContain('collection.interrupted');
    expect(types).not.toContain('case.closed');

    const resumed = await runCliChild([...args, '--resume', '--json', ...targets], fx.env);
    expect(resumed.code).toBe(EXIT.OK);
    const verified = await verifyCase(join(fx.dir, 'cases', caseId));
    expect(verified.ok).toBe(true);
  }, 60_000);
});

function ledgerOf(path: string): string[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l: string) => (JSON.parse(l) as { type: string }).type);
}
