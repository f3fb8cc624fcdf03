import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoScenario, startLab, type RunningLab } from '../../../src/lab/index.js';
import { assumeCollector, failureOf, startDemoLab, stsClient, useLab } from './helpers.js';

describe('lab STS', () => {
  const lab = useLab(() => startDemoLab());

  it('tells the orchestrator who it is', async () => {
    const me = await stsClient(lab).send(new GetCallerIdentityCommand({}));
    expect(me.Account).toBe('111111111111');
    expect(me.Arn).toBe('arn:aws:sts::111111111111:assumed-role/CloudCustodyOrchestrator/cloud-custody-orchestrator');
    expect(me.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('issues short-lived credentials attributed to the analyst, with the case tag on the session', async () => {
    const creds = await assumeCollector(lab, '222222222222', { Policy: '{"Version":"2012-10-17","Statement":[]}' });
    expect(creds.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    const me = await stsClient(lab, creds).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe('arn:aws:sts::222222222222:assumed-role/CloudCustodyCollector/custody-CASE-2026-001');
    const session = lab.state.credentials.get(creds.accessKeyId);
    expect(session?.principal.sourceIdentity).toBe('alice@example.com');
    expect(session?.principal.tags).toEqual({ CaseId: 'CASE-2026-001' });
    expect(session?.principal.sessionPolicy).toContain('2012-10-17');
    expect((session?.expiresAt ?? 0) - lab.clock.now()).toBeLessThanOrEqual(900_000);
  });

  it('refuses a session without SourceIdentity, so no call goes unattributed', async () => {
    const error = await failureOf(assumeCollector(lab, '222222222222', { SourceIdentity: undefined }));
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toContain('sts:AssumeRole on resource: arn:aws:iam::222222222222:role/CloudCustodyCollector');
  });

  it('refuses a caller the trust policy does not name', async () => {
    const other = await assumeCollector(lab, '222222222222');
    // A collector session trying to hop on to another account's collector role.
    const error = await failureOf(
      stsClient(lab, other).send(
        new AssumeRoleCommand({
          RoleArn: 'arn:aws:iam::333333333333:role/CloudCustodyCollector',
          RoleSessionName: 'hop',
          SourceIdentity: 'mallory',
        }),
      ),
    );
    expect(error.name).toBe('AccessDenied');
  });

  it('answers an unknown role exactly like a refused one', async () => {
    const error = await failureOf(
      assumeCollector(lab, '222222222222', { RoleArn: 'arn:aws:iam::222222222222:role/DoesNotExist' }),
    );
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toContain('role/DoesNotExist');
  });

  it('caps chained sessions at one hour', async () => {
    const error = await failureOf(assumeCollector(lab, '222222222222', { DurationSeconds: 7200 }));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toContain('1 hour session limit');
  });

  it('refuses unknown keys and expired sessions with the errors the SDK knows', async () => {
    const unknown = await failureOf(
      stsClient(lab, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' }).send(new GetCallerIdentityCommand({})),
    );
    expect(unknown.name).toBe('InvalidClientTokenId');
    const creds = await assumeCollector(lab, '333333333333');
    expect(lab.control.expireSessions()).toBeGreaterThan(0);
    const expired = await failureOf(stsClient(lab, creds).send(new GetCallerIdentityCommand({})));
    expect(expired.name).toBe('ExpiredToken');
    expect(expired.$metadata?.httpStatusCode).toBe(403);
  });
});

describe('lab STS with a role that requires an ExternalId', () => {
  let lab: RunningLab;
  beforeAll(async () => {
    const scenario = demoScenario();
    const target = scenario.accounts.find((a) => a.id === '333333333333');
    const role = target?.roles?.[0];
    if (role) role.externalId = 'ext-7f3a';
    lab = await startLab(scenario);
  });
  afterAll(async () => {
    await lab.stop();
  });

  it('refuses a missing or wrong ExternalId and accepts the right one', async () => {
    expect((await failureOf(assumeCollector(lab, '333333333333'))).name).toBe('AccessDenied');
    expect((await failureOf(assumeCollector(lab, '333333333333', { ExternalId: 'guess' }))).name).toBe('AccessDenied');
    const creds = await assumeCollector(lab, '333333333333', { ExternalId: 'ext-7f3a' });
    expect(lab.state.credentials.get(creds.accessKeyId)?.principal.account).toBe('333333333333');
  });

  it('refuses sessions shorter than 15 minutes', async () => {
    const error = await failureOf(assumeCollector(lab, '222222222222', { DurationSeconds: 600 }));
    expect(error.name).toBe('ValidationError');
  });
});
