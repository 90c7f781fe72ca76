/**
 * Dynamic batching for one loaded generation, the Triton way: when the runner is idle,
 * whatever is queued goes at once (no added latency at low load); while it is busy,
 * requests pile up and go together in the next run, up to `maxBatch` rows. `maxDelayMs`
 * optionally holds an idle runner back to wait for a fuller batch.
 */
import { AppError } from '../../../shared/index.js';
import { concatRows, splitRows, type TensorMap } from '../tensors/tensors.js';

export interface BatcherOptions {
  /** rows per run @defaultValue 64 */
  maxBatch: number;
  /** how long an idle runner waits for more rows @defaultValue 0 (ms) */
  maxDelayMs: number;
  /** false when the model's first dim is fixed: every request runs alone */
  batching: boolean;
  /** runs in flight at once @defaultValue 1 */
  maxInflight?: number;
  /** called per run with its rows and request count (metrics) */
  onBatch?: (rows: number, requests: number) => void;
  /** called after each successful run with its timings (Triton's model statistics) */
  onRun?: (run: RunStats) => void;
}

/** One model run, timed in nanoseconds; `queueNs` sums the wait of every request in it. */
export interface RunStats {
  rows: number;
  requests: number;
  queueNs: number;
  /** stacking the requests' inputs into one batch */
  inputNs: number;
  inferNs: number;
  /** splitting the batch's outputs back per request */
  outputNs: number;
}

export type RunBatch = (inputs: TensorMap) => Promise<TensorMap>;

interface Queued {
  inputs: TensorMap;
  rows: number;
  key: string;
  at: number;
  /** performance.now() when queued (queue time in the statistics) */
  queuedAt: number;
  resolve: (out: TensorMap) => void;
  reject: (err: unknown) => void;
}

/** Requests batch together only when they agree on input names, types and trailing dims. */
export function compatKey(inputs: TensorMap): { key: string; rows: number } {
  const names = Object.keys(inputs).sort();
  let rows = -1;
  let key = '';
  for (const n of names) {
    const t = inputs[n]!;
    const r = t.dims[0] ?? -2;
    // Inputs that disagree on dim 0 cannot be stacked; such a request runs alone.
    if (rows !== -1 && r !== rows) return { key: `solo:${Math.random()}`, rows: 1 };
    rows = r;
    key += `${n}:${t.type}:${t.dims.slice(1).join('x')};`;
  }
  return { key, rows: Math.max(rows, 0) };
}

/** Takes the head request plus later compatible ones while the rows fit. Mutates `queue`. */
export function takeBatch<T extends { key: string; rows: number }>(
  queue: T[],
  maxBatch: number,
): T[] {
  const head = queue.shift();
  if (!head) return [];
  const batch = [head];
  let rows = head.rows;
  for (let i = 0; i < queue.length && rows < maxBatch;) {
    const q = queue[i]!;
    if (q.key === head.key && rows + q.rows <= maxBatch) {
      batch.push(q);
      rows += q.rows;
      queue.splice(i, 1);
    } else i++;
  }
  return batch;
}

/** Stacks the requests' inputs along dim 0. */
export function stackInputs(parts: TensorMap[]): TensorMap {
  const out: TensorMap = {};
  for (const name of Object.keys(parts[0] ?? {}))
    out[name] = concatRows(parts.map((p) => p[name]!));
  return out;
}

/** Splits batch outputs back per request; undefined when an output is not row-aligned. */
export function unstackOutputs(outputs: TensorMap, rows: number[]): TensorMap[] | undefined {
  const total = rows.reduce((a, b) => a + b, 0);
  const per: TensorMap[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== total) return undefined;
    splitRows(t, rows).forEach((piece, i) => (per[i]![name] = piece));
  }
  return per;
}

