/**
 * (d) for the serving benchmark: the real gateway (auth, inference forwarding, and its gRPC
 * port) in its own process, in front of a serving process, with a Redis of its own for the
 * token store.
 */
import type { AddressInfo } from 'node:net';
import * as platform from './platform.js';

export const BENCH_TOKEN = 'bench-admin-token-0123456789abcdef';

/**
 * `servingPorts`: one serving replica's port, or several, comma-separated. `link`: forward
 * over the serving link (the default) or by HTTP.
 */
export async function startGateway(
  servingPorts: string,
  redisUrl: string,
  { link = true }: { link?: boolean } = {},
): Promise<{ port: number; grpcPort: number }> {
  const [{ createLogger, createRedis }, { buildApp }, { loadConfig }] = await Promise.all([
    platform.shared(),
    platform.gatewayApp(),
    platform.gatewayConfig(),
  ]);
  const log = createLogger('bench-gateway', 'warn');
  const gw = buildApp({
    config: loadConfig({
      REDIS_URL: redisUrl,
      SWARMML_PREFIX: 'bench',
      ADMIN_TOKEN: BENCH_TOKEN,
      LOG_LEVEL: 'warn',
      SERVING_UPSTREAM: servingPorts
        .split(',')
        .map((p) => `http://127.0.0.1:${p}`)
        .join(','),
      SERVING_LINK: String(link),
    }),
    log,
    redis: createRedis(redisUrl, log),
  });
  await gw.start();
  await new Promise<void>((r) => gw.server.listen(0, '127.0.0.1', r));
  const grpcPort = await gw.grpc.listen(0, '127.0.0.1');
  return { port: (gw.server.address() as AddressInfo).port, grpcPort };
}
