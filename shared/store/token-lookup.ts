/**
 * Resolving a presented API token to its info: what every place that checks tokens shares
 * (the gateway, and serving replicas that clients call directly). Tokens are stored only as
 * sha256 hashes, in one Redis hash (hash → JSON info); the bootstrap admin token comes from
 * config and is never stored; a session's worker token is an HMAC of the admin token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Role } from '../http/roles.js';
import { verifyWorkerToken } from '../workers/worker-token.js';
import type { Keys } from './keys.js';

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  created: string;
  /** requests per second allowed; 0 = unlimited */
  rateLimit: number;
  /** ISO 8601; from then on the token is refused everywhere (absent: it does not expire) */
  expires?: string;
  /** set for a session's worker token: it may act only for that session */
  sessionId?: string;
}

export const tokenHash = (token: string): string =>
  createHash('sha256').update(token).digest('hex');

const MAX_CACHED = 10_000;

export interface TokenLookupOptions {
  /** the bootstrap admin token, which also signs worker tokens (absent: neither is accepted) */
  adminToken?: string;
  /**
   * How long a lookup is reused, in ms, at most 1,000: it bounds how late a revocation is
   * seen where its announcement was missed. @defaultValue 500
   */
  cacheMs?: number;
}

export class TokenLookup {
  private readonly bootstrapHash: Buffer | undefined;
  private readonly cache = new Map<string, { info: TokenInfo | null; at: number }>();
  private readonly cacheMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly opts: TokenLookupOptions = {},
  ) {
    this.bootstrapHash = opts.adminToken
      ? Buffer.from(tokenHash(opts.adminToken), 'hex')
      : undefined;
    this.cacheMs = Math.min(opts.cacheMs ?? 500, 1_000);
  }

  /**
   * The token's info (expired ones included: the caller says so), or null. Cached briefly:
   * it runs on every request.
   */
  async resolve(token: string): Promise<TokenInfo | null> {
    if (token.startsWith('smw_') && this.opts.adminToken) {
      const sessionId = verifyWorkerToken(token, this.opts.adminToken);
      return sessionId
        ? {
            id: `worker:${sessionId}`,
            name: `worker of ${sessionId}`,
            role: 'operator',
            created: '',
            rateLimit: 0,
            sessionId,
          }
        : null;
    }
    const h = tokenHash(token);
    if (this.bootstrapHash && timingSafeEqual(Buffer.from(h, 'hex'), this.bootstrapHash)) {
      return { id: 'admin', name: 'bootstrap admin', role: 'admin', created: '', rateLimit: 0 };
    }
    const hit = this.cache.get(h);
    const now = Date.now();
    if (hit && now - hit.at < this.cacheMs) return hit.info;
    const raw = await this.redis.hget(this.keys.tokens(), h);
    const info = raw ? (JSON.parse(raw) as TokenInfo) : null;
    // Unknown tokens are cached too (a guessing client costs one lookup per token): bound it.
    if (this.cache.size >= MAX_CACHED) {
      for (const [k, v] of this.cache) if (now - v.at >= this.cacheMs) this.cache.delete(k);
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
    }
    this.cache.set(h, { info, at: now });
    return info;
  }

  /** Drops the cached lookup of a token by its stored hash (revoked here). */
  forgetHash(h: string): void {
    this.cache.delete(h);
  }

  /** Drops cached lookups of a token by its id (revoked elsewhere). */
  forget(id: string): void {
    for (const [h, hit] of this.cache) if (hit.info?.id === id) this.cache.delete(h);
  }
}
