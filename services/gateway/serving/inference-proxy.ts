import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, PayloadTooLarge, Unavailable, type Logger } from '../../../shared/index.js';
import type { Authenticator } from '../http/authenticate.js';
import type { ServingUpstreams } from './serving-upstreams.js';

export interface InferenceProxyOptions {
  upstreams: ServingUpstreams;
  auth: Authenticator;
  log: Logger;
  maxBodyBytes: number;
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

const CONNECT_TIMEOUT_MS = 3_000;
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE']);

/**
 * The inference hot path: a plain node:http handler (no express middleware) that checks the
 * token, buffers the (small) body so a failed replica can be retried on another, and pipes
 * the replica's answer back. Protocol errors use the specs' `{error}` body.
 */
export function createInferenceProxy(o: InferenceProxyOptions) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 10_000 });

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
      // A replica killed a moment ago can stay in DNS briefly: a SYN to its address gets no
      // answer at all, so give up on connecting quickly and let the caller try another one.
      up.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => {
          // Timers run before I/O in a loop turn: after a stalled loop (a busy CPU), look again
          // once pending I/O is handled, so a connection that did complete is not thrown away.
          setImmediate(() => {
            if (socket.connecting) {
              up.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
            }
          });
        }, CONNECT_TIMEOUT_MS);
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
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
      const tried = new Set<string>();
      const deadline = Date.now() + (o.retryWindowMs ?? 3_000);
      for (;;) {
        let target = o.upstreams.pick(tried);
        // Every replica failed just now (a rolling replacement, a scale-up whose tasks are
        // still binding): wait briefly and go round again rather than answer 503 at once.
        while (!target && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          tried.clear();
          target = o.upstreams.pick(tried) ?? o.upstreams.any();
        }
        if (!target) throw new Unavailable('no serving replica is reachable');
        try {
          await forward(target, req, body, res);
          return;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? '';
          // Only retry when nothing reached the client: the request is then safe to resend.
          if (res.headersSent || !RETRYABLE.has(code)) throw err;
          o.upstreams.markDown(target);
          tried.add(target.host);
        }
      }
    } catch (err) {
      fail(res, err);
    }
  };
}
