/**
 * Where the lab's Azure puts what it hands out as SAS URLs: boot-diagnostics blobs and disk
 * exports. Real Azure serves them from storage accounts it owns (`md-….blob.storage.azure.net`);
 * the lab serves boot diagnostics from its own ARM server (read-only GETs) and disk exports from
 * its Blob Storage (blob-service.ts) — or from Azurite when the tests run against it, because
 * Azurite copies only from its own instance (docs/research/azure.md §11).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface LabBlobHost {
  /** Stores the bytes and returns a read-only SAS URL that lapses at `expiresOn`. */
  publish(container: string, name: string, content: Buffer, options: { pageBlob: boolean; expiresOn: Date }): Promise<string>;
  /** Whether a server-side copy from these URLs can reach the SOC evidence container. */
  readonly copyable: boolean;
  /** `endGetAccess`: the SAS stops working before its `se` (hosts that can model it). */
  revoke?(url: string): Promise<void> | void;
}

/** Blobs served by the ARM lab server itself at `/_lab/blobs/…` with an HMAC `sig`. */
export class InlineBlobHost implements LabBlobHost {
  readonly copyable = false;
  private readonly key = randomBytes(32);
  readonly blobs = new Map<string, Buffer>();

  constructor(private readonly baseUrl: () => string) {}

  async publish(container: string, name: string, content: Buffer, options: { expiresOn: Date }): Promise<string> {
    const path = `/_lab/blobs/${container}/${name}`;
    this.blobs.set(path, content);
    const se = options.expiresOn.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return `${this.baseUrl()}${path}?sv=2026-06-06&sr=b&sp=r&se=${encodeURIComponent(se)}&sig=${encodeURIComponent(this.signature(path, se))}`;
  }

  private signature(path: string, se: string): string {
    return createHmac('sha256', this.key).update(`${path}\n${se}`).digest('base64');
  }

  /** The bytes for a GET, or a status when the SAS is wrong or lapsed. */
  read(url: URL, now: number): { status: 200; body: Buffer } | { status: 403 | 404 } {
    const body = this.blobs.get(url.pathname);
    if (!body) return { status: 404 };
    const se = url.searchParams.get('se') ?? '';
    const sig = Buffer.from(url.searchParams.get('sig') ?? '', 'base64');
    const expected = Buffer.from(this.signature(url.pathname, se), 'base64');
    if (sig.length !== expected.length || !timingSafeEqual(sig, expected) || Date.parse(se) <= now) return { status: 403 };
    return { status: 200, body };
  }
}
