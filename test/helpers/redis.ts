import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { RedisServer } from '../../shared/runtime/redis-server.js';
import { freePort } from '../../shared/runtime/net.js';

export interface TestRedis {
  server: RedisServer;
  url: string;
  dir: string;
  /** A fresh client (`options` added to ioredis' defaults); closed by `stop()`. */
  client(opts?: { forWorker?: boolean; options?: RedisOptions }): Redis;
  /** A unique key prefix for one test. */
  prefix(): string;
  stop(): Promise<void>;
}

/** Starts a real redis-server on a free port in a temp dir. Call `stop()` in `after`. */
export async function startTestRedis(
  opts: { appendfsync?: 'always' | 'everysec' } = {},
): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-redis-'));
  const port = await freePort();
  const server = new RedisServer({ dir, port, appendfsync: opts.appendfsync ?? 'everysec' });
  await server.start();
  const clients: Redis[] = [];
  return {
    server,
    url: server.url,
    dir,
    client(o = {}) {
      const c = new Redis(server.url, {
        ...(o.forWorker ? { maxRetriesPerRequest: null } : {}),
        ...o.options,
      });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    prefix: () => `t-${randomUUID().slice(0, 8)}`,
    async stop() {
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
