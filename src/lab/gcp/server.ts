/**
 * One loopback HTTP server for the Google APIs the GCP provider uses: the GCE metadata server
 * (ADC's source of the orchestrator's token, reached through `GCE_METADATA_HOST`), IAM
 * Credentials `generateAccessToken`, Resource Manager (`effectiveTags.list`, `tagBindings.list`,
 * `projects.testIamPermissions`) and the Compute Engine REST subset. Every request is
 * authenticated by its bearer token and authorized by the lab's IAM; each is kept as a Cloud Audit
 * Logs-shaped record.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  aggregatedListInstances,
  deleteSnapshot,
  getDisk,
  getInstance,
  getScreenshot,
  getSerialPortOutput,
  getSnapshot,
  insertSnapshot,
  instanceResource,
  snapshotResource,
  stopInstance,
  testIamPermissions,
  testProjectPermissions,
  waitOperation,
  type ComputeCall,
  type ComputeSettings,
} from './compute.js';
import { badRequest, forbidden, LabGcpError, notFound, quotaExceeded, rateLimited, unauthenticated, unavailable } from './errors.js';
import type { GcpAuthorizer, IamResource } from './iam.js';
import type { LabAuditRecord, LabGcpState } from './state.js';
import { CallHolds, type CallHold } from '../call-holds.js';

/** Faults a test injects: the next `times` calls of `api` fail with `kind`. */
export interface LabGcpFault {
  api: string;
  kind: 'rate-limit' | 'quota' | 'unavailable';
  times: number;
}

export interface LabGcpServerOptions {
  state: LabGcpState;
  authorizer: GcpAuthorizer;
  settings: ComputeSettings;
  port?: number;
}

export interface LabGcpServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly faults: LabGcpFault[];
  /** Runs before a request of `api` is served (e.g. delete a disk mid-run). */
  beforeRequest?: (api: string, path: string) => void;
  /** Holds the next call of `api` (`compute.snapshots.insert`) before it is served (call-holds.ts). */
  holdNext(api: string): CallHold;
  /** Requests served, by api. */
  readonly calls: Map<string, number>;
  /** Every request (method, path, query, body, headers that attribute it), for attribution and contract checks. */
  readonly requests: Array<LabGcpRequest>;
  /** Every answer, for the contract test that holds them to the API description. */
  readonly responses: Array<{ api: string; status: number; body: unknown }>;
  stop(): Promise<void>;
}

export interface LabGcpRequest {
  api: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Resource Manager only: `global`, or the zone or region of the location-specific endpoint asked. */
  endpoint?: string;
  userAgent: string;
  requestReason?: string;
  body?: unknown;
}

/**
 * Loopback has no per-location host names, so the lab stands for Resource Manager's
 * location-specific endpoint `https://LOCATION-cloudresourcemanager.googleapis.com` by this path
 * prefix: `/_location/us-central1-a/v3/effectiveTags` is that zone's endpoint.
 */
export const LOCATION_PREFIX = '/_location/';
const LOCATION_PATH = /^\/_location\/([a-z]+-[a-z]+\d+(?:-[a-z])?)(\/v3\/.*)$/;

/**
 * Resource Manager's answer to a resource asked at the wrong endpoint. For a zonal resource at the
 * global endpoint, the first sentence is the wording reported publicly for tagBindings.create
 * (hashicorp/terraform-provider-google, Cloud Run tag bindings); the reverse case is inferred.
 */
function wrongEndpoint(parent: string, endpoint: string, expected: string) {
  return badRequest(
    endpoint === 'global'
      ? `Must be a valid One Platform resource name of a tag-compatible global resource. Did you forget to specify the correct location? (${parent} is known at ${expected}-cloudresourcemanager.googleapis.com)`
      : `${parent} is not known at the ${endpoint} endpoint; use ${expected === 'global' ? 'cloudresourcemanager.googleapis.com' : `${expected}-cloudresourcemanager.googleapis.com`}.`,
  );
}

