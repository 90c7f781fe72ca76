/**
 * A serving app over the real Redis registry, with its background work (drift monitor,
 * optimiser, batch-inference worker) wired as services/serving/main.ts wires them.
 */
import { createLogger } from '../../../shared/runtime/logger.js';
import { Keys } from '../../../shared/store/keys.js';
import { ModelRegistry } from '../../../shared/store/model-registry.js';
import { DatasetStore } from '../../../shared/store/dataset-store.js';
import {
  createDriftMonitor,
  startBackgroundWork,
  type BackgroundWork,
} from '../../../services/serving/background-work.js';
import { loadConfig } from '../../../services/serving/config.js';
import type { DriftMonitor } from '../../../services/serving/drift/drift-monitor.js';
import { RegistrySource } from '../../../services/serving/hosting/registry-source.js';
import type { TestRedis } from '../../helpers/redis.js';
import { startServing, type Serving } from './harness.js';

export interface RegistryServing extends Serving {
  keys: Keys;
  registry: ModelRegistry;
  datasets: DatasetStore;
  source: RegistrySource;
  work: BackgroundWork;
  drift: DriftMonitor | undefined;
}

/** `env` is serving config; by default the optimiser and drift monitor are off (tests opt in). */
export async function startRegistryServing(
  r: TestRedis,
  prefix: string,
  env: Record<string, string> = {},
): Promise<RegistryServing> {
  const fullEnv = {
    OPTIMIZE_ON_PROMOTION: '0',
    DRIFT: '0',
    BATCH_WORKER: '0',
    SPARE_PROCESS: '0',
    ...env,
  };
  const config = loadConfig({ PORT: '0', ...fullEnv });
  const log = createLogger('serving-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const keys = new Keys(prefix);
  const redis = r.client();
  const registry = new ModelRegistry(redis, keys);
  const source = new RegistrySource(registry, r.client(), keys, log, { redis });
  const drift = createDriftMonitor(config, { redis, keys, log });
  const s = await startServing(source, fullEnv, { drift, rollout: { redis, keys } });
  const work = startBackgroundWork(config, {
    redis,
    keys,
    log,
    app: s.app,
    source,
    workerRedis: r.client({ forWorker: true }),
    drift,
  });
  return {
    ...s,
    keys,
    registry,
    datasets: new DatasetStore(redis, keys),
    source,
    work,
    drift,
    async stop() {
      await work.close();
      await s.stop();
      await source.close();
    },
  };
}

/** Seeded uniform rows in [0, 1) as a tabular batch with 3 classes. */
export function uniformRows(rows: number, dim: number, seed = 1, shift = 0) {
  let a = seed >>> 0;
  const next = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 32;
  };
  const features = new Float32Array(rows * dim);
  for (let i = 0; i < features.length; i++) features[i] = next() + shift;
  const labels = Float32Array.from({ length: rows }, (_, i) => i % 3);
  return { kind: 'tabular' as const, rows, dim, features, labels };
}

/** Stores `rows` uniform rows as a committed dataset version (with a validation split). */
export async function storeUniform(
  datasets: DatasetStore,
  name: string,
  rows: number,
  dim: number,
  opts: { split?: boolean; stats?: unknown } = {},
) {
  const w = datasets.beginVersion(name);
  const batch = uniformRows(rows, dim);
  await w.writeShard(batch);
  return w.commit({
    kind: 'tabular',
    format: 'csv',
    features: dim,
    labelKind: 'class',
    labelNames: ['a', 'b', 'c'],
    ...(opts.split
      ? { split: { seed: 7, validationFraction: 0.2, trainCount: 0, validationCount: 0 } }
      : {}),
    ...(opts.stats ? { stats: opts.stats } : {}),
  });
}
