import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Keys, NotFound, Role, verifyWorkerToken } from '../../../shared/index.js';
import type { Revocations } from './revocations.js';

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

const MAX_CACHED = 10_000;

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export interface TokenStoreOptions {
  /**
   * How long a lookup is reused, in ms. It bounds how late another gateway's revocation is
   * seen by a gateway that missed its message. @defaultValue 500
   */
  cacheMs?: number;
  /** where revocations are announced (and heard from other gateways) */
  revocations?: Pick<Revocations, 'publish' | 'onRevoked'>;
}

/**
 * API tokens, stored only as sha256 hashes in one Redis hash (hash → JSON info).
 * The bootstrap admin token comes from config (file or env) and is never stored.
 */
export class TokenStore {
  private readonly bootstrapHash: Buffer | undefined;
  private readonly secret: string | undefined;
  private readonly cache = new Map<string, { info: TokenInfo | null; at: number }>();
  private readonly cacheMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    adminToken: string | undefined,
    private readonly opts: TokenStoreOptions = {},
  ) {
    this.bootstrapHash = adminToken ? Buffer.from(hash(adminToken), 'hex') : undefined;
    this.secret = adminToken;
    // Never longer than a second: revocation must reach every request within one.
    this.cacheMs = Math.min(opts.cacheMs ?? 500, 1_000);
    opts.revocations?.onRevoked((id) => this.forget(id));
  }

  /**
   * Resolves a presented token to its info (expired ones included: the caller says so), or
   * null. Cached briefly: it runs on every request and every WebSocket operation.
   */
  async resolve(token: string): Promise<TokenInfo | null> {
    if (token.startsWith('smw_') && this.secret) {
      const sessionId = verifyWorkerToken(token, this.secret);
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
    const h = hash(token);
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

  /** Creates a token; the secret is returned once and never stored. */
  async create(
    name: string,
    role: Role,
    rateLimit = 0,
    expires?: Date,
  ): Promise<{ token: string; info: TokenInfo }> {
    const token = `smt_${randomBytes(24).toString('base64url')}`;
    const info: TokenInfo = {
      id: hash(token).slice(0, 12),
      name,
      role,
      created: new Date().toISOString(),
      rateLimit,
      ...(expires ? { expires: expires.toISOString() } : {}),
    };
    await this.redis.hset(this.keys.tokens(), hash(token), JSON.stringify(info));
    return { token, info };
  }

  async list(): Promise<TokenInfo[]> {
    const all = await this.redis.hvals(this.keys.tokens());
    return (
      all
        .map((v) => JSON.parse(v) as TokenInfo)
        // Tokens made in the same millisecond keep a stable order too (the hash's is not).
        .sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id))
    );
  }

  async revoke(id: string): Promise<void> {
    const all = await this.redis.hgetall(this.keys.tokens());
    const entry = Object.entries(all).find(([, v]) => (JSON.parse(v) as TokenInfo).id === id);
    if (!entry) throw new NotFound(`no token with id ${id}`);
    await this.redis.hdel(this.keys.tokens(), entry[0]);
    this.cache.delete(entry[0]);
    // Open WebSockets hold the token past its lookup: tell every gateway to close them.
    await this.opts.revocations?.publish(id);
  }

  /** Drops cached lookups of a token revoked elsewhere. */
  private forget(id: string): void {
    for (const [h, hit] of this.cache) if (hit.info?.id === id) this.cache.delete(h);
  }
}
