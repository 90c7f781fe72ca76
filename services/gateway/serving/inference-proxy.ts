import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, PayloadTooLarge, type Logger } from '../../../shared/index.js';
import type { Authenticator } from '../http/authenticate.js';
import type { ServingUpstreams } from './serving-upstreams.js';
import {
  createServingAgent,
  guardConnect,
  onSomeReplica,
  unreachable,
} from './replica-requests.js';

export interface InferenceProxyOptions {
  upstreams: ServingUpstreams;
  auth: Authenticator;
  log: Logger;
  maxBodyBytes: number;
  /** keep-alive agent to the replicas, shared with the gRPC front @defaultValue a new one */
  agent?: http.Agent;
  /** How long a request may wait for some replica to accept it before a 503. @defaultValue 3000 */
  retryWindowMs?: number;
  /**
   * Whether a predict call on this path is worth capturing; without it every answer is
   * captured. Answers of paths it declines are piped straight through, never buffered.
   */
  wantsPrediction?: (path: string) => boolean;
  /** Called with each successful predict exchange (delivery rules hook in here). */
  onPrediction?: (
    path: string,
    request: Buffer,
    response: Buffer,
    headers: http.IncomingHttpHeaders,
  ) => void;
}

/** Inference protocol paths (KServe v2 and TF Serving) that the gateway forwards. */
export function isInferencePath(url: string): boolean {
  return url.startsWith('/v2') || url.startsWith('/v1/models');
}

/**
 * The inference hot path: a plain node:http handler (no express middleware) that checks the
 * token, buffers the (small) body so a failed replica can be retried on another, and pipes
 * the replica's answer back. Protocol errors use the specs' `{error}` body.
 */
export function createInferenceProxy(o: InferenceProxyOptions) {
  const agent = o.agent ?? createServingAgent();

  const fail = (res: ServerResponse, err: unknown) => {
    const status = err instanceof AppError ? err.status : 502;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (err instanceof AppError && err.code === 'RATE_LIMITED') {
      headers['retry-after'] = String((err.details as { retryAfterS: number }).retryAfterS);
    }
    if (!(err instanceof AppError)) o.log.warn({ err }, 'inference proxy error');
    if (!res.headersSent) res.writeHead(status, headers);
    res.end(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > o.maxBodyBytes) {
          reject(new PayloadTooLarge(`body over ${o.maxBodyBytes} bytes`));
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
      req.on('error', reject);
    });

  const forward = (target: URL, req: IncomingMessage, body: Buffer, res: ServerResponse) =>
    new Promise<void>((resolve, reject) => {
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      delete headers.authorization;
      const up = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          if (
            o.onPrediction &&
            req.method === 'POST' &&
            ur.statusCode === 200 &&
            (o.wantsPrediction?.(req.url ?? '') ?? true)
          ) {
            const chunks: Buffer[] = [];
            ur.on('data', (c: Buffer) => {
              chunks.push(c);
              res.write(c);
            });
            ur.on('end', () => {
              res.end();
              o.onPrediction?.(req.url ?? '', body, Buffer.concat(chunks), ur.headers);
              resolve();
            });
          } else {
            ur.pipe(res);
            ur.on('end', resolve);
          }
          ur.on('error', reject);
        },
      );
      up.on('error', reject);
      guardConnect(up);
      up.end(body);
    });

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = req.url ?? '/';
      if (!url.startsWith('/v2/health/')) {
        await o.auth.check(req, req.method === 'POST' ? 'predict' : 'read');
      }
      const body =
        req.method === 'GET' || req.method === 'HEAD' ? Buffer.alloc(0) : await readBody(req);
      await onSomeReplica(
        o.upstreams,
        (target) => forward(target, req, body, res),
        // Only retry when nothing reached the client: the request is then safe to resend.
        (err) => !res.headersSent && unreachable(err),
        o.retryWindowMs,
      );
    } catch (err) {
      fail(res, err);
    }
  };
}
