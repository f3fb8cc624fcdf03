/**
 * Reads a SAS URL (boot diagnostics) as a stream. The URL is a credential: it is used here and
 * nowhere else — never logged, never recorded, never put in an error message (only the blob
 * path and the `se` expiry are). Node's `fetch` ignores custom CAs, so this goes through
 * `node:https` with the same extra-CA option as the SDK clients.
 */
import { request, Agent } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { CustodyError } from '../../core/errors.js';
import { redactUrl } from './arm-call.js';

export interface SasFacts {
  /** Scheme, host and path: no query. */
  blob: string;
  /** The SAS's `se` (signed expiry), as the URL states it. */
  expiresOn?: string;
}

export function sasFacts(url: string): SasFacts {
  const facts: SasFacts = { blob: redactUrl(url) };
  try {
    const se = new URL(url).searchParams.get('se');
    if (se) facts.expiresOn = se;
  } catch {
    // an unparsable URL still yields its path above
  }
  return facts;
}

export function openSasUrl(url: string, ca: string[] | undefined, signal?: AbortSignal): Promise<IncomingMessage> {
  const blob = redactUrl(url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ...(ca ? { agent: new Agent({ ca }) } : {}), ...(signal ? { signal } : {}) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new CustodyError('E_CLOUD', `reading ${blob} through its SAS answered HTTP ${res.statusCode}`, { resource: blob }));
        return;
      }
      resolve(res);
    });
    req.on('error', (error) => reject(new CustodyError('E_CLOUD', `reading ${blob} through its SAS failed: ${error.message}`, { resource: blob })));
    req.end();
  });
}
