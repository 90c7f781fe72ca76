/**
 * The Redis-backed work a serving replica does beside answering requests: input drift
 * monitoring, optimise-on-promotion, batch-inference chunks and candidate evaluations. main.ts and the test
 * harnesses wire it the same way.
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  DatasetStore,
  EventLog,
  ModelRegistry,
  type Keys,
  type Logger,
} from '../../shared/index.js';
import type { ServingApp } from './app.js';
import { startBatchWorker } from './batch/batch-worker.js';
import type { ServingConfig } from './config.js';
import { DriftMonitor } from './drift/drift-monitor.js';
import { startCandidateEvaluation } from './evaluation/evaluation-worker.js';
import type { ModelSource } from './hosting/model-source.js';
import { PromotionOptimizer } from './optimisation/optimizer.js';

export interface RedisParts {
  redis: Redis;
  keys: Keys;
  log: Logger;
}

/** The drift monitor for buildApp's deps, or undefined when DRIFT is off. */
export function createDriftMonitor(config: ServingConfig, d: RedisParts): DriftMonitor | undefined {
  if (!config.DRIFT) return undefined;
  return new DriftMonitor({
    registry: new ModelRegistry(d.redis, d.keys),
    datasets: new DatasetStore(d.redis, d.keys),
    events: new EventLog(d.redis, d.keys),
    log: d.log,
    window: config.DRIFT_WINDOW,
    bins: config.DRIFT_BINS,
    threshold: config.DRIFT_THRESHOLD,
    ...(config.DRIFT_CLEAR === undefined ? {} : { clear: config.DRIFT_CLEAR }),
    minRows: config.DRIFT_MIN_ROWS,
    sample: config.DRIFT_SAMPLE,
    checkMs: config.DRIFT_CHECK_MS,
  });
}

export interface BackgroundWork {
  optimizer: PromotionOptimizer | undefined;
  batchWorker: Worker | undefined;
  evaluationWorker: Worker | undefined;
  close(): Promise<void>;
}

/** Starts what the config enables; call after `app.start()`, close before `app.close()`. */
export function startBackgroundWork(
  config: ServingConfig,
  d: RedisParts & {
    app: ServingApp;
    source: ModelSource;
    /** a connection with `maxRetriesPerRequest: null`, for the BullMQ worker */
    workerRedis: Redis;
    drift?: DriftMonitor;
  },
): BackgroundWork {
  const registry = new ModelRegistry(d.redis, d.keys);
  const datasets = new DatasetStore(d.redis, d.keys);
  d.drift?.start();
  let optimizer: PromotionOptimizer | undefined;
  let unsubscribe: (() => void) | undefined;
  if (config.OPTIMIZE_ON_PROMOTION) {
    const o = new PromotionOptimizer({
      redis: d.redis,
      keys: d.keys,
      registry,
      datasets,
      log: d.log,
      level: config.OPTIMIZE_LEVEL,
      tolerance: config.OPTIMIZE_TOLERANCE,
      rows: config.OPTIMIZE_ROWS,
      timeMs: config.OPTIMIZE_TIME_MS,
    });
    optimizer = o;
    unsubscribe = d.source.onPromotion((model, gen) => o.schedule(model, gen));
    // Generations promoted while no replica was up: the lock and the record make this a no-op
    // for those already done.
    for (const h of d.app.fleet.hostsInfo()) if (h.gen !== null) o.schedule(h.name, h.gen);
  }
  const batchWorker = config.BATCH_WORKER
    ? startBatchWorker({
        connection: d.workerRedis,
        redis: d.redis,
        keys: d.keys,
        fleet: d.app.fleet,
        datasets,
        log: d.log,
        concurrency: config.BATCH_CONCURRENCY,
        maxBatch: config.MAX_BATCH,
        lockDurationMs: config.BATCH_LOCK_MS,
      })
    : undefined;
  const evaluationWorker = config.EVALUATE
    ? startCandidateEvaluation({
        connection: d.workerRedis,
        redis: d.redis,
        keys: d.keys,
        log: d.log,
        concurrency: config.EVALUATE_CONCURRENCY,
        maxRows: config.EVALUATE_MAX_ROWS,
        nice: config.EVALUATE_NICE,
      })
    : undefined;
  return {
    optimizer,
    batchWorker,
    evaluationWorker,
    async close() {
      unsubscribe?.();
      optimizer?.close();
      d.drift?.close();
      await evaluationWorker?.close();
      await batchWorker?.close();
      await optimizer?.idle();
    },
  };
}
