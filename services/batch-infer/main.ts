import { Queue, QueueEvents } from 'bullmq';
import {
  DatasetStore,
  Keys,
  ModelRegistry,
  QUEUES,
  WorkerReporter,
  createLogger,
  createRedis,
  parseDatasetRef,
  type BatchInferJob,
  type BatchInferResult,
} from '../../shared/index.js';
import { loadConfig } from './config.js';
import { runBatchInference } from './run-batch-inference.js';

const config = loadConfig(process.env);
const log = createLogger('batch-infer', config.LOG_LEVEL);
const redis = createRedis(config.REDIS_URL, log, { name: `batch-infer-${config.SWARMML_SESSION}` });
const blocking = createRedis(config.REDIS_URL, log, {
  name: `batch-infer-events-${config.SWARMML_SESSION}`,
  forWorker: true,
});
const keys = new Keys(config.SWARMML_PREFIX);
const queue = new Queue<BatchInferJob, BatchInferResult>(QUEUES.batchInfer, {
  connection: redis,
  prefix: keys.bullPrefix(),
});
const queueEvents = new QueueEvents(QUEUES.batchInfer, {
  connection: blocking,
  prefix: keys.bullPrefix(),
});
queue.on('error', (err) => log.warn({ err }, 'batch-infer queue error'));
queueEvents.on('error', (err) => log.warn({ err }, 'batch-infer queue events error'));
const reporter = new WorkerReporter(
  config.SWARMML_HANDLER_URL,
  config.SWARMML_TOKEN,
  config.SWARMML_SESSION,
  (m) => log.warn(m),
);
reporter.start();

// A stop request is SIGTERM: finish the chunk in hand, then leave without a dataset.
let stopRequested = false;
process.on('SIGTERM', () => {
  stopRequested = true;
});

const ref = parseDatasetRef(config.SWARMML_DATASET);
try {
  await queueEvents.waitUntilReady();
  const r = await runBatchInference(
    {
      sessionId: config.SWARMML_SESSION,
      model: config.SWARMML_MODEL,
      dataset: { name: ref.name, version: ref.version ?? 1 },
      ...(config.SWARMML_GENERATION ? { generation: config.SWARMML_GENERATION } : {}),
      params: config.SWARMML_PARAMS,
    },
    {
      redis,
      keys,
      queue,
      queueEvents,
      datasets: new DatasetStore(redis, keys),
      registry: new ModelRegistry(redis, keys),
      report: (e) => reporter.send(e),
      shouldStop: () => stopRequested,
      log,
      chunkTimeoutMs: config.SWARMML_TIME_BUDGET_S * 1000,
    },
  );
  log.info(r, 'batch inference done');
  reporter.send({
    kind: 'log',
    payload: {
      lines: [
        r.stopped
          ? `stopped after ${r.rows} rows`
          : `wrote ${r.rows} predictions of ${config.SWARMML_MODEL} g${r.gen} to ${r.dataset}@${r.version}`,
      ],
    },
  });
  reporter.send({ kind: 'worker.exiting', payload: { exitCode: 0 } });
  await reporter.flush();
  process.exitCode = 0;
} catch (err) {
  log.error({ err }, 'batch inference failed');
  console.error(`batch inference failed: ${(err as Error).message}`);
  reporter.send({ kind: 'log', payload: { lines: [`failed: ${(err as Error).message}`] } });
  reporter.send({ kind: 'worker.exiting', payload: { exitCode: 1 } });
  await reporter.flush(5_000).catch(() => {});
  process.exitCode = 1;
} finally {
  reporter.close();
  await queueEvents.close().catch(() => {});
  await queue.close().catch(() => {});
  redis.disconnect();
  blocking.disconnect();
}