export class DynamicBatcher {
  private readonly queue: Queued[] = [];
  private inflight = 0;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly run: RunBatch,
    private readonly opts: BatcherOptions,
  ) {}

  /** queued requests, not counting those in flight */
  get depth(): number {
    return this.queue.length;
  }

  /** requests queued or in flight */
  get busy(): number {
    return this.queue.length + this.inflight;
  }

  submit(inputs: TensorMap): Promise<TensorMap> {
    const { key, rows } = this.opts.batching ? compatKey(inputs) : { key: `solo`, rows: 1 };
    return new Promise((resolve, reject) => {
      this.queue.push({
        inputs,
        rows,
        key,
        at: Date.now(),
        queuedAt: performance.now(),
        resolve,
        reject,
      });
      this.pump();
    });
  }

  /** Resolves once nothing is queued or running (draining an old generation). */
  idle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Fails everything still queued. */
  close(err: Error): void {
    clearTimeout(this.timer);
    for (const q of this.queue.splice(0)) q.reject(err);
    this.checkIdle();
  }

  private pump(): void {
    const maxInflight = this.opts.maxInflight ?? 1;
    while (this.inflight < maxInflight && this.queue.length > 0) {
      if (this.opts.batching && this.opts.maxDelayMs > 0 && this.inflight === 0) {
        const queuedRows = this.queue.reduce((a, q) => a + q.rows, 0);
        const waitMs = this.queue[0]!.at + this.opts.maxDelayMs - Date.now();
        if (queuedRows < this.opts.maxBatch && waitMs > 0) {
          this.timer ??= setTimeout(() => {
            this.timer = undefined;
            this.pump();
          }, waitMs);
          return;
        }
      }
      clearTimeout(this.timer);
      this.timer = undefined;
      const batch = this.opts.batching
        ? takeBatch(this.queue, this.opts.maxBatch)
        : [this.queue.shift()!];
      this.inflight++;
      void this.runBatch(batch).finally(() => {
        this.inflight--;
        this.pump();
        this.checkIdle();
      });
    }
  }

  private async runBatch(batch: Queued[]): Promise<void> {
    const rows = batch.map((q) => q.rows);
    this.opts.onBatch?.(
      rows.reduce((a, b) => a + b, 0),
      batch.length,
    );
    const t0 = performance.now();
    if (batch.length === 1) {
      const q = batch[0]!;
      await this.run(q.inputs).then((out) => {
        this.report(batch, rows[0]!, [t0, t0, performance.now(), performance.now()]);
        q.resolve(out);
      }, q.reject);
      return;
    }
    let per: TensorMap[] | undefined;
    try {
      const stacked = stackInputs(batch.map((q) => q.inputs));
      const t1 = performance.now();
      const out = await this.run(stacked);
      const t2 = performance.now();
      per = unstackOutputs(out, rows);
      if (per) {
        this.report(
          batch,
          rows.reduce((a, b) => a + b, 0),
          [t0, t1, t2, performance.now()],
        );
      }
    } catch (err) {
      // A dead process fails every request alike; anything else may be one request's fault.
      if (err instanceof AppError && err.status === 503) {
        for (const q of batch) q.reject(err);
        return;
      }
    }
    if (per) {
      batch.forEach((q, i) => q.resolve(per[i]!));
      return;
    }
    for (const q of batch) await this.run(q.inputs).then(q.resolve, q.reject);
  }

  /** `t`: run start, inputs stacked, model done, outputs split (performance.now() ms). */
  private report(batch: Queued[], rows: number, t: [number, number, number, number]): void {
    if (!this.opts.onRun) return;
    let queued = 0;
    for (const q of batch) queued += t[0] - q.queuedAt;
    const ns = (ms: number) => Math.round(ms * 1e6);
    this.opts.onRun({
      rows,
      requests: batch.length,
      queueNs: ns(queued),
      inputNs: ns(t[1] - t[0]),
      inferNs: ns(t[2] - t[1]),
      outputNs: ns(t[3] - t[2]),
    });
  }

  private checkIdle(): void {
    if (this.busy === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
