/**
 * Azurite (Microsoft's Azure Storage emulator, npm `azurite`, a dev dependency) as a second Blob
 * Storage for the blob part of a collection, beside the lab's own (blob-service.ts), so each
 * checks the other (test/providers/azure/blob-part.test.ts, `npm run test:azurite`): https with
 * the lab's CA, `--oauth basic` so the product's bearer tokens from the lab's Entra are checked
 * for issuer, audience and expiry (not signature or RBAC), in memory, no telemetry, any
 * api-version (`--skipApiVersionCheck`: the SDK is newer than Azurite's table).
 *
 * What Azurite does not do (docs/research/azure.md §11), and what follows here:
 * - immutability policies and legal holds answer 501: custody records `seal.failed` naming that,
 *   and the test asserts the record; nothing claims a seal that did not happen;
 * - copies only from the same instance: the lab's disk exports are page blobs in this Azurite,
 *   under the well-known emulator account (`devstoreaccount1`), read through a service SAS;
 * - no RBAC on data actions (the lab's Blob Storage decides them from policies/azure).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import {
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  newPipeline,
  StorageSharedKeyCredential,
  type RequestPolicy,
} from '@azure/storage-blob';
import type { LabBlobHost } from './blob-host.js';
import type { LabTls } from './tls.js';

export const AZURITE_ACCOUNT = 'devstoreaccount1';

/** Azurite's documented development account key (public, the same in every install), read from Azurite itself. */
function azuriteAccountKey(): string {
  const constants = createRequire(import.meta.url)('azurite/dist/src/blob/utils/constants.js') as { EMULATOR_ACCOUNT_KEY_STR: string };
  return constants.EMULATOR_ACCOUNT_KEY_STR;
}

export interface AzuriteInstance {
  /** `https://127.0.0.1:PORT/devstoreaccount1` */
  accountUrl: string;
  /** A lab-side client (shared key) for setup and for the lab's export blobs. */
  admin: BlobServiceClient;
  blobHost: LabBlobHost;
  close(): Promise<void>;
}

function agentPolicy(agent: Agent) {
  return {
    create(next: RequestPolicy): RequestPolicy {
      return {
        sendRequest(request) {
          request.agent = agent;
          return next.sendRequest(request);
        },
      };
    },
  };
}

/** Starts Azurite's Blob service on a free loopback port; resolves once it listens. */
export async function startAzurite(tls: LabTls): Promise<AzuriteInstance> {
  const dir = await mkdtemp(join(tmpdir(), 'custody-azurite-'));
  await writeFile(join(dir, 'cert.pem'), tls.certPem);
  await writeFile(join(dir, 'key.pem'), tls.keyPem);
  await writeFile(join(dir, 'ca.pem'), tls.caPem);
  const main = createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js');
  const args = [main, '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--extentMemoryLimit', '256', '--skipApiVersionCheck', '--disableTelemetry', '--silent', '--oauth', 'basic', '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Azurite checks a copy source's SAS by reading it over https from itself: it must trust the lab CA.
    env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Azurite did not start within 60 s: ${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listens on https:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited (${code}) before listening: ${output}`));
    });
  });
  child.stdout!.resume();
  child.stderr!.resume();
  const accountUrl = `https://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, azuriteAccountKey());
  const agent = new Agent({ ca: [...rootCertificates, tls.caPem], keepAlive: true });
  const pipeline = newPipeline(credential);
  pipeline.factories.push(agentPolicy(agent));
  const admin = new BlobServiceClient(accountUrl, pipeline);
  const ensured = new Set<string>();
  const blobHost: LabBlobHost = {
    copyable: true,
    async publish(container, name, content, options) {
      const containerClient = admin.getContainerClient(container);
      if (!ensured.has(container)) {
        await containerClient.createIfNotExists();
        ensured.add(container);
      }
      const blob = containerClient.getBlobClient(name);
      if (options.pageBlob) {
        const page = blob.getPageBlobClient();
        await page.create(content.length);
        for (let offset = 0; offset < content.length; offset += 4 * 1024 * 1024) {
          const slice = content.subarray(offset, Math.min(content.length, offset + 4 * 1024 * 1024));
          await page.uploadPages(slice, offset, slice.length);
        }
      } else {
        await blob.getBlockBlobClient().upload(content, content.length);
      }
      const sas = generateBlobSASQueryParameters(
        { containerName: container, blobName: name, permissions: BlobSASPermissions.parse('r'), expiresOn: options.expiresOn, startsOn: new Date(Date.now() - 60_000) },
        credential,
      ).toString();
      return `${blob.url}?${sas}`;
    },
  };
  return {
    accountUrl,
    admin,
    blobHost,
    async close() {
      agent.destroy();
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
