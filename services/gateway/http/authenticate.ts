import type { IncomingMessage } from 'node:http';
import {
  bearerToken,
  Forbidden,
  refuseExpired,
  requireRole,
  TooManyRequests,
  Unauthorized,
  type Permission,
} from '../../../shared/index.js';
import type { TokenInfo, TokenStore } from '../auth/token-store.js';
import type { RateLimiter } from './rate-limiter.js';
import type { WorkerScope } from '../auth/worker-scope.js';

type AuthRequest = Pick<IncomingMessage, 'headers'> & { url?: string; method?: string };

/** An open WebSocket's hold on its token, checked again for as long as the socket lives. */
export interface SocketCredential {
  readonly info: TokenInfo;
  /** Throws Unauthorized once the token is revoked or expired (lookups cached ≤ 1 s). */
  recheck(): Promise<TokenInfo>;
  /** Counts one operation against the token's rate limit, HTTP's bucket; throws 429. */
  take(): void;
}

export interface Authenticator {
  /**
   * Checks the bearer token (Authorization header only), its expiry, the role and the rate
   * limit; throws 401/403/429. REST, the inference routes and gRPC.
   */
  check(req: AuthRequest, need: Permission): Promise<TokenInfo>;
  /**
   * The WebSocket upgrade: the token from the Authorization header or `?token=` (browsers
   * cannot set headers there), any role, one request counted. The socket keeps the answer to
   * re-check the token and count each operation.
   */
  checkSocket(req: AuthRequest): Promise<SocketCredential>;
}

function queryToken(url: string | undefined): string | null {
  if (!url?.includes('token=')) return null;
  return new URL(url, 'http://x').searchParams.get('token');
}

export function createAuthenticator(
  tokens: TokenStore,
  limiter: RateLimiter,
  workers: WorkerScope,
): Authenticator {
  const take = (info: TokenInfo) => {
    const wait = limiter.take(info.id, info.rateLimit);
    if (wait > 0) throw new TooManyRequests(`rate limit of ${info.rateLimit}/s exceeded`, wait);
  };
  const resolve = async (token: string, unknown: string) => {
    const info = await tokens.resolve(token);
    if (!info) throw new Unauthorized(unknown);
    refuseExpired(info);
    return info;
  };
  return {
    async check(req, need) {
      // A token in a URL ends up in access logs, proxies and browser history: only the
      // WebSocket, where browsers have no other way, takes one.
      if (queryToken(req.url) !== null) {
        throw new Unauthorized(
          'API tokens are not accepted in the URL (?token=) here: send Authorization: Bearer <token> (only the WebSocket /api/v1/ws takes ?token=)',
        );
      }
      const token = bearerToken(req.headers.authorization);
      if (!token) throw new Unauthorized('missing API token: send Authorization: Bearer <token>');
      const info = await resolve(token, 'unknown or revoked API token');
      // A session's worker token: its session's routes only, and only while it runs.
      if (info.sessionId !== undefined) await workers.check(info.sessionId, req);
      requireRole(info, need);
      take(info);
      return info;
    },
    async checkSocket(req) {
      const token = bearerToken(req.headers.authorization) ?? queryToken(req.url) ?? undefined;
      if (!token) {
        throw new Unauthorized(
          'missing API token: send Authorization: Bearer <token>, or ?token=<token> from a browser',
        );
      }
      const info = await resolve(token, 'unknown or revoked API token');
      if (info.sessionId !== undefined) {
        throw new Forbidden(
          'a worker token is not accepted on the WebSocket: workers report to the event handler',
        );
      }
      take(info);
      return {
        info,
        recheck: () => resolve(token, 'API token revoked'),
        take: () => take(info),
      };
    },
  };
}
