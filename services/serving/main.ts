import {
  Keys,
  ModelRegistry,
  createLogger,
  createRedis,
  exitOnListenError,
  listenOn,
  onShutdown,
  redactUrl,
  TokenLookup,
} from '../../shared/index.js';
import { buildApp } from './app.js';
import { createDriftMonitor, startBackgroundWork } from './background-work.js';
import { loadConfig } from './config.js';
import { createDirectServer } from './direct-server.js';
import { RegistrySource } from './hosting/registry-source.js';

const config = loadConfig(process.env);
const log = createLogger('serving', config.LOG_LEVEL);
const redis = createRedis(config.REDIS_URL, log, { name: 'serving' });
const subscriber = createRedis(config.REDIS_URL, log, { name: 'serving-sub' });
const workerRedis = createRedis(config.REDIS_URL, log, { name: 'serving-batch', forWorker: true });
const keys = new Keys(config.SWARMML_PREFIX);
const source = new RegistrySource(new ModelRegistry(redis, keys), subscriber, keys, log, {
  redis,
  serveOptimized: config.SERVE_OPTIMIZED,
});
const drift = createDriftMonitor(config, { redis, keys, log });
const app = buildApp({
  config,
  log,
  source,
  drift,
  defaultMetrics: true,
  rollout: { redis, keys },
});
await app.start();
const work = startBackgroundWork(config, { redis, keys, log, app, source, workerRedis, drift });
await listenOn(app.server, config.PORT, config.HOST).catch(
  exitOnListenError(log, 'serving', config.PORT),
);
log.info(
  { port: config.PORT, host: config.HOST, redis: redactUrl(config.REDIS_URL) },
  'serving listening',
);
const direct =
  config.DIRECT_PORT === undefined
    ? undefined
    : createDirectServer(app, new TokenLookup(redis, keys, { adminToken: config.adminToken }), log);
if (direct && config.DIRECT_PORT !== undefined) {
  await listenOn(direct, config.DIRECT_PORT, config.DIRECT_HOST).catch(
    exitOnListenError(log, 'serving (direct port)', config.DIRECT_PORT),
  );
  log.info({ port: config.DIRECT_PORT, host: config.DIRECT_HOST }, 'direct port listening');
}
onShutdown(log, [
  () =>
    new Promise<void>((resolve) => {
      if (!direct) return resolve();
      direct.close(() => resolve());
      direct.closeAllConnections();
    }),
  () => work.close(),
  () => app.close(),
  () => source.close(),
  () => workerRedis.quit(),
  () => redis.quit(),
]);
