/**
 * Identifiers shaped like AWS's (`i-` + 17 hex, `snap-…`, `ASIA…`), drawn from a seeded stream so
 * a scenario builds the same ids on every run (the demo's case folder reads the same each time).
 */
import { createHash, randomUUID } from 'node:crypto';

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export class IdGenerator {
  private counter = 0;

  constructor(private readonly seed: string) {}

  private bytes(): Buffer {
    this.counter += 1;
    return createHash('sha256').update(`${this.seed}:${this.counter}`).digest();
  }

  private hex(length: number): string {
    return this.bytes().toString('hex').slice(0, length);
  }

  private pick(alphabet: string, length: number): string {
    const bytes = this.bytes();
    let out = '';
    for (let i = 0; i < length; i += 1) out += alphabet[(bytes[i] ?? 0) % alphabet.length];
    return out;
  }

  instance(): string {
    return `i-${this.hex(17)}`;
  }
  volume(): string {
    return `vol-${this.hex(17)}`;
  }
  snapshot(): string {
    return `snap-${this.hex(17)}`;
  }
  reservation(): string {
    return `r-${this.hex(17)}`;
  }
  /** KMS key ids are UUIDs. */
  keyId(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
  /** Temporary access key ids start with ASIA; long-term ones with AKIA. */
  accessKeyId(prefix: 'ASIA' | 'AKIA'): string {
    return `${prefix}${this.pick(UPPER_ALNUM, 16)}`;
  }
  roleId(): string {
    return `AROA${this.pick(UPPER_ALNUM, 17)}`;
  }
  userId(): string {
    return `AIDA${this.pick(UPPER_ALNUM, 17)}`;
  }
  secret(): string {
    return this.pick(BASE62, 40);
  }
  sessionToken(): string {
    return `IQoJb3JpZ2luX2VjE${this.pick(BASE62, 48)}${this.pick(BASE62, 48)}`;
  }
}

/** Request ids are fresh UUIDs, as AWS's are. */
export function newRequestId(): string {
  return randomUUID();
}
