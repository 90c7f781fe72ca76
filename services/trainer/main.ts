import {
  DatasetStore,
  Keys,
  ModelRegistry,
  WorkerReporter,
  createLogger,
  createRedis,
  parseDatasetRef,
} from '../../shared/index.js';
import { loadConfig } from './config.js';
import { runTrainingSession } from './run-session.js';

// A warm spare (local mode) has loaded every module already and gets its session's
// environment over IPC when the event handler hands it a session: no start-up on the clock.
const env =
  process.env.SWARMML_WARM === '1'
    ? await new Promise<Record<string, string>>((resolve) => {
        // Ready only once listening: a message sent before would be lost.
        process.send?.({ ready: true });
        process.once('message', (m: { env: Record<string, string> }) => {
          // Disconnecting inside the handler trips node; unref lets the process end when done.
          process.channel?.unref();
          resolve(m.env);
        });
      })
    : process.env;
const config = loadConfig(env);
const log = createLogger('trainer', config.LOG_LEVEL);
const redis = createRedis(config.REDIS_URL, log, { name: `trainer-${config.SWARMML_SESSION}` });
const keys = new Keys(config.SWARMML_PREFIX);
const reporter = new WorkerReporter(
  config.SWARMML_HANDLER_URL,
  config.SWARMML_TOKEN,
  config.SWARMML_SESSION,
  (m) => log.warn(m),
);
reporter.start();
reporter.send({
  kind: 'session.started',
  payload: { pid: process.pid, trainer: config.SWARMML_TRAINER, dataset: config.SWARMML_DATASET },
});

// A stop request is SIGTERM: finish the current batch, then leave without a generation.
let stopRequested = false;
process.on('SIGTERM', () => {
  stopRequested = true;
});

const ref = parseDatasetRef(config.SWARMML_DATASET);
try {
  const r = await runTrainingSession(
    {
      sessionId: config.SWARMML_SESSION,
      model: config.SWARMML_MODEL,
      dataset: { name: ref.name, version: ref.version ?? 1 },
      trainer: config.SWARMML_TRAINER,
      params: config.SWARMML_PARAMS,
    },
    {
      datasets: new DatasetStore(redis, keys),
      registry: new ModelRegistry(redis, keys),
      report: (e) => reporter.send(e),
      shouldStop: () => stopRequested,
      log,
    },
  );
  log.info(r, 'training session done');
  reporter.send({ kind: 'worker.exiting', payload: { exitCode: 0 } });
  await reporter.flush();
  process.exitCode = 0;
} catch (err) {
  log.error({ err }, 'training failed');
  console.error(`training failed: ${(err as Error).message}`);
  reporter.send({ kind: 'worker.exiting', payload: { exitCode: 1 } });
  await reporter.flush(5_000).catch(() => {});
  process.exitCode = 1;
} finally {
  reporter.close();
  redis.disconnect();
}
