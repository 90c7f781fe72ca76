import {
  createLogger,
  createRedis,
  exitOnListenError,
  listenOn,
  onShutdown,
  redactUrl,
} from '../../shared/index.js';
import { loadConfig } from './config.js';
import { buildApp } from './app.js';

const config = loadConfig(process.env);
const log = createLogger('gateway', config.LOG_LEVEL);
const redis = createRedis(config.REDIS_URL, log, { name: 'gateway' });
const gw = buildApp({ config, log, redis });
await gw.start();
await listenOn(gw.server, config.PORT, config.HOST).catch(
  exitOnListenError(log, 'gateway', config.PORT),
);
log.info(
  { port: config.PORT, host: config.HOST, redis: redactUrl(config.REDIS_URL) },
  'gateway listening',
);
const grpcPort = await gw.grpc
  .listen(config.SWARMML_GRPC_PORT, config.HOST)
  .catch(exitOnListenError(log, 'gateway gRPC', config.SWARMML_GRPC_PORT));
log.info({ port: grpcPort, host: config.HOST }, 'gateway gRPC listening');
onShutdown(log, [() => gw.close(), () => redis.quit()]);
