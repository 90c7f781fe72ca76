import { createLogger, createRedis, onShutdown, redactUrl } from '../../shared/index.js';
import { loadConfig } from './config.js';
import { buildListener } from './app.js';

const config = loadConfig(process.env);
const log = createLogger('event-listener', config.LOG_LEVEL);
const redis = createRedis(config.REDIS_URL, log, { name: 'event-listener' });
const bullRedis = createRedis(config.REDIS_URL, log, {
  name: 'event-listener-bull',
  forWorker: true,
});
const app = buildListener({ config, log, redis, bullRedis });
await app.start();
log.info(
  { redis: redactUrl(config.REDIS_URL), handler: config.EVENT_HANDLER_URL },
  'event-listener running',
);
onShutdown(log, [() => app.close(), () => bullRedis.quit(), () => redis.quit()]);
