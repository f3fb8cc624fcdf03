// An EC2 page of the AWS console pasted as a target is refused (exit 3) with the ARN to give: ACCOUNT
// left for the responder when the URL names no account (never guessed), the account filled in when a
// multi-session console host names it.
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeFor } from '../../../src/core/errors.js';
import { parseTarget } from '../../../src/providers/targets.js';

function refusal(raw: string): { code: string; message: string; exitCode: number } {
  try {
    parseTarget(raw);
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message, exitCode: exitCodeFor(error) };
  }
  throw new Error(`${raw} was accepted`);
}

describe('AWS console URLs as targets', () => {
  it.each([
    [
      'https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#InstanceDetails:instanceId=i-0123456789abcdef0',
      'the instance is in',
      'arn:aws:ec2:us-east-1:ACCOUNT:instance/i-0123456789abcdef0',
    ],
    [
      'https://console.aws.amazon.com/ec2/v2/home?region=eu-west-1#Instances:instanceId=i-0123456789abcdef0;sort=Name',
      'the instance is in',
      'arn:aws:ec2:eu-west-1:ACCOUNT:instance/i-0123456789abcdef0',
    ],
    [
      'https://ap-south-1.console.aws.amazon.com/ec2/home?region=ap-south-1#VolumeDetails:volumeId=vol-0569512768763aa4c',
      'the volume is in',
      'arn:aws:ec2:ap-south-1:ACCOUNT:volume/vol-0569512768763aa4c',
    ],
    [
      'https://console.amazonaws-us-gov.com/ec2/home?region=us-gov-west-1#InstanceDetails:instanceId=i-0123456789abcdef0',
      'the instance is in',
      'arn:aws-us-gov:ec2:us-gov-west-1:ACCOUNT:instance/i-0123456789abcdef0',
    ],
  ])('%s is refused naming the missing account and the exact ARN to use', (url, what, arn) => {
    const { code, message, exitCode } = refusal(url);
    expect(code).toBe('E_INPUT');
    expect(exitCode).toBe(EXIT.BAD_INPUT);
    expect(message).toContain(`invalid target "${url}"`);
    expect(message).toContain(`does not name the account ${what}`);
    expect(message).toContain('ACCOUNT replaced by the 12-digit id of the account that owns it');
    expect(message.endsWith(`: ${arn}`)).toBe(true);
  });

  it('a multi-session console URL names the signed-in account in its host: the refusal does not say otherwise, and gives the whole ARN with that account', () => {
    // The region from the host when the URL has no region parameter.
    const url = 'https://123456789012-abcdefgh.us-west-2.console.aws.amazon.com/ec2/home#InstanceDetails:instanceId=i-0123456789abcdef0';
    const { code, exitCode, message } = refusal(url);
    expect(code).toBe('E_INPUT');
    expect(exitCode).toBe(EXIT.BAD_INPUT);
    expect(message).not.toContain('does not name the account');
    expect(message).toContain("host names the account it was signed in to (123456789012)");
    expect(message.endsWith(': arn:aws:ec2:us-west-2:123456789012:instance/i-0123456789abcdef0')).toBe(true);
    const volume = refusal('https://210987654321-x1y2z3w4.eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#VolumeDetails:volumeId=vol-0569512768763aa4c');
    expect(volume.message.endsWith(': arn:aws:ec2:eu-west-1:210987654321:volume/vol-0569512768763aa4c')).toBe(true);
  });

  it('a console URL with no region says so and leaves REGION to fill in too', () => {
    const { message } = refusal('https://console.aws.amazon.com/ec2/home#InstanceDetails:instanceId=i-0123456789abcdef0');
    expect(message).toContain('does not name the account the instance is in, nor its region');
    expect(message.endsWith(': arn:aws:ec2:REGION:ACCOUNT:instance/i-0123456789abcdef0')).toBe(true);
  });

  it.each([
    ['https://us-east-1.console.aws.amazon.com/s3/buckets/evidence', 'shows no single EC2 instance or volume'],
    ['https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#Instances:', 'shows no single EC2 instance or volume'],
    ['https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#InstanceDetails:instanceId=i-123', '"i-123" is not an instance id'],
    ['https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#VolumeDetails:volumeId=i-0123456789abcdef0', 'is not a volume id'],
  ])('%s is refused naming the expected ARN form: %s', (url, why) => {
    const { code, message } = refusal(url);
    expect(code).toBe('E_INPUT');
    expect(message).toContain(why);
    expect(message).toContain('Expected arn:aws:ec2:REGION:ACCOUNT:instance/i-…');
  });
});
