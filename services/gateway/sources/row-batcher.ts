import type { SampleRow, SampleSink } from './sample-sink.js';

export interface RowBatcherOptions {
  sink: SampleSink;
  dataset: string;
  maxRows: number;
  maxDelayMs: number;
  /** after each stored batch */
  onAppended: (r: { rows: number; version: number; total: number }) => void;
  onError: (err: unknown, pending: number) => void;
  /** rows kept while the sink fails; older ones are dropped (and counted) past this @defaultValue 100000 */
  maxPending?: number;
}

/**
 * Groups rows into appends: at most maxRows per append, at most maxDelayMs after the first
 * row. One append in flight at a time, so versions follow arrival order. A failed append
 * keeps its rows and retries on the next flush.
 */
export class RowBatcher {
  private pending: SampleRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  dropped = 0;

  constructor(private readonly o: RowBatcherOptions) {}

  add(rows: SampleRow[]): void {
    this.pending.push(...rows);
    const max = this.o.maxPending ?? 100_000;
    if (this.pending.length > max) {
      this.dropped += this.pending.length - max;
      this.pending.splice(0, this.pending.length - max);
    }
    if (this.pending.length >= this.o.maxRows) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.o.maxDelayMs);
  }

  /** Appends everything pending; resolves when done (or when the sink failed). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.o.maxRows);
    let ok = true;
    this.flushing = this.o.sink
      .append(this.o.dataset, batch)
      .then((r) => this.o.onAppended({ rows: batch.length, ...r }))
      .catch((err: unknown) => {
        ok = false;
        this.pending.unshift(...batch);
        this.o.onError(err, this.pending.length);
      })
      .finally(() => (this.flushing = undefined));
    await this.flushing;
    if (ok && this.pending.length >= this.o.maxRows) return this.flush();
    // After a failure, wait at least a second before trying the sink again.
    const delay = ok ? this.o.maxDelayMs : Math.max(this.o.maxDelayMs, 1000);
    if (this.pending.length && !this.timer) this.timer = setTimeout(() => void this.flush(), delay);
  }

  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
