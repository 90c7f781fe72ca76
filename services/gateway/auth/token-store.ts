import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  Keys,
  NotFound,
  Role,
  TokenLookup,
  tokenHash as hash,
  type TokenInfo,
} from '../../../shared/index.js';
import type { Revocations } from './revocations.js';

export type { TokenInfo };

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
 * API tokens: created, listed and revoked here; resolved by the shared TokenLookup, which
 * serving replicas called directly use too.
 */
export class TokenStore {
  private readonly lookup: TokenLookup;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    adminToken: string | undefined,
    private readonly opts: TokenStoreOptions = {},
  ) {
    this.lookup = new TokenLookup(redis, keys, { adminToken, cacheMs: opts.cacheMs });
    opts.revocations?.onRevoked((id) => this.lookup.forget(id));
  }

  /** Resolves a presented token to its info (expired ones included: the caller says so), or null. */
  resolve(token: string): Promise<TokenInfo | null> {
    return this.lookup.resolve(token);
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
    this.lookup.forgetHash(entry[0]);
    // Open WebSockets hold the token past its lookup: tell every gateway to close them.
    await this.opts.revocations?.publish(id);
  }
}
