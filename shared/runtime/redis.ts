import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * A Redis client with an error listener. `forWorker` sets `maxRetriesPerRequest: null`,
 * which BullMQ workers and blocking readers (XREAD BLOCK) require.
 */
export function createRedis(
  url: string,
  log: Logger,
  opts: { forWorker?: boolean; failFast?: boolean; name?: string } = {},
): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    connectionName: opts.name,
    ...(opts.forWorker ? { maxRetriesPerRequest: null } : {}),
    // A producer in a request path should answer 503 quickly rather than queue forever.
    ...(opts.failFast ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 } : {}),
  };
  const redis = new Redis(url, options);
  redis.on('error', (err: Error) =>
    log.warn({ err: err.message, client: opts.name }, 'redis error'),
  );
  return redis;
}
