import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../shared/index.js';
import { loadConfig } from '../../services/gateway/config.js';
import { buildApp, type Gateway } from '../../services/gateway/app.js';
import type { RouteModule } from '../../services/gateway/http/route-context.js';
import type { TestRedis } from './redis.js';

export interface TestGateway {
  gw: Gateway;
  url: string;
  adminToken: string;
  prefix: string;
  close(): Promise<void>;
}

/** A real gateway on a free port against a real Redis, with a fresh key prefix. */
export async function startTestGateway(
  r: TestRedis,
  opts: { env?: Record<string, string>; routes?: RouteModule[] } = {},
): Promise<TestGateway> {
  const adminToken = randomBytes(16).toString('hex');
  const prefix = r.prefix();
  const config = loadConfig({
    REDIS_URL: r.url,
    SWARMML_PREFIX: prefix,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'silent',
    PORT: '0',
    ...opts.env,
  });
  const redis = r.client();
  const gw = buildApp({
    config,
    log: createLogger('gateway', 'silent'),
    redis,
    routes: opts.routes,
  });
  await gw.start();
  await new Promise<void>((resolve) => gw.server.listen(0, '127.0.0.1', resolve));
  const { port } = gw.server.address() as AddressInfo;
  return { gw, url: `http://127.0.0.1:${port}`, adminToken, prefix, close: () => gw.close() };
}
