import {
  createLogger,
  createRedis,
  exitOnListenError,
  onShutdown,
  redactUrl,
} from '../../shared/index.js';
import { loadConfig } from './config.js';
import { buildListener } from './app.js';
import { createListenerHealthServer } from './health-server.js';

const config = loadConfig(process.env);
const log = createLogger('event-listener', config.LOG_LEVEL);
const redis = createRedis(config.REDIS_URL, log, { name: 'event-listener' });
const bullRedis = createRedis(config.REDIS_URL, log, {
  name: 'event-listener-bull',
  forWorker: true,
});
const app = buildListener({ config, log, redis, bullRedis });
let running = false;
const health = createListenerHealthServer({ redis, log, running: () => running });
await app.start();
running = true;
// A listener without its health port looks dead to Docker and to `swarmml status`: it ends
// (local mode gives each install its own port, SWARMML_PORT+5).
const port = await health
  .listen(config.PORT, config.HOST)
  .catch(exitOnListenError(log, 'event-listener', config.PORT));
log.info(
  {
    redis: redactUrl(config.REDIS_URL),
    handler: config.EVENT_HANDLER_URL,
    port,
    host: config.HOST,
  },
  'event-listener running',
);
onShutdown(log, [
  () => {
    running = false;
    return health.close();
  },
  () => app.close(),
  () => bullRedis.quit(),
  () => redis.quit(),
]);
