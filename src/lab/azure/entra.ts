/**
 * The lab's Entra ID: the two endpoints MSAL (inside @azure/identity) calls when instance
 * discovery is off (docs/research/azure.md §10.2) — the tenant's OpenID configuration and its
 * v2.0 token endpoint for client credentials with a federated client assertion. No client
 * secrets: the lab accepts only assertions that match an app's federated identity credential.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LabTokenSigner } from './tokens.js';
import type { AzureLabWorld } from './world.js';

export const TOKEN_LIFETIME_SECONDS = 3600;
export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function oauthError(res: ServerResponse, status: number, error: string, code: number, description: string): void {
  send(res, status, { error, error_description: `AADSTS${code}: ${description}`, error_codes: [code], timestamp: new Date().toISOString() });
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export interface EntraLog {
  tenant: string;
  clientId: string;
  scope: string;
  status: number;
}

/** Handles `/{tenant}/v2.0/.well-known/openid-configuration` and `/{tenant}/oauth2/v2.0/token`. */
export async function handleEntra(
  req: IncomingMessage,
  res: ServerResponse,
  world: AzureLabWorld,
  signer: LabTokenSigner,
  baseUrl: string,
  log: EntraLog[],
  now: () => number,
): Promise<void> {
  const url = new URL(req.url ?? '/', baseUrl);
  const [tenant = '', ...rest] = url.pathname.slice(1).split('/');
  const path = rest.join('/');
  const knownTenant = tenant === world.socTenant || [...world.subscriptionTenants.values()].includes(tenant);
  if (req.method === 'GET' && path === 'v2.0/.well-known/openid-configuration') {
    if (!knownTenant) return oauthError(res, 400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
    return send(res, 200, {
      token_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/token`,
      authorization_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/authorize`,
      issuer: `${baseUrl}/${tenant}/v2.0`,
      jwks_uri: `${baseUrl}/${tenant}/discovery/v2.0/keys`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    });
  }
  if (req.method !== 'POST' || path !== 'oauth2/v2.0/token') return send(res, 404, { error: 'not_found' });
  const form = await readForm(req);
  const clientId = form.get('client_id') ?? '';
  const scope = form.get('scope') ?? '';
  const record = (status: number) => log.push({ tenant, clientId, scope, status });
  if (!knownTenant) {
    record(400);
    return oauthError(res, 400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
  }
  if (form.get('grant_type') !== 'client_credentials') {
    record(400);
    return oauthError(res, 400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
  }
  const app = world.apps.get(clientId);
  const principal = app?.servicePrincipals.get(tenant);
  if (!app || !principal) {
    record(400);
    return oauthError(res, 400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`);
  }
  if (form.has('client_secret')) {
    record(401);
    return oauthError(res, 401, 'invalid_client', 7000215, 'The lab accepts federated client assertions only: no secrets.');
  }
  const assertion = signer.verify(form.get('client_assertion') ?? '');
  const match =
    assertion &&
    form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' &&
    typeof assertion.exp === 'number' &&
    assertion.exp * 1000 > now() &&
    app.federated.some((f) => f.issuer === assertion.iss && f.subject === assertion.sub && (assertion.aud === f.audience || (Array.isArray(assertion.aud) && assertion.aud.includes(f.audience))));
  if (!match) {
    record(401);
    return oauthError(res, 401, 'invalid_client', 70021, 'No matching federated identity record found for presented assertion.');
  }
  const resource = scope.replace(/\/\.default$/, '');
  if (!scope.endsWith('/.default') || !resource) {
    record(400);
    return oauthError(res, 400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`);
  }
  const iat = Math.floor(now() / 1000);
  const token = signer.sign({
    aud: resource,
    iss: `https://sts.windows.net/${tenant}/`,
    iat,
    nbf: iat,
    exp: iat + TOKEN_LIFETIME_SECONDS,
    appid: clientId,
    appidacr: '2',
    idtyp: 'app',
    oid: principal,
    sub: principal,
    tid: tenant,
    ver: '1.0',
  });
  record(200);
  send(res, 200, { token_type: 'Bearer', expires_in: TOKEN_LIFETIME_SECONDS, ext_expires_in: TOKEN_LIFETIME_SECONDS, access_token: token });
}

/** A workload's federated token (what a Kubernetes projected service-account token is to Entra). */
export function issueWorkloadToken(signer: LabTokenSigner, issuer: string, subject: string, now: number, lifetimeSeconds = 3600): string {
  const iat = Math.floor(now / 1000);
  return signer.sign({ iss: issuer, sub: subject, aud: [FEDERATION_AUDIENCE], iat, nbf: iat, exp: iat + lifetimeSeconds });
}
