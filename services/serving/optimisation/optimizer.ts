/**
 * Optimise on promotion. Every replica hears a promotion; the one that wins a per-generation
 * lock (SET NX) builds the onnxruntime-optimised form in a child process, checks it against
 * the original on the lineage dataset's validation rows, times both, and records the figures
 * on the generation (`extra.optimization`). Only an accepted form is stored (its own key) and
 * announced, and replicas then reload that generation from it.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { hostname, setPriority } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import {
  Unavailable,
  concatBatches,
  type DatasetStore,
  type Generation,
  type Keys,
  type Logger,
  type ModelRegistry,
  type RowBatch,
  validationMask,
  publishControl,
} from '../../../shared/index.js';
import { acceptOptimized } from './optimize-check.js';
import type { LatencyFigures, OptimizeAnswer, OptimizeRequest } from './optimize-protocol.js';

const CHILD = fileURLToPath(
  new URL(`./optimize-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

export type OptimizeLevel = 'basic' | 'extended' | 'all';

/** What `extra.optimization` of a generation holds. */
export interface OptimizationRecord {
  level: OptimizeLevel;
  accepted: boolean;
  /** why it was refused or failed */
  reason?: string;
  sizeBefore: number;
  sizeAfter?: number;
  sha256After?: string;
  maxAbsDiff?: number;
  tolerance: number;
  rowsChecked?: number;
  /** where the checked rows came from */
  rowsFrom?: string;
  bestBatch?: number;
  latencyBeforeMs?: LatencyFigures;
  latencyAfterMs?: LatencyFigures;
  by: string;
  at: string;
}

export interface OptimizerOptions {
  redis: Redis;
  keys: Keys;
  registry: ModelRegistry;
  datasets: DatasetStore;
  log: Logger;
  /** @defaultValue 'extended' (portable across CPUs; 'all' adds layout changes for this CPU) */
  level?: OptimizeLevel;
  /** largest accepted output difference @defaultValue 1e-4 */
  tolerance?: number;
  /** validation rows checked at most @defaultValue 256 */
  rows?: number;
  /** batch sizes timed @defaultValue [1, 8, 32, 64] */
  batches?: number[];
  /** timing budget per batch size and graph (ms) @defaultValue 300 */
  timeMs?: number;
  /** how long one optimisation may hold the lock (s) @defaultValue 600 */
  lockTtlS?: number;
}

export class PromotionOptimizer {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly me = `${hostname()}:${process.pid}`;

  constructor(private readonly o: OptimizerOptions) {}

  /** Queues an optimisation (one at a time per replica); errors are logged, not thrown. */
  schedule(model: string, gen: number): void {
    this.queue = this.queue.then(() =>
      this.optimize(model, gen).catch((err: unknown) =>
        this.o.log.warn({ err, model, gen }, 'optimisation failed'),
      ),
    );
  }

  /** Resolves when everything scheduled so far is done. */
  idle(): Promise<unknown> {
    return this.queue;
  }

  close(): void {
    this.closed = true;
  }

  /**
   * Optimises `model`/`gen` unless another replica holds its lock or it was done before;
   * answers the record written, or null when it left the work to someone else.
   */
  async optimize(model: string, gen: number): Promise<OptimizationRecord | null> {
    if (this.closed) return null;
    const k = this.o.keys;
    const lock = k.modelGenOptimizeLock(model, gen);
    const got = await this.o.redis.set(lock, this.me, 'EX', this.o.lockTtlS ?? 600, 'NX');
    if (got !== 'OK') return null;
    try {
      const g = await this.o.registry.getGeneration(model, gen);
      if (g.extra?.optimization) return null;
      const record = await this.build(g);
      await this.o.registry.updateGeneration(model, gen, {
        extra: { optimization: record },
      });
      this.o.log.info({ model, gen, ...record }, 'optimisation recorded');
      if (record.accepted) await publishControl(this.o.redis, k, { type: 'optimized', model, gen });
      return record;
    } finally {
      await this.o.redis.del(lock);
    }
  }

