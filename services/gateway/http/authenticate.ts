import type { IncomingMessage } from 'node:http';
import {
  Forbidden,
  roleAllows,
  TooManyRequests,
  Unauthorized,
  type Permission,
} from '../../../shared/index.js';
import type { TokenInfo, TokenStore } from '../auth/token-store.js';
import type { RateLimiter } from './rate-limiter.js';
import type { WorkerScope } from '../auth/worker-scope.js';

export interface Authenticator {
  /** Checks the bearer token, the role and the rate limit; throws 401/403/429. */
  check(
    req: Pick<IncomingMessage, 'headers'> & { url?: string; method?: string },
    need: Permission,
  ): Promise<TokenInfo>;
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

export function createAuthenticator(
  tokens: TokenStore,
  limiter: RateLimiter,
  workers: WorkerScope,
): Authenticator {
  return {
    async check(req, need) {
      // Browsers cannot set headers on a WebSocket: the dashboard passes ?token= there.
      let token = bearerToken(req.headers.authorization);
      if (!token && req.url?.includes('token=')) {
        token = new URL(req.url, 'http://x').searchParams.get('token') ?? undefined;
      }
      if (!token) throw new Unauthorized('missing API token: send Authorization: Bearer <token>');
      const info = await tokens.resolve(token);
      if (!info) throw new Unauthorized('unknown or revoked API token');
      // A session's worker token: its session's routes only, and only while it runs.
      if (info.sessionId !== undefined) await workers.check(info.sessionId, req);
      if (!roleAllows(info.role, need)) {
        throw new Forbidden(`role ${info.role} may not ${need}`, { role: info.role, needs: need });
      }
      const wait = limiter.take(info.id, info.rateLimit);
      if (wait > 0) throw new TooManyRequests(`rate limit of ${info.rateLimit}/s exceeded`, wait);
      return info;
    },
  };
}
