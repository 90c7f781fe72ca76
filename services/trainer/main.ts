import { DatasetStore, ModelRegistry, parseDatasetRef, runWorker } from '../../shared/index.js';
import { handlerCheckpoints } from './checkpoint-client.js';
import { loadConfig } from './config.js';
import { runTrainingSession } from './run-session.js';
import { sessionEnvironment } from './session-environment.js';

// A warm spare has its modules loaded before it is handed a session: no start-up on the clock.
const env = await sessionEnvironment(process.env);
const config = loadConfig(env);
const ref = parseDatasetRef(config.SWARMML_DATASET);

await runWorker({
  name: 'trainer',
  config,
  async work({ log, redis, keys, report, shouldStop }) {
    report({
      kind: 'session.started',
      payload: {
        pid: process.pid,
        trainer: config.SWARMML_TRAINER,
        dataset: config.SWARMML_DATASET,
      },
    });
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
        report,
        shouldStop,
        log,
        checkpoints: handlerCheckpoints(
          config.SWARMML_HANDLER_URL,
          config.SWARMML_TOKEN,
          config.SWARMML_SESSION,
        ),
        checkpointEveryMs: config.SWARMML_CHECKPOINT_EVERY_S * 1000,
      },
    );
    log.info(r, 'training session done');
  },
});
