/**
 * EC2 pages of the AWS console pasted as targets. Such a URL names the region and the instance or
 * volume, and not the account that owns it (the console shows the account it is signed in to, not
 * the URL) unless it is a multi-session console's, whose host starts with that account. A target's
 * account decides which collector role is assumed: the URL is refused with the exact ARN to give,
 * ACCOUNT left for the responder to fill in when the URL does not name it, rather than guessed.
 */
import { CustodyError } from '../../core/errors.js';
import { AWS_REGION, EBS_VOLUME_ID, EC2_INSTANCE_ID } from '../shared/aws-names.js';

// The console's domain per partition; a page is on it or on a subdomain (`us-east-1.`, a
// multi-session `ACCOUNT-xxxx.us-east-1.`).
const CONSOLE_DOMAINS: ReadonlyArray<readonly [string, string]> = [
  ['console.aws.amazon.com', 'aws'],
  ['console.amazonaws-us-gov.com', 'aws-us-gov'],
  ['console.amazonaws.cn', 'aws-cn'],
];

// The EC2 console's views that show one instance or one volume, and the fragment parameter that
// names it (`#InstanceDetails:instanceId=i-…`, `#Instances:instanceId=i-…;sort=Name`).
const VIEWS: Readonly<Record<string, { param: string; type: 'instance' | 'volume' }>> = {
  InstanceDetails: { param: 'instanceId', type: 'instance' },
  Instances: { param: 'instanceId', type: 'instance' },
  VolumeDetails: { param: 'volumeId', type: 'volume' },
  Volumes: { param: 'volumeId', type: 'volume' },
};
const IDS = { instance: EC2_INSTANCE_ID, volume: EBS_VOLUME_ID };

/** The partition of an AWS console URL; undefined when the text is not one. */
function consolePartition(url: URL): string | undefined {
  const host = url.hostname.toLowerCase();
  return CONSOLE_DOMAINS.find(([domain]) => host === domain || host.endsWith(`.${domain}`))?.[1];
}

/** Whether the text is a URL on an AWS console host (so the AWS module answers it). */
export function isAwsConsoleUrl(text: string): boolean {
  if (!/^https?:\/\//i.test(text)) return false;
  const url = URL.parse(text);
  return url !== null && consolePartition(url) !== undefined;
}

/**
 * The error for an AWS console URL given as a target: `E_INPUT` (exit 3) naming what is missing,
 * with the ARN to use when the page shows one instance or volume.
 *
 * @example consoleUrlError('https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#InstanceDetails:instanceId=i-0123456789abcdef0', form)
 *   // … Use its ARN with the account filled in: arn:aws:ec2:us-east-1:ACCOUNT:instance/i-0123456789abcdef0 …
 */
export function consoleUrlError(raw: string, expected: string): CustodyError {
  const url = URL.parse(raw.trim())!;
  const fail = (why: string) => new CustodyError('E_INPUT', `invalid target "${raw}": ${why}`, { resource: raw });
  const [view = '', ...params] = url.hash.replace(/^#/, '').split(/[:;]/);
  const shown = VIEWS[view];
  const id = shown ? params.map((p) => p.split('=')).find(([name]) => name === shown.param)?.[1] : undefined;
  if (!/^\/ec2\/(v2\/)?home\/?$/.test(url.pathname) || !shown || id === undefined) {
    return fail(`this AWS console page shows no single EC2 instance or volume. Expected ${expected}`);
  }
  if (!IDS[shown.type].test(id)) return fail(`"${id}" is not ${shown.type === 'instance' ? 'an instance id (i-' : 'a volume id (vol-'} and 8 or 17 hex digits). Expected ${expected}`);
  const region = regionOf(url);
  const account = sessionAccountOf(url);
  if (account !== undefined) {
    // A multi-session console's host starts with the signed-in account, the one whose instances
    // and volumes the EC2 console shows: the URL does name it, so the message must not say otherwise.
    const arn = `arn:${consolePartition(url)}:ec2:${region ?? 'REGION'}:${account}:${shown.type}/${id}`;
    return fail(
      `custody takes an ARN, not a console URL. This multi-session console URL's host names the account it was signed in to (${account}), ` +
        `the account whose ${shown.type}s the EC2 console shows${region ? '' : ', but not the region (REGION: the region the console showed)'}. Give the ${shown.type}'s ARN: ${arn}`,
    );
  }
  const arn = `arn:${consolePartition(url)}:ec2:${region ?? 'REGION'}:ACCOUNT:${shown.type}/${id}`;
  return fail(
    `an AWS console URL does not name the account the ${shown.type} is in${region ? '' : ', nor its region'}, and custody does not guess it ` +
      `(the account decides which collector role is assumed). Give the ${shown.type}'s ARN with ACCOUNT replaced by the 12-digit id of the account ` +
      `that owns it (the account the console was signed in to${region ? '' : '; REGION: the region the console showed'}): ${arn}`,
  );
}

/** The signed-in account a multi-session console host starts with (`123456789012-abcd1234.us-east-1.console…`), if any. */
function sessionAccountOf(url: URL): string | undefined {
  return /^(\d{12})-[a-z0-9]+$/.exec(url.hostname.toLowerCase().split('.')[0] ?? '')?.[1];
}

/** The region the page is in: its `region` parameter, else the host's region label (`us-east-1.console…`). */
function regionOf(url: URL): string | undefined {
  const given = url.searchParams.get('region') ?? undefined;
  if (given !== undefined) return AWS_REGION.test(given) ? given : undefined;
  return url.hostname.toLowerCase().split('.').find((label) => AWS_REGION.test(label));
}
