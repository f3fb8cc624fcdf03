/**
 * The AWS provider module: what the registry knows of AWS without loading the AWS SDK. The SDK
 * is imported only inside `create`, `preflight` and `callerIdentity`.
 */
import { defineProvider, type AnyConfig, type PreflightRow, type ProviderModule } from '../../core/provider-module.js';
import { CustodyError } from '../../core/errors.js';
import type { CustodyConfig } from '../config.js';
import { awsConfigSection, type AwsConfig } from './config.js';
import { mapAwsNode } from './node-mapping.js';
import { refuseAccountsNotAllowed } from './preflight-scope.js';
import { isAwsTarget, parseAwsSelector, parseAwsTarget } from './targets.js';

const ACCOUNT = /^\d{12}$/;

export const awsModule: ProviderModule<'aws', AwsConfig> = defineProvider({
  name: 'aws',
  configSection: awsConfigSection,
  help: {
    targets: [
      'arn:aws:ec2:REGION:ACCOUNT:instance/i-…      an instance and all its volumes',
      'arn:aws:ec2:REGION:ACCOUNT:volume/vol-…      one volume',
    ],
    selectors: ['tag:KEY=VALUE                                every instance with that tag in the allowed accounts'],
  },
  flags: [
    { flag: 'preserve', option: 'preserve', help: 'set DeleteOnTermination=false and termination protection (recorded changes)' },
    { flag: 'screenshot', option: 'screenshot', help: 'also take the instance console screenshot' },
    {
      flag: 'hash',
      option: 'hash',
      help: '(AWS) a whole-disk SHA-256 of every preserved snapshot, read through the EBS direct APIs, with its block-hash list (default: config aws.hash)',
    },
    { flag: 'hash-source', option: 'hashSource', implies: ['hash'], help: '(AWS) also hash each source snapshot and record that it matches the copy' },
    {
      flag: 'image',
      option: 'imageDir',
      value: { placeholder: 'DIR', path: true, folder: true },
      implies: ['hash'],
      help: '(AWS) also write each hashed disk as a sparse raw image file into DIR',
    },
  ],
  preflightColumns: ['ACCOUNT', 'REGION'],
  preflightScopes: [{ flag: 'account', placeholder: 'ID', help: 'an AWS account to check (repeatable; default: the targets\' accounts, else every allowed account)' }],
  parseTarget: parseAwsTarget,
  parseSelector: parseAwsSelector,
  mapNode: mapAwsNode,
  summarizeConfig(section: AwsConfig): Record<string, unknown> {
    // The external id is a shared secret of the trust policy: record only whether it was used.
    const { externalId, ...aws } = section;
    return { ...aws, externalIdUsed: externalId !== undefined };
  },
  checkPreflight(section: AwsConfig, request) {
    const accounts = request.scopes.account ?? [];
    const bad = accounts.find((a) => !ACCOUNT.test(a));
    if (bad) throw new CustodyError('E_INPUT', `--account "${bad}" is not a 12-digit AWS account id`, { resource: bad });
    refuseAccountsNotAllowed(section.allowedAccounts, accounts, request.targets);
  },
  async callerIdentity(config: AnyConfig) {
    const { resolveCallerIdentity } = await import('./credentials.js');
    const { arn, account, userId } = await resolveCallerIdentity(config as CustodyConfig);
    return { arn, account, userId };
  },
  async preflight(request): Promise<PreflightRow[]> {
    const { runAwsPreflightRows } = await import('./preflight.js');
    const accounts = request.scopes.account ?? [];
    const targets = request.targets.filter(isAwsTarget);
    return runAwsPreflightRows({
      config: request.config as CustodyConfig,
      ...(accounts.length > 0 ? { accounts: [...accounts] } : {}),
      ...(targets.length > 0 ? { targets } : {}),
      ...(request.analyst ? { analyst: request.analyst } : {}),
    });
  },
  async create(config: AnyConfig, services) {
    const { createAwsProvider } = await import('./provider.js');
    return createAwsProvider(config as CustodyConfig, {}, services);
  },
});
