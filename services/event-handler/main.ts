import { createLogger, createRedis, exitOnListenError, onShutdown } from '../../shared/index.js';
import { loadConfig } from './config.js';
import { buildEventHandler } from './app.js';

const config = loadConfig(process.env);
const log = createLogger('event-handler', config.LOG_LEVEL);
const redis = createRedis(config.REDIS_URL, log, { name: 'event-handler' });
const workerRedis = createRedis(config.REDIS_URL, log, {
  name: 'event-handler-worker',
  forWorker: true,
});
const handler = buildEventHandler({ config, log, redis, workerRedis });
const port = await handler
  .start(config.PORT, config.HOST)
  .catch(exitOnListenError(log, 'event-handler', config.PORT));
log.info({ port, backend: handler.backend.name }, 'event handler listening');
onShutdown(log, [
  () => handler.close({ stopWorkers: config.STOP_WORKERS_ON_EXIT }),
  () => workerRedis.quit(),
  () => redis.quit(),
]);
