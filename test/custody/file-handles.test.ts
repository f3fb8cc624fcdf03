// Every file the product opens for a case is closed on every path, even when the case is
// abandoned after an error. A handle left to the garbage collector is an uncaught
// ERR_INVALID_STATE on Node 26: the collector would crash mid-incident. /proc/self/fd shows what
// is still open, deterministically, before any GC.
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { collectCase } from '../../src/app/collect-case.js';
import { defaultDeps } from '../../src/cli/default-deps.js';
import { parseConfig } from '../../src/providers/config.js';
import { CustodyError } from '../../src/core/errors.js';
import { openCase } from '../../src/custody/index.js';
import { FakeAwsProvider, instance } from '../core/fakes.js';
import { CAN_LIST_OPEN_FILES, openCaseFiles } from '../setup/open-case-files.js';
import { caseOptions, useScratch } from './helpers.js';

const base = { evidenceId: 'ev-0123456789ab', kind: 'pod-log', source: 'k8s:prod/default/pod/web-0', target: 'k8s:prod/default/pod/web-0' };

describe.skipIf(!CAN_LIST_OPEN_FILES)('no file handle is left to the garbage collector', () => {
  const scratch = useScratch();

  it('a case opened, written to and closed holds nothing open afterwards', async () => {
    const kase = await openCase(caseOptions(scratch));
    await kase.storeEvidence({ ...base, name: 'a.log', content: 'text' });
    await kase.storeEvidence({ ...base, name: 'b.log', content: Readable.from([Buffer.from('stream')]) });
    expect(openCaseFiles(kase.caseDir)).toContain(join(kase.caseDir, 'ledger.jsonl'));
    await kase.close();
    expect(openCaseFiles(kase.caseDir)).toEqual([]);
  });

  it('a source that fails mid-stream, then the case abandoned with release(): nothing stays open', async () => {
    const kase = await openCase(caseOptions(scratch));
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(64 * 1024, 1);
        throw new Error('connection reset');
      })(),
    );
    await expect(kase.storeEvidence({ ...base, name: 'web-0.log', content: failing })).rejects.toThrow(/connection reset/);
    await kase.release();
    expect(openCaseFiles(kase.caseDir)).toEqual([]);
  });

  it('evidence refused before a byte is read has its source stream closed, not left open', async () => {
    const kase = await openCase(caseOptions(scratch));
    const sourcePath = join(scratch.root, 'archive.tar');
    await writeFile(sourcePath, Buffer.alloc(1024 * 1024, 7));
    const source = createReadStream(sourcePath);
    await new Promise((resolve) => source.once('open', resolve));
    expect(openCaseFiles(scratch.root)).toContain(sourcePath);
    await expect(kase.storeEvidence({ ...base, name: '../escape.tar', content: source })).rejects.toThrow(CustodyError);
    expect(source.destroyed).toBe(true);
    await new Promise<void>((resolve) => (source.closed ? resolve() : source.once('close', () => resolve())));
    await nextTurn();
    expect(openCaseFiles(scratch.root).filter((p) => p === sourcePath)).toEqual([]);
    await kase.release();
  });

  it('custody collect abandoning a case after the ledger failed closes the ledger and the lock', async () => {
    const config = parseConfig({
      casesDir: scratch.casesDir,
      keysDir: scratch.keysDir,
      aws: { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222'] },
    });
    const provider = new FakeAwsProvider();
    provider.behaviour = async () => {
      throw new CustodyError('E_LEDGER', 'cannot write the ledger: disk full');
    };
    const deps = {
      ...defaultDeps(),
      createProviders: async () => [provider],
      // The forensics account's identity, as STS would answer: no cloud here.
      callerIdentity: async () => ({ arn: 'arn:aws:iam::111111111111:user/alice', account: '111111111111', userId: 'AIDAEXAMPLE' }),
    };
    const input = {
      config,
      caseId: 'IR-ABANDONED',
      analyst: 'alice',
      targets: [instance('222222222222', 1)],
      selectors: [],
      options: { preserve: false, isolate: false, screenshot: false, includeEnv: false, retrieveCheckpoint: false },
      resume: false,
      progress: () => undefined,
    };
    await expect(collectCase(input, deps)).rejects.toThrow(/disk full/);
    expect(openCaseFiles(join(scratch.casesDir, 'IR-ABANDONED'))).toEqual([]);
    // The lock went with it: the same case can be resumed at once.
    provider.behaviour = async (target) => ({ target: `${target.kind}`, status: 'collected', evidenceIds: [] });
    const resumed = await collectCase({ ...input, resume: true }, deps);
    expect(resumed.interrupted).toBe(false);
    expect(openCaseFiles(join(scratch.casesDir, 'IR-ABANDONED'))).toEqual([]);
  });
});