interface Route {
  method: string;
  pattern: RegExp;
  api: string;
  handle(call: ComputeCall, groups: string[]): unknown;
}

const P = '([a-z][a-z0-9-]+)';
const SEG = '([^/]+)';
const C = '/compute/v1/projects/';

const ROUTES: Route[] = [
  { method: 'POST', pattern: new RegExp(`^${C}${P}/zones/${SEG}/instances/${SEG}/testIamPermissions$`), api: 'compute.instances.testIamPermissions', handle: (c, [p, z, n]) => testIamPermissions(c, 'instance', p!, { zone: z! }, n!) },
  { method: 'POST', pattern: new RegExp(`^${C}${P}/zones/${SEG}/disks/${SEG}/testIamPermissions$`), api: 'compute.disks.testIamPermissions', handle: (c, [p, z, n]) => testIamPermissions(c, 'disk', p!, { zone: z! }, n!) },
  { method: 'POST', pattern: new RegExp(`^${C}${P}/regions/${SEG}/disks/${SEG}/testIamPermissions$`), api: 'compute.regionDisks.testIamPermissions', handle: (c, [p, r, n]) => testIamPermissions(c, 'disk', p!, { region: r! }, n!) },
  { method: 'POST', pattern: /^\/v3\/projects\/([a-z][a-z0-9-]+):testIamPermissions$/, api: 'cloudresourcemanager.projects.testIamPermissions', handle: (c, [p]) => testProjectPermissions(c, p!) },
  { method: 'GET', pattern: /^\/v3\/tagValues\/namespaced$/, api: 'cloudresourcemanager.tagValues.getNamespaced', handle: (c) => getNamespacedTagValue(c) },
  { method: 'POST', pattern: /^\/v3\/(tagValues\/[^/:]+):testIamPermissions$/, api: 'cloudresourcemanager.tagValues.testIamPermissions', handle: (c, [name]) => testTagValuePermissions(c, name!) },
  { method: 'GET', pattern: new RegExp(`^${C}${P}/zones/${SEG}/instances/${SEG}/serialPort$`), api: 'compute.instances.getSerialPortOutput', handle: (c, [p, z, n]) => getSerialPortOutput(c, p!, z!, n!) },
  { method: 'GET', pattern: new RegExp(`^${C}${P}/zones/${SEG}/instances/${SEG}/screenshot$`), api: 'compute.instances.getScreenshot', handle: (c, [p, z, n]) => getScreenshot(c, p!, z!, n!) },
  { method: 'POST', pattern: new RegExp(`^${C}${P}/zones/${SEG}/instances/${SEG}/stop$`), api: 'compute.instances.stop', handle: (c, [p, z, n]) => stopInstance(c, p!, z!, n!) },
  { method: 'GET', pattern: new RegExp(`^${C}${P}/zones/${SEG}/instances/${SEG}$`), api: 'compute.instances.get', handle: (c, [p, z, n]) => getInstance(c, p!, z!, n!) },
  { method: 'GET', pattern: new RegExp(`^${C}${P}/zones/${SEG}/disks/${SEG}$`), api: 'compute.disks.get', handle: (c, [p, z, n]) => getDisk(c, p!, { zone: z! }, n!) },
  { method: 'GET', pattern: new RegExp(`^${C}${P}/regions/${SEG}/disks/${SEG}$`), api: 'compute.regionDisks.get', handle: (c, [p, r, n]) => getDisk(c, p!, { region: r! }, n!) },
  { method: 'GET', pattern: new RegExp(`^${C}${P}/aggregated/instances$`), api: 'compute.instances.aggregatedList', handle: (c, [p]) => aggregatedListInstances(c, p!) },
  { method: 'POST', pattern: new RegExp(`^${C}${P}/global/snapshots$`), api: 'compute.snapshots.insert', handle: (c, [p]) => insertSnapshot(c, p!) },
  { method: 'GET', pattern: new RegExp(`^${C}${P}/global/snapshots/${SEG}$`), api: 'compute.snapshots.get', handle: (c, [p, n]) => getSnapshot(c, p!, n!) },
  { method: 'DELETE', pattern: new RegExp(`^${C}${P}/global/snapshots/${SEG}$`), api: 'compute.snapshots.delete', handle: (c, [p, n]) => deleteSnapshot(c, p!, n!) },
  { method: 'POST', pattern: new RegExp(`^${C}${P}/global/operations/${SEG}/wait$`), api: 'compute.globalOperations.wait', handle: (c, [p, n]) => waitOperation(c, p!, n!) },
];

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json; charset=UTF-8', ...headers });
  response.end(text);
}

