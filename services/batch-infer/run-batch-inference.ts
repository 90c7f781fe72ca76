/**
 * A batch-inference session: splits a dataset version into row ranges, queues one BullMQ
 * job per range for the serving replicas, collects their outputs in row order and writes
 * them as a new dataset version (features = model outputs, label = argmax, or the value
 * itself for a one-output regressor), reporting progress as it goes.
 */
import type { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  BadInput,
  BatchInferResult,
  NotFound,
  checkName,
  type BatchInferJob,
  type DatasetStore,
  type DatasetVersionMeta,
  type Keys,
  type Logger,
  type ModelRegistry,
  type WorkerEvent,
  createStatsAccumulator,
  BatchInferParams,
  argmaxRows,
  planChunks,
} from '../../shared/index.js';

export interface BatchInferRequest {
  sessionId: string;
  model: string;
  dataset: { name: string; version: number };
  /** production when omitted, read once at the start so the whole run uses one generation */
  generation?: number;
  params: Record<string, unknown>;
}

export interface BatchInferDeps {
  redis: Redis;
  keys: Keys;
  /** producer on QUEUES.batchInfer */
  queue: Queue<BatchInferJob, BatchInferResult>;
  /** created before jobs are added, so no completion is missed */
  queueEvents: QueueEvents;
  datasets: DatasetStore;
  registry: ModelRegistry;
  report: (e: WorkerEvent) => void;
  shouldStop: () => boolean;
  log: Logger;
  /** how long one chunk may take, retries included (ms) @defaultValue 3600000 */
  chunkTimeoutMs?: number;
  /** least time between progress events (ms) @defaultValue 500 */
  progressEveryMs?: number;
}

export interface BatchInferOutcome {
  dataset: string;
  version: number;
  rows: number;
  gen: number;
  stopped: boolean;
}

export async function runBatchInference(
  req: BatchInferRequest,
  d: BatchInferDeps,
): Promise<BatchInferOutcome> {
  const params = BatchInferParams.parse(req.params);
  const gen = req.generation ?? (await d.registry.getProduction(req.model))?.gen;
  if (!gen) throw new NotFound(`model ${req.model} has no production generation to score with`);
  const { name, version } = req.dataset;
  const meta = await d.datasets.getVersion(name, version);
  const outName = checkName(params.outputDataset ?? `${name}-pred-${req.model}-g${gen}`, 'dataset');
  const chunks = planChunks(meta.count, params.chunkRows);
  d.report({
    kind: 'session.started',
    payload: {
      model: req.model,
      gen,
      dataset: `${name}@${version}`,
      rows: meta.count,
      chunks: chunks.length,
    },
  });

  const jobs = await d.queue.addBulk(
    chunks.map((c, i) => ({
      name: 'chunk',
      data: {
        sessionId: req.sessionId,
        chunk: i,
        model: req.model,
        gen,
        dataset: name,
        version,
        start: c.start,
        count: c.count,
        ...(params.output ? { output: params.output } : {}),
      },
      // A deterministic id makes a re-run of the same session reuse, not duplicate, its jobs.
      opts: {
        jobId: `${req.sessionId}-${i}`,
        attempts: 5,
        backoff: { type: 'exponential', delay: 500 },
        removeOnFail: { age: 86_400 },
      },
    })),
  );
  const ttl = d.chunkTimeoutMs ?? 3_600_000;
  const results = jobs.map((j) => {
    const p = j.waitUntilFinished(d.queueEvents, ttl) as Promise<unknown>;
    p.catch(() => {}); // awaited in order below; an early failure must not go unhandled
    return p;
  });

  const writer = d.datasets.beginVersion(outName);
  const stats = createStatsAccumulator('class');
  let width = -1;
  let done = 0;
  const started = Date.now();
  let lastReport = 0;
  const progress = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastReport < (d.progressEveryMs ?? 500)) return;
    lastReport = now;
    const secs = Math.max((now - started) / 1000, 1e-3);
    d.report({ kind: 'progress', payload: { done, total: meta.count, rowsPerSec: done / secs } });
  };
  try {
    for (let i = 0; i < jobs.length; i++) {
      if (d.shouldStop()) {
        await cleanup(
          d,
          jobs.map((j) => j.id!),
          req.sessionId,
          i,
        );
        await writer.abort();
        return { dataset: outName, version: 0, rows: done, gen, stopped: true };
      }
      const r = BatchInferResult.parse(await results[i]);
      const buf = await d.redis.getBuffer(r.key);
      if (!buf) throw new NotFound(`outputs of chunk ${i} expired before collection`);
      const values = new Float32Array(
        buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length),
      );
      if (width === -1) width = r.width;
      if (r.width !== width)
        throw new BadInput(`chunk ${i} has ${r.width} outputs per row, not ${width}`);
      const batch = {
        kind: 'tabular' as const,
        rows: r.rows,
        dim: width,
        features: values,
        labels: width === 1 ? values.slice() : argmaxRows(values, width),
      };
      await writer.writeShard(batch);
      if (width > 1) stats.add(batch);
      await d.redis.del(r.key);
      await jobs[i]!.remove().catch(() => {});
      done += r.rows;
      progress(false);
    }
    const committed = await writer.commit(
      commitMeta(meta, width, width > 1 ? stats.result() : undefined, {
        session: req.sessionId,
        model: req.model,
        gen,
        dataset: `${name}@${version}`,
      }),
    );
    progress(true);
    return {
      dataset: outName,
      version: committed.version,
      rows: committed.count,
      gen,
      stopped: false,
    };
  } catch (err) {
    await writer.abort().catch(() => {});
    await cleanup(
      d,
      jobs.map((j) => j.id!),
      req.sessionId,
      0,
    ).catch(() => {});
    throw err;
  }
}

function commitMeta(
  input: DatasetVersionMeta,
  width: number,
  stats: unknown,
  source: Record<string, unknown>,
) {
  const classes = width > 1;
  const names = input.labelNames?.length === width ? input.labelNames : undefined;
  return {
    kind: 'tabular' as const,
    format: 'predictions',
    ...(width > 0 ? { features: width } : {}),
    ...(names ? { featureNames: names.map((n) => `p_${n}`), labelNames: names } : {}),
    labelKind: classes ? ('class' as const) : ('regression' as const),
    ...(stats ? { stats } : {}),
    source,
  };
}

/** Drops queued chunks and stored outputs of a session that ends early (best effort). */
async function cleanup(d: BatchInferDeps, ids: string[], sessionId: string, from: number) {
  for (let i = from; i < ids.length; i++) {
    await d.queue.remove(ids[i]!).catch(() => 0);
    await d.redis.del(d.keys.batchInferChunk(sessionId, i));
  }
}
