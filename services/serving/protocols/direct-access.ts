/**
 * The direct port: clients call this replica without the gateway's hop, with the same API
 * tokens the gateway checks (the shared TokenLookup, cached for at most a second, so a
 * revoked token is refused here within one). It serves the inference protocols only;
 * management, delivery and rate limits stay with the gateway, so a token with a rate limit
 * or a session's worker token is sent there.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  bearerToken,
  CLIENT_KEY_HEADER,
  Forbidden,
  NotFound,
  refuseExpired,
  requireRole,
  Unauthorized,
  sendError,
  type Logger,
  type TokenInfo,
} from '../../../shared/index.js';

export interface TokenResolver {
  resolve(token: string): Promise<TokenInfo | null>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const isInference = (url: string) => url.startsWith('/v2') || url.startsWith('/v1/models');
const isHealth = (url: string) =>
  url.startsWith('/v2/health/') || url === '/healthz' || url === '/readyz';

/** The caller's token info, or the error the direct port answers with. */
async function authorize(req: IncomingMessage, tokens: TokenResolver): Promise<TokenInfo> {
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new Unauthorized('missing API token: send Authorization: Bearer <token>');
  const info = await tokens.resolve(token);
  if (!info) throw new Unauthorized('unknown or revoked API token');
  refuseExpired(info);
  if (info.sessionId !== undefined) {
    throw new Forbidden("a session's worker token is accepted by the gateway only");
  }
  if (info.rateLimit > 0) {
    throw new Forbidden(
      `this token has a rate limit (${info.rateLimit}/s), which the gateway enforces: call through the gateway`,
    );
  }
  requireRole(info, req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'predict');
  return info;
}

/** Wraps serving's own handler with the direct port's token check. */
export function directAccess(handle: Handler, tokens: TokenResolver, log: Logger): Handler {
  return (req, res) => {
    const url = req.url ?? '/';
    if (isHealth(url)) return handle(req, res);
    if (!isInference(url)) {
      sendError(
        req,
        res,
        new NotFound(
          `the direct port serves the inference protocols only (/v2/..., /v1/models/...); ${req.method} ${url.slice(0, 100)} goes to the gateway`,
        ),
        log,
        'protocol',
      );
      return;
    }
    authorize(req, tokens).then(
      (info) => {
        // The canary split's key when the client sets none, as the gateway sets it.
        req.headers[CLIENT_KEY_HEADER] = info.id;
        handle(req, res);
      },
      (err: unknown) => sendError(req, res, err, log, 'protocol'),
    );
  };
}