const MAX_LIFETIME_SECONDS = 3600;
const DURATION = /^(\d+)(?:\.\d+)?s$/;

/**
 * Starts the server on 127.0.0.1.
 *
 * @example
 * const server = await startGcpServer({ state, authorizer, settings });
 * new InstancesClient({ apiEndpoint: server.host, port: server.port, protocol: 'http', authClient });
 */
export async function startGcpServer(options: LabGcpServerOptions): Promise<LabGcpServer> {
  const { state, authorizer, settings } = options;
  const faults: LabGcpFault[] = [];
  const holds = new CallHolds();
  const calls = new Map<string, number>();
  const requests: LabGcpServer['requests'] = [];
  const responses: LabGcpServer['responses'] = [];

  const mint = (principal: string, lifetimeSeconds: number, scopes: string[], delegationChain: string[]) => {
    const token = `ya29.lab-${randomBytes(18).toString('base64url')}`;
    const expiresAt = state.now() + lifetimeSeconds * 1000;
    state.tokens.set(token, { principal, expiresAt, scopes, delegationChain });
    return { token, expiresAt };
  };

  const authenticate = (request: IncomingMessage) => {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(header)?.[1];
    if (!token) throw unauthenticated('no bearer token');
    const known = state.tokens.get(token);
    if (!known) throw unauthenticated('unknown token');
    if (known.expiresAt <= state.now()) throw unauthenticated('the token has expired');
    return known;
  };

  const injectFault = (api: string) => {
    const fault = faults.find((f) => f.api === api && f.times > 0);
    if (!fault) return;
    fault.times -= 1;
    if (fault.kind === 'rate-limit') throw rateLimited(api);
    if (fault.kind === 'quota') throw quotaExceeded('SNAPSHOTS');
    throw unavailable();
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://lab.invalid');
    const located = LOCATION_PATH.exec(decodeURIComponent(url.pathname));
    const path = located ? located[2]! : decodeURIComponent(url.pathname);
    const endpoint = located ? located[1]! : 'global';
    const method = request.method ?? 'GET';
    const query = Object.fromEntries(url.searchParams);
    const text = await readBody(request);

    // The GCE metadata server: ADC's last source, the one a forensics VM or Cloud Run job uses.
    if (path.startsWith('/computeMetadata/v1')) {
      const flavor = { 'metadata-flavor': 'Google' };
      if (request.headers['metadata-flavor'] !== 'Google') return send(response, 403, 'Missing Metadata-Flavor:Google header.', flavor);
      const rest = path.slice('/computeMetadata/v1'.length);
      if (rest === '/instance/service-accounts/default/token') {
        const { token, expiresAt } = mint(state.orchestrator, 3600, ['https://www.googleapis.com/auth/cloud-platform'], []);
        return send(response, 200, { access_token: token, expires_in: Math.floor((expiresAt - state.now()) / 1000), token_type: 'Bearer' }, flavor);
      }
      if (rest === '/instance/service-accounts/default/email') return send(response, 200, state.orchestrator, flavor);
      if (rest === '/project/project-id') return send(response, 200, state.forensicsProject, flavor);
      if (rest === '/instance' || rest === '/instance/' || rest === '' || rest === '/') return send(response, 200, '', flavor);
      return send(response, 404, 'not found', flavor);
    }

    let api = 'unknown';
    let principal = '';
    let delegation: string[] = [];
    const authorizationInfo: LabAuditRecord['authorizationInfo'] = [];
    let resourceName = path;
    let status = 200;
    const userAgent = String(request.headers['user-agent'] ?? '');
    const requestReason = request.headers['x-goog-request-reason'] as string | undefined;
    try {
      let body: unknown;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          throw badRequest('Invalid JSON payload received.');
        }
      }
      const authorize = (permission: string, resource: IamResource) => {
        const decision = authorizer({ principal, permission, resource });
        authorizationInfo.push({ permission, resource: resource.name, granted: decision.allowed });
        if (!decision.allowed) throw forbidden(decision.allowed === false && decision.reason.startsWith('Required') ? decision.reason : `Required '${permission}' permission for '${resource.name}' (${decision.reason})`);
      };

      const tokenCall = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(path);
      if (method === 'POST' && tokenCall) {
        api = 'iamcredentials.serviceAccounts.generateAccessToken';
        resourceName = `projects/-/serviceAccounts/${tokenCall[2]}`;
        calls.set(api, (calls.get(api) ?? 0) + 1);
        requests.push({ api, method, path, query, userAgent, ...(requestReason ? { requestReason } : {}), body });
        const caller = authenticate(request);
        principal = caller.principal;
        delegation = [...caller.delegationChain];
        injectFault(api);
        if (tokenCall[1] !== '-') throw badRequest('The project part of the resource name must be the wildcard "-".');
        const input = (body ?? {}) as { delegates?: string[]; scope?: string[]; lifetime?: string };
        const lifetime = input.lifetime === undefined ? MAX_LIFETIME_SECONDS : Number(DURATION.exec(input.lifetime)?.[1] ?? NaN);
        if (!Number.isFinite(lifetime) || lifetime <= 0 || lifetime > MAX_LIFETIME_SECONDS) {
          throw badRequest(`The lifetime ${input.lifetime} is outside the allowed range: at most ${MAX_LIFETIME_SECONDS}s.`);
        }
        if (!input.scope || input.scope.length === 0) throw badRequest('Scope is required.');
        const target = tokenCall[2]!;
        const hops: string[] = [];
        for (const delegate of input.delegates ?? []) {
          const email = /^projects\/-\/serviceAccounts\/(.+)$/.exec(delegate)?.[1];
          if (!email) throw badRequest(`Invalid delegate "${delegate}": use projects/-/serviceAccounts/EMAIL.`);
          hops.push(email);
        }
        // Each hop needs getAccessToken on the next: caller → delegates… → target.
        const chain = [principal, ...hops, target];
        for (let i = 0; i + 1 < chain.length; i += 1) {
          const next = chain[i + 1]!;
          if (!state.collectors().includes(next) && !hops.includes(next)) throw notFound(`projects/-/serviceAccounts/${next}`);
          const decision = authorizer({ principal: chain[i]!, permission: 'iam.serviceAccounts.getAccessToken', resource: { name: `projects/-/serviceAccounts/${next}`, type: 'iam.googleapis.com/ServiceAccount', tags: [] } });
          authorizationInfo.push({ permission: 'iam.serviceAccounts.getAccessToken', resource: `projects/-/serviceAccounts/${next}`, granted: decision.allowed });
          if (!decision.allowed) throw forbidden(`Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist): projects/-/serviceAccounts/${next}`);
        }
        const { token, expiresAt } = mint(target, lifetime, input.scope, [principal, ...hops]);
        const answer = { accessToken: token, expireTime: new Date(expiresAt).toISOString() };
        responses.push({ api, status: 200, body: { ...answer, accessToken: '(redacted)' } });
        return send(response, 200, answer);
      }

      /** A Resource Manager list about one resource (`?parent=`): counted, authenticated, faults applied; its parent. */
      const resourceManagerList = (name: string): string => {
        api = name;
        calls.set(api, (calls.get(api) ?? 0) + 1);
        requests.push({ api, method, path, query, endpoint, userAgent, ...(requestReason ? { requestReason } : {}) });
        const caller = authenticate(request);
        principal = caller.principal;
        delegation = caller.delegationChain;
        injectFault(api);
        resourceName = url.searchParams.get('parent') ?? '';
        return resourceName;
      };

      if (method === 'GET' && path === '/v3/effectiveTags') {
        const parent = resourceManagerList('cloudresourcemanager.effectiveTags.list');
        const match = /^\/\/compute\.googleapis\.com\/projects\/([^/]+)\/zones\/([^/]+)\/instances\/(\d+)$/.exec(parent);
        if (!match) throw badRequest(`Invalid parent "${parent}".`);
        // An instance is zonal: Resource Manager knows its tags only at its zone's endpoint.
        if (endpoint !== match[2]) throw wrongEndpoint(parent, endpoint, match[2]!);
        const instance = [...state.instances.values()].find((i) => i.project === match[1] && i.zone === match[2] && i.id === match[3]);
        if (!instance) throw notFound(parent);
        const resource = instanceResource(state, instance);
        authorize('compute.instances.listEffectiveTags', resource);
        const effectiveTags = state.effectiveTags(instance.project, instance.tags).map((t) => ({
          tagValue: `tagValues/${tagId(t.key + '/' + t.value)}`,
          namespacedTagValue: `${t.key}/${t.value}`,
          tagKey: `tagKeys/${tagId(t.key)}`,
          namespacedTagKey: t.key,
          tagKeyParentName: `organizations/${t.key.split('/')[0]}`,
          inherited: t.inherited,
        }));
        responses.push({ api, status: 200, body: { effectiveTags } });
        return send(response, 200, { effectiveTags });
      }

      if (method === 'GET' && path === '/v3/tagBindings') {
        // Resource Manager's tagBindings.list: the tags bound directly to one resource (here, a
        // snapshot by its full resource name with its numeric id), never inherited ones.
        const parent = resourceManagerList('cloudresourcemanager.tagBindings.list');
        const match = /^\/\/compute\.googleapis\.com\/projects\/([^/]+)\/global\/snapshots\/(\d+)$/.exec(parent);
        if (!match) throw badRequest(`Invalid parent "${parent}".`);
        // A snapshot is global: its bindings are read at the global endpoint.
        if (endpoint !== 'global') throw wrongEndpoint(parent, endpoint, 'global');
        const snapshot = [...state.snapshots.values()].find((s) => s.project === match[1] && s.id === match[2]);
        if (!snapshot) throw notFound(parent);
        authorize('compute.snapshots.listTagBindings', snapshotResource(state, snapshot.project, snapshot.name, snapshot.tags));
        const tagBindings = snapshot.tags.map((t) => ({
          name: `tagBindings/${encodeURIComponent(parent)}/tagValues/${tagId(t.key + '/' + t.value)}`,
          parent,
          tagValue: `tagValues/${tagId(t.key + '/' + t.value)}`,
          tagValueNamespacedName: `${t.key}/${t.value}`,
        }));
        responses.push({ api, status: 200, body: { tagBindings } });
        return send(response, 200, { tagBindings });
      }

      // The location-specific endpoint serves only the tag lists of zonal and regional resources here.
      const route = located ? undefined : ROUTES.find((r) => r.method === method && r.pattern.test(path));
      if (!route) throw new LabGcpError(404, `The lab does not serve ${method} ${path}`, 'notFound', 'NOT_FOUND');
      api = route.api;
      resourceName = path.replace(/^\/compute\/v1\//, '');
      calls.set(api, (calls.get(api) ?? 0) + 1);
      requests.push({ api, method, path, query, ...(path.startsWith('/v3/') ? { endpoint } : {}), userAgent, ...(requestReason ? { requestReason } : {}), ...(body !== undefined ? { body } : {}) });
      const caller = authenticate(request);
      principal = caller.principal;
      delegation = caller.delegationChain;
      server.beforeRequest?.(api, path);
      await holds.heldUntilReleased(api);
      injectFault(api);
      const groups = route.pattern.exec(path)!.slice(1);
      const allowed = (permission: string, resource: IamResource) => authorizer({ principal, permission, resource }).allowed;
      const result = route.handle({ state, principal, authorize, allowed, query: url.searchParams, body, settings }, groups);
      responses.push({ api, status: 200, body: result });
      send(response, 200, result);
    } catch (error) {
      const e = error instanceof LabGcpError ? error : new LabGcpError(500, `lab error: ${(error as Error).message}`, 'backendError', 'INTERNAL');
      status = e.httpStatus;
      responses.push({ api, status, body: e.body() });
      send(response, e.httpStatus, e.body());
    } finally {
      state.audit.push({
        methodName: api,
        resourceName,
        principalEmail: principal,
        serviceAccountDelegationInfo: delegation.map((email) => ({ firstPartyPrincipal: { principalEmail: email } })),
        callerSuppliedUserAgent: userAgent,
        ...(requestReason ? { requestReason } : {}),
        status,
        authorizationInfo,
      });
    }
  };

  const http: Server = createServer((request, response) => {
    // Dated by the lab's clock, as Google's services date their answers by their own.
    response.setHeader('date', new Date(options.state.now()).toUTCString());
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, { error: { code: 500, message: String(error) } });
    });
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  const server: LabGcpServer = {
    url: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    faults,
    calls,
    requests,
    responses,
    holdNext: (api) => holds.holdNext(api),
    async stop() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  return server;
}

