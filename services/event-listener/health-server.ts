import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';

export interface ListenerHealthDeps {
  redis: Pick<Redis, 'ping'>;
  /**
   * True while the listener runs. Its handler client resends each decision until the handler
   * takes it, so while running the handler connection is always up or reconnecting.
   */
  running: () => boolean;
  /** how long a Redis ping may take before the listener counts as unhealthy (ms) @defaultValue 1000 */
  pingTimeoutMs?: number;
}

export interface ListenerHealthServer {
  /** resolves with the bound port */
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

async function redisAnswers(redis: Pick<Redis, 'ping'>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    return (await Promise.race([redis.ping(), late])) === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The event-listener has no API of its own; this answers `GET /healthz` for Docker's
 * healthcheck: 200 when Redis answers and the listener runs, else 503.
 */
export function createListenerHealthServer(d: ListenerHealthDeps): ListenerHealthServer {
  const timeoutMs = d.pingTimeoutMs ?? 1000;
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url !== '/healthz' || req.method !== 'GET') {
      send(404, { error: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` });
      return;
    }
    void redisAnswers(d.redis, timeoutMs).then((redis) => {
      const running = d.running();
      send(redis && running ? 200 : 503, {
        status: redis && running ? 'ok' : 'unhealthy',
        redis,
        running,
      });
    });
  });
  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
