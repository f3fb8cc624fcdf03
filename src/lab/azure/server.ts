/**
 * Starts the lab's Azure: an https Entra (token issuance), an https ARM and the lab's https Blob
 * Storage (blob-service.ts: the SOC evidence container and the disk exports) on loopback, with a
 * CA made for this run (tls.ts). With `blobHost` (Azurite, azurite.ts) disk exports go there
 * instead and the lab's Blob Storage is not started. Boot diagnostics are served by ARM itself.
 */
import { createServer, type Server } from 'node:https';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallHolds, type CallHold } from '../call-holds.js';
import { createArmHandler, type ArmExchange, type ArmFault } from './arm.js';
import { InlineBlobHost, type LabBlobHost } from './blob-host.js';
import { LabBlobService } from './blob-service.js';
import { handleEntra, issueWorkloadToken, type EntraLog } from './entra.js';
import { defaultAzureEstate, LAB_EVIDENCE_ACCOUNT, LAB_EVIDENCE_CONTAINER, LAB_WORKLOAD_ISSUER, LAB_WORKLOAD_SUBJECT, type AzureLabEstate } from './scenario.js';
import { createLabTls, type LabTls } from './tls.js';
import { LabTokenSigner } from './tokens.js';

export interface AzureLab {
  estate: AzureLabEstate;
  tls: LabTls;
  authorityHost: string;
  armEndpoint: string;
  /** The lab's Blob Storage (absent when Azurite serves the blobs). */
  blob?: LabBlobService;
  /** `https://127.0.0.1:PORT/devstoreaccount1/evidence` on the lab's Blob Storage (absent with Azurite). */
  evidenceContainerUrl?: string;
  armLog: ArmExchange[];
  entraLog: EntraLog[];
  faults: ArmFault[];
  /**
   * Holds the next call of `api` in flight until the test releases it: an ARM operation as the
   * lab's log names it (`snapshots.listByResourceGroup`, `restorePoints.get`) or a lab Blob
   * Storage operation (`Blob_GetProperties`; not with Azurite).
   */
  holdNext(api: string): CallHold;
  /** A federated token for the SOC workload (what a projected service-account token file holds). */
  workloadToken(lifetimeSeconds?: number): string;
  /** Lets tests move the lab's clock (token expiry, SAS expiry). */
  clock: { offsetMs: number };
  /**
   * A fault: ARM's or Blob Storage's clock runs this many ms ahead of the lab's (Entra's; negative:
   * behind it), as when one Azure service's clock, or the collector's, is off. Everything that
   * service dates — its answers' `Date`, `timeCreated`, Last-Modified, expiry checks — reads it.
   */
  clockSkew: { armMs: number; storageMs: number };
  close(): Promise<void>;
}

export interface AzureLabOptions {
  estate?: AzureLabEstate;
  tls?: LabTls;
  blobHost?: LabBlobHost;
  /** Polls a long-running operation answers 202 before finishing (default 1). */
  operationPolls?: number;
  /** Reads of a copy's destination that see `pending` before `success` (default 1). */
  copyReads?: number;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startAzureLab(options: AzureLabOptions = {}): Promise<AzureLab> {
  const estate = options.estate ?? defaultAzureEstate();
  const tls = options.tls ?? createLabTls();
  const signer = new LabTokenSigner();
  const clock = { offsetMs: 0 };
  const now = () => Date.now() + clock.offsetMs;
  const clockSkew = { armMs: 0, storageMs: 0 };
  const armNow = () => now() + clockSkew.armMs;
  const storageNow = () => now() + clockSkew.storageMs;
  const armLog: ArmExchange[] = [];
  const entraLog: EntraLog[] = [];
  const faults: ArmFault[] = [];
  const holds = new CallHolds();
  let armBase = '';
  let entraBase = '';
  const inlineBlobs = new InlineBlobHost(() => armBase);
  const blob = options.blobHost ? undefined : new LabBlobService({ store: estate.blobStore, signer, rbac: estate.world.rbac, now: storageNow, copyReads: options.copyReads ?? 1, holds });
  const arm = createArmHandler({
    world: estate.world,
    signer,
    blobHost: options.blobHost ?? blob!,
    inlineBlobs,
    baseUrl: () => armBase,
    now: armNow,
    log: armLog,
    faults,
    holds,
    operationPolls: options.operationPolls ?? 1,
  });
  // Every answer is dated by the lab's clock, as Azure's services date theirs by their own.
  const dated = (res: ServerResponse, clockNow = now) => res.setHeader('date', new Date(clockNow()).toUTCString());
  const armServer = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    dated(res, armNow);
    void arm(req, res);
  });
  const entraServer = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    dated(res);
    handleEntra(req, res, estate.world, signer, entraBase, entraLog, now).catch((error: Error) => {
      res.writeHead(500);
      res.end(error.message);
    });
  });
  const blobServer = blob ? createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
        dated(res, storageNow);
        void blob.handle(req, res);
      })
    : undefined;
  armBase = await listen(armServer);
  entraBase = await listen(entraServer);
  if (blob && blobServer) blob.baseUrl = await listen(blobServer);
  return {
    estate,
    tls,
    authorityHost: entraBase,
    armEndpoint: armBase,
    ...(blob ? { blob, evidenceContainerUrl: blob.containerUrl(LAB_EVIDENCE_ACCOUNT, LAB_EVIDENCE_CONTAINER) } : {}),
    armLog,
    entraLog,
    faults,
    holdNext: (api) => holds.holdNext(api),
    clock,
    clockSkew,
    workloadToken: (lifetimeSeconds = 3600) => issueWorkloadToken(signer, LAB_WORKLOAD_ISSUER, LAB_WORKLOAD_SUBJECT, now(), lifetimeSeconds),
    async close() {
      for (const server of [armServer, entraServer, ...(blobServer ? [blobServer] : [])]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
