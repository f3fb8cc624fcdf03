/**
 * An instance whose tags carry a presigned URL and a deploy token (the customer's own
 * credentials, in its DescribeInstances answer): collected through the real provider against the
 * lab, instance.json keeps every tag key and the URL's readable parts, the secrets are nowhere in
 * the case folder, and the ledger says what was cut.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseTarget } from '../../../src/providers/targets.js';
import { verifyCase } from '../../../src/custody/index.js';
import { expectRedactionRecord, filesHolding } from '../../support/case-bytes.js';
import { contextFor } from './helpers.js';
import { instanceArn, useAwsLab } from './lab-fixture.js';

const world = useAwsLab({ scratchPrefix: 'custody-aws-redact-' });

const PRESIGNED = 'https://ops.s3.amazonaws.com/b.sh?X-Amz-Credential=AKIAEXAMPLE%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Expires=3600&X-Amz-Signature=9c2dSECRET';

describe('an AWS instance whose tags carry a presigned URL and a token', () => {
  it('is collected with both cut out of instance.json, each cut and the pre-redaction hash recorded, and the case verifies', async () => {
    const web = world.instanceNamed('web-01');
    web.tags['bootstrap-script'] = PRESIGNED;
    web.tags.DEPLOY_TOKEN = 'dt_live_SECRET';
    const kase = await world.newCase('redact');
    const outcome = await world.provider().collect(parseTarget(instanceArn(web)), contextFor(kase));
    expect(outcome.status, outcome.reason).toBe('collected');
    await kase.close({ outcomes: [outcome] });

    expect(filesHolding(kase.caseDir, 'SECRET')).toEqual([]);
    const stored = kase.entries().find((e) => e.type === 'evidence.stored' && e.data.name === 'instance.json')!;
    const tags = JSON.parse(readFileSync(join(kase.caseDir, String(stored.data.path)), 'utf8')).instance.instance.Tags as Array<{ Key: string; Value: string }>;
    expect(tags).toEqual(expect.arrayContaining([
      { Key: 'bootstrap-script', Value: PRESIGNED.replace('X-Amz-Signature=9c2dSECRET', 'X-Amz-Signature=REDACTED') },
      { Key: 'DEPLOY_TOKEN', Value: 'REDACTED' },
      { Key: 'Name', Value: 'web-01' },
    ]));
    const index = (key: string) => tags.findIndex((t) => t.Key === key);
    // In the file's order (the tags' order as EC2 listed them).
    const redacted = [
      { at: index('bootstrap-script'), kind: 'a signed URL (SAS, presigned or signed URL)' },
      { at: index('DEPLOY_TOKEN'), kind: 'a value named like a credential' },
    ].sort((a, b) => a.at - b.at);
    expectRedactionRecord(
      kase.caseDir,
      stored,
      [['X-Amz-Signature=REDACTED', 'X-Amz-Signature=9c2dSECRET'], ['"Value": "REDACTED"', '"Value": "dt_live_SECRET"']],
      redacted.map(({ at, kind }) => ({ path: `$.instance.instance.Tags[${at}].Value`, kind })),
    );
    const verified = await verifyCase(kase.caseDir);
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });
});
