import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import {
  createProbes,
  NotFound,
  redisCheck,
  sendError,
  type DependencyCheck,
  type Logger,
} from '../../shared/index.js';

export interface ListenerHealthDeps {
  redis: Pick<Redis, 'ping'>;
  log: Logger;
  /**
   * True while the listener runs. Its handler client resends each decision until the handler
   * takes it, so while running the handler connection is always up or reconnecting.
   */
  running: () => boolean;
  /** how long a Redis ping may take before the listener counts as unhealthy (ms) @defaultValue 800 */
  pingTimeoutMs?: number;
}

export interface ListenerHealthServer {
  /** resolves with the bound port */
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The event-listener has no API of its own; this answers Docker's healthcheck. `/healthz` and
 * `/readyz` both need Redis to answer and the listener to run (503 naming what failed), since
 * the healthcheck asks `/healthz` and nothing else would notice a stuck listener.
 */
export function createListenerHealthServer(d: ListenerHealthDeps): ListenerHealthServer {
  const checks: DependencyCheck[] = [
    redisCheck(d.redis),
    { name: 'running', check: () => d.running() },
  ];
  const probes = createProbes({ live: checks, ready: checks, timeoutMs: d.pingTimeoutMs });
  const server = http.createServer((req, res) => {
    if (probes(req, res)) return;
    sendError(req, res, new NotFound(`no route ${req.method} ${req.url}`), d.log);
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
