import { describe, expect, it } from 'vitest';
import { parseSelector, parseTarget, targetKey } from '../../src/providers/targets.js';
import { CustodyError } from '../../src/core/errors.js';

function refusal(raw: string, parse: (s: string) => unknown = parseTarget): CustodyError {
  try {
    parse(raw);
  } catch (error) {
    if (error instanceof CustodyError) return error;
    throw error;
  }
  throw new Error(`expected ${raw} to be refused`);
}

describe('targets named on the command line', () => {
  it('an instance ARN becomes an instance target with its account and region', () => {
    const target = parseTarget('arn:aws:ec2:eu-west-1:222222222222:instance/i-0123456789abcdef0');
    expect(target).toEqual({
      provider: 'aws',
      kind: 'aws-instance',
      key: 'arn:aws:ec2:eu-west-1:222222222222:instance/i-0123456789abcdef0',
      arn: 'arn:aws:ec2:eu-west-1:222222222222:instance/i-0123456789abcdef0',
      partition: 'aws',
      region: 'eu-west-1',
      account: '222222222222',
      instanceId: 'i-0123456789abcdef0',
    });
  });

  it('a volume ARN in GovCloud keeps its partition', () => {
    const target = parseTarget('arn:aws-us-gov:ec2:us-gov-west-1:222222222222:volume/vol-0123abcd');
    expect(target).toMatchObject({ kind: 'aws-volume', partition: 'aws-us-gov', volumeId: 'vol-0123abcd' });
  });

  it.each([
    ['arn:aws:ec2:us-east-1:2222:instance/i-0123456789abcdef0', 'is not a 12-digit account id'],
    ['arn:aws:ec2:us-east-1:222222222222:instance/i-XYZ', 'is not an instance id'],
    ['arn:aws:ec2:us-east-1:222222222222', 'six colon-separated fields'],
    ['arn:aws:s3:::bucket', 'service is "s3"'],
    ['arn:aws:s3:us-east-1:222222222222:bucket/x', 'service is "s3"'],
    ['arn:aws:ec2:mars-1:222222222222:instance/i-0123456789abcdef0', 'is not a region'],
    ['arn:aws:ec2:us-east-1:222222222222:snapshot/snap-0123456789abcdef0', 'cannot be collected'],
    ['arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0/../x', 'is not an instance id'],
    ['i-0123456789abcdef0', 'unrecognised form'],
    ['k8s:prod/default', 'expected 3 or 4 path segments'],
    ['k8s:prod/Default/api-1', 'is not a namespace name'],
  ])('%s is refused: %s', (raw, why) => {
    const error = refusal(raw);
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain(why);
    expect(error.message).toContain('Expected');
  });

  it('a pod target may name one container', () => {
    const target = parseTarget('k8s:prod-eks/payments/api-7d9f-x2x/sidecar');
    expect(target).toEqual({ provider: 'kubernetes', kind: 'k8s-pod', key: 'k8s:prod-eks/payments/api-7d9f-x2x/sidecar', cluster: 'prod-eks', namespace: 'payments', pod: 'api-7d9f-x2x', container: 'sidecar', within: 'k8s:prod-eks/payments/api-7d9f-x2x' });
    expect(targetKey(target)).toBe('k8s:prod-eks/payments/api-7d9f-x2x/sidecar');
  });
});

describe('selectors', () => {
  it('a tag selector keeps key and value, including "=" in the value', () => {
    expect(parseSelector('tag:Incident=INC-42')).toEqual({ provider: 'aws', kind: 'aws-tag', key: 'tag:Incident=INC-42', tagKey: 'Incident', value: 'INC-42' });
    expect(parseSelector('tag:Note=a=b')).toEqual({ provider: 'aws', kind: 'aws-tag', key: 'tag:Note=a=b', tagKey: 'Note', value: 'a=b' });
  });

  it('a Kubernetes label selector names cluster, namespace and labels', () => {
    expect(parseSelector('k8s:prod/payments?labels=app=api,tier=web')).toEqual({
      provider: 'kubernetes',
      kind: 'k8s-labels',
      key: 'k8s:prod/payments?labels=app=api,tier=web',
      cluster: 'prod',
      namespace: 'payments',
      labelSelector: 'app=api,tier=web',
    });
  });

  it.each([
    // A second condition written as its own parameter was dropped: the selector matched every
    // app=api pod, tier or not (more pods collected, or isolated, than the responder asked for).
    ['k8s:prod/payments?labels=app=api&tier=web', '"tier"'],
    ['k8s:prod/payments?labels=app=api&labels=tier=web', '"labels" is given twice'],
  ])('%s is refused, not narrowed to its first labels parameter', (raw, why) => {
    const error = refusal(raw, parseSelector);
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain(why);
  });

  it.each([
    // Blank to the API server: an empty label selector, which matches every pod in the namespace.
    ['k8s:prod/payments?labels=+'],
    ['k8s:prod/payments?labels=%20%09'],
    // No condition at all, only separators.
    ['k8s:prod/payments?labels=,'],
    ['k8s:prod/payments?labels=%20,%20'],
  ])('%s names no condition, so it is refused as empty before anything is created, not sent to match every pod', (raw) => {
    const error = refusal(raw, parseSelector);
    expect([error.code, error.message]).toEqual(['E_INPUT', expect.stringContaining('the labels= parameter is empty')]);
  });

  it.each([
    // The shell gave nothing for an unset variable (tag:Env=$ENV): searching would select by the
    // key alone (EC2, Azure: an empty value), or every pod whose label is not empty (app!=).
    ['tag:Env=', 'tag value'],
    ['tag:Env=   ', 'tag value'],
    ['azure:tag:Env=', 'tag value'],
    ['gcp-label:env=', 'label value'],
    ['gcp-tag:123456789012/env=', 'tag value'],
    ['k8s:prod/payments?labels=app=', 'label value in "app="'],
    ['k8s:prod/payments?labels=tier=web,app!=', 'label value in "app!="'],
    ['k8s:prod/payments?labels=tier in (web,api),app==', 'label value in "app=="'],
  ])('%s has an empty value, so it is refused before anything is created, naming the selector', (raw, what) => {
    const error = refusal(raw, parseSelector);
    expect([error.code, error.message.slice(0, error.message.indexOf(' Expected '))]).toEqual(['E_INPUT', `invalid selector "${raw}": the ${what} is empty (a shell variable that was not set?): give the value to match.`]);
  });

  it('a set condition keeps its commas, and a condition without a value (exists, !exists) is not an empty value', () => {
    expect(parseSelector('k8s:prod/payments?labels=tier in (web,api),app,!canary')).toMatchObject({ labelSelector: 'tier in (web,api),app,!canary' });
  });

  it.each(['tag:=x', 'tag:aws:cloudformation:stack-name=x', 'k8s:prod/payments', 'label:app=api', 'k8s:prod/payments?labels='])(
    '%s is refused',
    (raw) => {
      expect(refusal(raw, parseSelector).code).toBe('E_INPUT');
    },
  );
});
