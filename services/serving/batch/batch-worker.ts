/**
 * Batch inference on the serving side: a BullMQ worker on `QUEUES.batchInfer`. Each job is a
 * row range of a dataset version; it is scored by this replica's fleet with the generation
 * the session pinned, and the float32 outputs wait in a Redis key (binary, with a TTL) for
 * the session to collect. Jobs spread over every serving replica; a replica that dies
 * mid-job leaves a stalled job that BullMQ hands to another one.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  AppError,
  BatchInferJob,
  QUEUES,
  Unavailable,
  type BatchInferResult,
  type DatasetStore,
  type Keys,
  type Logger,
} from '../../../shared/index.js';
import type { ModelFleet } from '../hosting/model-fleet.js';
import { pickOutput, rowsToTensor } from '../tensors/rows-to-tensor.js';
import { ELEM, concatRows, type HostTensor, type TensorMap } from '../tensors/tensors.js';

export interface BatchWorkerDeps {
  /** a connection of its own with `maxRetriesPerRequest: null` (BullMQ blocks on it) */
  connection: Redis;
  /** command connection for the result keys */
  redis: Redis;
  keys: Keys;
  fleet: ModelFleet;
  datasets: DatasetStore;
  log: Logger;
  /** jobs scored at once @defaultValue 2 */
  concurrency?: number;
  /** rows per model call; the batcher may merge calls further @defaultValue 64 */
  maxBatch?: number;
  /** how long results wait for collection (s) @defaultValue 86400 */
  resultTtlS?: number;
  /** BullMQ lock; a replica silent this long is presumed dead (ms) @defaultValue 30000 */
  lockDurationMs?: number;
}

/** Scores one chunk and stores its outputs; domain code, no BullMQ inside. */
export async function scoreChunk(
  job: BatchInferJob,
  d: Pick<BatchWorkerDeps, 'redis' | 'keys' | 'fleet' | 'datasets'> & {
    maxBatch: number;
    resultTtlS: number;
  },
): Promise<BatchInferResult> {
  const host = d.fleet.host(job.model);
  if (!host) {
    // Another replica may serve it; a retry can land there.
    throw new Unavailable(`model "${job.model}" is not served by this replica`);
  }
  const io = await host.signature(job.gen);
  const out = pickOutput(job.model, io, job.output);
  const rows = await d.datasets.readRows(job.dataset, job.version, job.start, job.count);
  const inputs = rowsToTensor(job.model, io, rows);
  const parts: Promise<HostTensor>[] = [];
  for (let at = 0; at < rows.rows; at += d.maxBatch) {
    const n = Math.min(d.maxBatch, rows.rows - at);
    const sub: TensorMap = {};
    for (const [name, t] of Object.entries(inputs)) sub[name] = sliceRows(t, at, n);
    parts.push(
      host.infer(sub, job.gen).then((r) => {
        const t = r.outputs[out.name];
        if (!t) throw new Unavailable(`model "${job.model}" answered without "${out.name}"`);
        return t;
      }),
    );
  }
  const all = concatRows(await Promise.all(parts));
  const values = toFloat32(all);
  const width = all.dims[0] ? values.length / all.dims[0] : 0;
  const key = d.keys.batchInferChunk(job.sessionId, job.chunk);
  await d.redis.set(
    key,
    Buffer.from(values.buffer, values.byteOffset, values.byteLength),
    'EX',
    d.resultTtlS,
  );
  return { key, rows: rows.rows, width, output: out.name, gen: job.gen };
}

/** A copy, not a view: a view would carry its whole buffer across the IPC channel. */
function sliceRows(t: HostTensor, at: number, n: number): HostTensor {
  const per = t.dims[0] ? t.data.length / t.dims[0] : 0;
  return {
    type: t.type,
    dims: [n, ...t.dims.slice(1)],
    data: t.data.slice(at * per, (at + n) * per),
  };
}

function toFloat32(t: HostTensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') throw new Unavailable('float16 outputs cannot be stored as rows');
  const out = new Float32Array(t.data.length);
  const big = ELEM[t.type].bigint;
  for (let i = 0; i < out.length; i++) out[i] = big ? Number(t.data[i]) : (t.data[i] as number);
  return out;
}

/** Starts the worker; close it before the fleet. */
export function startBatchWorker(d: BatchWorkerDeps): Worker<BatchInferJob, BatchInferResult> {
  const settings = { maxBatch: d.maxBatch ?? 64, resultTtlS: d.resultTtlS ?? 86_400 };
  const worker = new Worker<BatchInferJob, BatchInferResult>(
    QUEUES.batchInfer,
    async (job: Job<BatchInferJob>) => {
      const input = BatchInferJob.safeParse(job.data);
      if (!input.success) throw new UnrecoverableError(`bad BatchInferJob: ${input.error.message}`);
      try {
        return await scoreChunk(input.data, { ...d, ...settings });
      } catch (err) {
        // The request's own fault (bad output name, rows the model cannot take): no retry.
        if (err instanceof AppError && err.status < 500) throw new UnrecoverableError(err.message);
        throw err;
      }
    },
    {
      connection: d.connection,
      prefix: d.keys.bullPrefix(),
      concurrency: d.concurrency ?? 2,
      lockDuration: d.lockDurationMs ?? 30_000,
      stalledInterval: d.lockDurationMs ?? 30_000,
    },
  );
  worker.on('error', (err) => d.log.warn({ err }, 'batch-infer worker error'));
  worker.on('failed', (job, err) =>
    d.log.warn({ err, job: job?.id, attempts: job?.attemptsMade }, 'batch-infer chunk failed'),
  );
  return worker;
}
