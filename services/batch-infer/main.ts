import { Queue, QueueEvents } from 'bullmq';
import {
  DatasetStore,
  ModelRegistry,
  QUEUES,
  createRedis,
  parseDatasetRef,
  runWorker,
  type BatchInferJob,
  type BatchInferResult,
} from '../../shared/index.js';
import { loadConfig } from './config.js';
import { runBatchInference } from './run-batch-inference.js';

const config = loadConfig(process.env);
const ref = parseDatasetRef(config.SWARMML_DATASET);
let closeQueues = async () => {};

await runWorker({
  name: 'batch-infer',
  config,
  async work({ log, redis, keys, report, shouldStop }) {
    const blocking = createRedis(config.REDIS_URL, log, {
      name: `batch-infer-events-${config.SWARMML_SESSION}`,
      forWorker: true,
    });
    const queue = new Queue<BatchInferJob, BatchInferResult>(QUEUES.batchInfer, {
      connection: redis,
      prefix: keys.bullPrefix(),
    });
    const queueEvents = new QueueEvents(QUEUES.batchInfer, {
      connection: blocking,
      prefix: keys.bullPrefix(),
    });
    closeQueues = async () => {
      await queueEvents.close().catch(() => {});
      await queue.close().catch(() => {});
      blocking.disconnect();
    };
    queue.on('error', (err) => log.warn({ err }, 'batch-infer queue error'));
    queueEvents.on('error', (err) => log.warn({ err }, 'batch-infer queue events error'));
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
        report,
        shouldStop,
        log,
        chunkTimeoutMs: config.SWARMML_TIME_BUDGET_S * 1000,
      },
    );
    log.info(r, 'batch inference done');
    return [
      r.stopped
        ? `stopped after ${r.rows} rows`
        : `wrote ${r.rows} predictions of ${config.SWARMML_MODEL} g${r.gen} to ${r.dataset}@${r.version}`,
    ];
  },
  close: () => closeQueues(),
});