/**
 * A tag value as the lab's IAM names it (policies' `evidence-hold-tag-value` binding, and the
 * insert's `tagValueBindings.create`): `tagValues/PARENT/KEY/VALUE`, or `tagValues/ID` as given.
 */
function tagValueResource(name: string): IamResource {
  return { name, type: 'cloudresourcemanager.googleapis.com/TagValue', tags: [] };
}

/**
 * Resource Manager's tagValues.getNamespaced: PERMISSION_DENIED unless the caller may view the
 * value (as Google answers for a value that does not exist, too).
 */
function getNamespacedTagValue(call: ComputeCall): unknown {
  const namespaced = call.query.get('name') ?? '';
  const parts = /^([^/]+)\/([^/]+)\/([^/]+)$/.exec(namespaced);
  if (!parts) throw badRequest(`Invalid namespaced name "${namespaced}": use {parentId}/{tagKeyShort}/{tagValueShort}.`);
  call.authorize('resourcemanager.tagValues.get', tagValueResource(`tagValues/${namespaced}`));
  const name = `tagValues/${tagId(namespaced)}`;
  call.state.tagValueNames.set(name, namespaced);
  const created = call.state.timestamp();
  return { name, parent: `tagKeys/${tagId(`${parts[1]}/${parts[2]}`)}`, shortName: parts[3], namespacedName: namespaced, createTime: created, updateTime: created, etag: `W/"${tagId(name)}"` };
}

/** Resource Manager's tagValues.testIamPermissions: the asked permissions the caller holds on the value. */
function testTagValuePermissions(call: ComputeCall, name: string): unknown {
  const namespaced = call.state.tagValueNames.get(name);
  const resource = tagValueResource(namespaced ? `tagValues/${namespaced}` : name);
  const asked = ((call.body ?? {}) as { permissions?: string[] }).permissions ?? [];
  return { permissions: asked.filter((p) => call.allowed(p, resource)) };
}

function tagId(text: string): string {
  let h = 0;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return String(h);
}
