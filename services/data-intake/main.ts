import {
  createLogger,
  createRedis,
  exitOnListenError,
  onShutdown,
  redactUrl,
} from '../../shared/index.js';
import { loadConfig } from './config.js';
import { buildIntakeApp } from './app.js';

const config = loadConfig(process.env);
const log = createLogger('data-intake', config.LOG_LEVEL);
const redis = createRedis(config.REDIS_URL, log, { name: 'data-intake' });
const app = buildIntakeApp({ config, log, redis });
const port = await app
  .listen(config.PORT, config.HOST)
  .catch(exitOnListenError(log, 'data-intake', config.PORT));
log.info({ port, host: config.HOST, redis: redactUrl(config.REDIS_URL) }, 'data-intake listening');
onShutdown(log, [() => app.close(), () => redis.quit()]);