  private async build(g: Generation): Promise<OptimizationRecord> {
    const level = this.o.level ?? 'extended';
    const tolerance = this.o.tolerance ?? 1e-4;
    const bytes = await this.o.registry.getWeights(g.model, g.gen);
    const base = {
      level,
      tolerance,
      sizeBefore: bytes.length,
      by: this.me,
      at: new Date().toISOString(),
    };
    const { rows, from } = await this.validationRows(g);
    const answer = await runChild({
      bytes: new Uint8Array(bytes),
      model: g.model,
      level,
      rows,
      batches: this.o.batches ?? [1, 8, 32, 64],
      timeMs: this.o.timeMs ?? 300,
    });
    if (!answer.ok) return { ...base, accepted: false, reason: answer.message };
    const accepted = acceptOptimized(answer.maxAbsDiff, tolerance);
    const sha256After = createHash('sha256').update(answer.optimized).digest('hex');
    if (accepted) {
      await this.o.redis.set(
        this.o.keys.modelGenOptimized(g.model, g.gen),
        Buffer.from(answer.optimized),
      );
    }
    return {
      ...base,
      accepted,
      ...(accepted ? {} : { reason: `outputs differ by ${answer.maxAbsDiff} > ${tolerance}` }),
      sizeAfter: answer.optimized.length,
      sha256After,
      maxAbsDiff: Number.isFinite(answer.maxAbsDiff) ? answer.maxAbsDiff : -1,
      rowsChecked: answer.rowsChecked,
      rowsFrom: from,
      bestBatch: answer.bestBatch,
      latencyBeforeMs: answer.latencyBeforeMs,
      latencyAfterMs: answer.latencyAfterMs,
    };
  }

  /** Validation rows of the lineage dataset (its first rows when it has no split). */
  private async validationRows(g: Generation): Promise<{ rows: RowBatch | null; from: string }> {
    if (!g.lineage) return { rows: null, from: 'synthetic (no lineage)' };
    const { dataset, version } = g.lineage;
    const meta = await this.o.datasets.getVersion(dataset, version).catch(() => null);
    if (!meta || meta.count === 0) return { rows: null, from: 'synthetic (lineage dataset gone)' };
    const want = this.o.rows ?? 256;
    const picked: RowBatch[] = [];
    let have = 0;
    for (let start = 0; start < meta.count && have < want; start += 1024) {
      const batch = await this.o.datasets.readRows(
        dataset,
        version,
        start,
        Math.min(1024, meta.count - start),
      );
      const sel = meta.split
        ? selectRows(
            batch,
            validationMask(meta.split.seed, meta.split.validationFraction, start, batch.rows),
            want - have,
          )
        : selectRows(batch, null, want - have);
      picked.push(sel);
      have += sel.rows;
    }
    const rows = picked.length === 1 ? picked[0]! : concatBatches(picked);
    return { rows, from: `${dataset}@${version} ${meta.split ? 'validation' : 'first'} rows` };
  }
}

/** Rows where mask is 1 (all rows when null), at most `max`. */
function selectRows(b: RowBatch, mask: Uint8Array | null, max: number): RowBatch {
  const idx: number[] = [];
  for (let i = 0; i < b.rows && idx.length < max; i++) if (!mask || mask[i]) idx.push(i);
  const labels = Float32Array.from(idx, (i) => b.labels[i]!);
  if (b.kind === 'tabular') {
    const f = new Float32Array(idx.length * b.dim);
    idx.forEach((i, j) => f.set(b.features.subarray(i * b.dim, (i + 1) * b.dim), j * b.dim));
    return { ...b, rows: idx.length, features: f, labels };
  }
  const w = b.height * b.width * b.channels;
  const px = new Uint8Array(idx.length * w);
  idx.forEach((i, j) => px.set(b.pixels.subarray(i * w, (i + 1) * w), j * w));
  return { ...b, rows: idx.length, pixels: px, labels };
}

function runChild(req: OptimizeRequest): Promise<OptimizeAnswer> {
  const child = fork(CHILD, [], {
    execArgv: process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--inspect')),
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    // Below the model processes: timing runs must not steal their cores.
    if (child.pid) setPriority(child.pid, 10);
  } catch {
    // not permitted here; it still works, only less politely
  }
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as OptimizeAnswer));
    child.once('exit', (code, signal) =>
      reject(new Unavailable(`optimiser process exited (${signal ?? code}) before answering`)),
    );
    child.send(req);
  });
}
