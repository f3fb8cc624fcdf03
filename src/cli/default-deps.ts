/**
 * The real wiring behind the CLI: custody (case folders, verify, report), the provider registry,
 * the AWS caller identity, and the rehearsal lab for `custody demo`.
 */
import { openCase, renderReport, summarizeConfig, verifyCase } from '../custody/index.js';
import type { VerifyResult } from '../custody/index.js';
import { resolveCallerIdentity } from '../providers/aws/index.js';
import { createProviders } from '../providers/registry.js';
import { CustodyError } from '../core/errors.js';
import { packageVersion } from './app.js';
import type { CliDeps, DemoLab, VerifyOutcome } from './deps.js';

export function defaultDeps(): CliDeps {
  return {
    createProviders,
    async openCase({ config, caseId, analyst, resume }) {
      const handle = await openCase({
        casesDir: config.casesDir,
        caseId,
        analyst,
        ...(config.keysDir ? { keysDir: config.keysDir } : {}),
        ...(config.signingKeyFile ? { signingKeyFile: config.signingKeyFile } : {}),
        toolVersion: packageVersion(),
        config: summarizeConfig(config),
        resume,
      });
      return {
        recorder: handle,
        close: async (outcomes) => void (await handle.close({ outcomes })),
        release: () => handle.release(),
      };
    },
    verifyCase: async (caseDir) => toVerifyOutcome(caseDir, await verifyCase(caseDir)),
    async renderReport(caseDir) {
      const { markdown, html, verification } = await renderReport(caseDir);
      return { markdown, html, verify: toVerifyOutcome(caseDir, verification) };
    },
    async callerIdentity(config) {
      if (!config.aws) {
        throw new CustodyError('E_CONFIG', 'no analyst: pass --analyst NAME or set "analyst" in the config (there is no aws section to ask for the caller identity)');
      }
      return (await resolveCallerIdentity(config)).arn;
    },
    startDemoLab,
  };
}

export function toVerifyOutcome(caseDir: string, result: VerifyResult): VerifyOutcome {
  return {
    ok: result.ok,
    caseDir,
    entries: result.entries,
    files: result.evidence.files,
    problems: [...result.problems, ...result.warnings],
  };
}

// The lab is loaded only for the demo: collection never needs it.
async function startDemoLab(): Promise<DemoLab> {
  const { startLab, demoScenario } = await import('../lab/index.js');
  const lab = await startLab(demoScenario());
  const instances = lab.state
    .regionNames()
    .flatMap((region) => [...lab.state.region(region).instances.values()]);
  const arnOf = (name: string) => {
    const instance = instances.find((i) => i.tags.Name === name);
    if (!instance) throw new CustodyError('E_INTERNAL', `the demo scenario has no instance named ${name}`);
    return { instance, arn: `arn:aws:ec2:${instance.region}:${instance.ownerId}:instance/${instance.id}` };
  };
  // The worker's root volume is under aws/ebs: collected as a volume target, it must be
  // re-encrypted with the shareable key before the forensics account can copy it.
  const worker = arnOf('worker-07').instance;
  const rootDevice = worker.blockDevices.find((d) => d.deviceName === worker.rootDeviceName) ?? worker.blockDevices[0];
  if (!rootDevice) throw new CustodyError('E_INTERNAL', 'the demo worker has no volume');
  const volumeArn = `arn:aws:ec2:${worker.region}:${worker.ownerId}:volume/${rootDevice.volumeId}`;
  const accounts = [...new Set(instances.map((i) => i.ownerId))].sort();
  return {
    endpoint: lab.endpoint,
    region: lab.region,
    forensicsAccount: lab.forensicsAccount,
    allowedAccounts: accounts,
    credentials: lab.orchestratorCredentials,
    targets: {
      collectable: [arnOf('web-01').arn, arnOf('db-01').arn, arnOf('api-01').arn, volumeArn],
      refusedByPolicy: [arnOf('batch-01').arn],
    },
    close: () => lab.stop(),
  };
}
