/**
 * How the gateway reaches serving replicas for inference, shared by the REST proxy and the
 * gRPC front: one keep-alive agent, a short connect timeout, and retrying a request on
 * another replica while none of it reached the client.
 */
import http from 'node:http';
import { Unavailable } from '../../../shared/index.js';
import type { ServingUpstreams } from './serving-upstreams.js';
import { LINK_TIMEOUT } from './serving-link.js';

const CONNECT_TIMEOUT_MS = 3_000;
const RETRYABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  // undici's names for a connect timeout and a socket closed under a request
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  // no answer within the route's response deadline: a hung replica (inference is idempotent)
  'UND_ERR_HEADERS_TIMEOUT',
  LINK_TIMEOUT,
]);

/** The keep-alive agent for requests to serving replicas (one per gateway). */
export function createServingAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 10_000 });
}

/** Whether a request error means the replica was not reached (safe to send elsewhere). */
export function unreachable(err: unknown): boolean {
  return RETRYABLE.has((err as NodeJS.ErrnoException).code ?? '');
}

/**
 * A replica killed a moment ago can stay in DNS briefly: a SYN to its address gets no
 * answer at all, so give up on connecting quickly and let the caller try another one.
 */
export function guardConnect(up: http.ClientRequest): void {
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
}

/**
 * Runs `attempt` on one replica after another until one is reached. A replica that fails
 * with `canRetry(err)` is marked down and skipped; when every replica failed just now (a
 * rolling replacement, a scale-up whose tasks are still binding), waits briefly and goes
 * round again until `retryWindowMs`, then answers 503.
 */
export async function onSomeReplica<T>(
  upstreams: ServingUpstreams,
  attempt: (target: URL) => Promise<T>,
  canRetry: (err: unknown) => boolean = unreachable,
  retryWindowMs = 3_000,
): Promise<T> {
  const tried = new Set<string>();
  const deadline = Date.now() + retryWindowMs;
  for (;;) {
    let target = upstreams.pick(tried);
    while (!target && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      tried.clear();
      target = upstreams.pick(tried) ?? upstreams.any();
    }
    if (!target) throw new Unavailable('no serving replica is reachable');
    try {
      return await attempt(target);
    } catch (err) {
      if (!canRetry(err)) throw err;
      upstreams.markDown(target);
      tried.add(target.host);
    }
  }
}
