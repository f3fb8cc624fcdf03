/**
 * Access tokens the lab's Entra issues and its ARM and Azurite accept: JWTs with the claims a
 * real v1.0 app token carries (`tid`, `oid`, `appid`, `aud`, `iss` = `https://sts.windows.net/{tid}/`
 * — the issuer prefix Azurite's `--oauth basic` accepts), signed HS256 with a key made at lab start.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface LabTokenClaims {
  tid: string;
  oid: string;
  appid: string;
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  ver: '1.0';
  idtyp: 'app';
  sub: string;
  [claim: string]: unknown;
}

export class LabTokenSigner {
  private readonly key = randomBytes(32);

  sign(claims: Record<string, unknown>): string {
    const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const sig = createHmac('sha256', this.key).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }

  /** The claims of a token this lab signed, or undefined when it did not sign it. */
  verify(token: string): Record<string, unknown> | undefined {
    const [head, body, sig] = token.split('.');
    if (!head || !body || !sig) return undefined;
    const expected = createHmac('sha256', this.key).update(`${head}.${body}`).digest();
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}
