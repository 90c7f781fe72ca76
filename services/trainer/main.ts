import { DatasetStore, ModelRegistry, parseDatasetRef, runWorker } from '../../shared/index.js';
import { handlerCheckpoints } from './checkpoint-client.js';
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
