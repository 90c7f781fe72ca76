import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Keys, NotFound, Role, verifyWorkerToken } from '../../../shared/index.js';

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  created: string;
  /** requests per second allowed; 0 = unlimited */
  rateLimit: number;
  /** set for a session's worker token: it may act only for that session */
  sessionId?: string;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * API tokens, stored only as sha256 hashes in one Redis hash (hash → JSON info).
 * The bootstrap admin token comes from config (file or env) and is never stored.
 */
export class TokenStore {
  private readonly bootstrapHash: Buffer | undefined;
  private readonly secret: string | undefined;
  private readonly cache = new Map<string, { info: TokenInfo | null; at: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    adminToken: string | undefined,
    private readonly cacheMs = 2_000,
  ) {
    this.bootstrapHash = adminToken ? Buffer.from(hash(adminToken), 'hex') : undefined;
    this.secret = adminToken;
  }

  /** Resolves a presented token to its info, or null. Cached briefly: it runs on every request. */
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
    this.cache.set(h, { info, at: now });
    return info;
  }

  /** Creates a token; the secret is returned once and never stored. */
  async create(
    name: string,
    role: Role,
    rateLimit = 0,
  ): Promise<{ token: string; info: TokenInfo }> {
    const token = `smt_${randomBytes(24).toString('base64url')}`;
    const info: TokenInfo = {
      id: hash(token).slice(0, 12),
      name,
      role,
      created: new Date().toISOString(),
      rateLimit,
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
  }
}
