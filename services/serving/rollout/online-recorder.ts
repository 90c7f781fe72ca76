/**
 * Online counters per generation (`Keys.modelGenOnline`) and prediction records
 * (`Keys.prediction`), buffered in memory and written in one pipeline every flush interval,
 * so a request never waits on Redis and Redis sees a few commands per interval, not per
 * request. The counters are cumulative; readers take deltas.
 */
import type { Redis } from 'ioredis';
import {
  LATENCY_BUCKETS_MS,
  type Keys,
  type Logger,
  type OnlineField,
  type PredictionRecord,
} from '../../../shared/index.js';

export interface RecorderOptions {
  redis: Redis;
  keys: Keys;
  log: Logger;
  /** @defaultValue 200 (ms) */
  flushMs: number;
  /** how long a prediction record is kept for ground truth to join @defaultValue 7 days */
  predictionTtlS: number;
}

/** The histogram field a latency falls in (`lat:<upper ms>`, `lat:+Inf` past the last). */
export function latencyField(ms: number): `lat:${string}` {
  for (const b of LATENCY_BUCKETS_MS) if (ms <= b) return `lat:${b}`;
  return 'lat:+Inf';
}

export class OnlineRecorder {
  /** `model\0gen` → field → increment */
  private counts = new Map<string, Map<string, number>>();
  private records: [id: string, rec: PredictionRecord][] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RecorderOptions) {
    this.timer = setInterval(() => void this.flush(), opts.flushMs);
    this.timer.unref();
  }

  /** `field`: an OnlineField or a `lat:<ms>` bucket */
  add(model: string, gen: number, field: OnlineField | `lat:${string}`, by = 1): void {
    const k = `${model}\u0000${gen}`;
    let m = this.counts.get(k);
    if (!m) this.counts.set(k, (m = new Map<string, number>()));
    m.set(field, (m.get(field) ?? 0) + by);
  }

  /** One answered request of `gen`: counted, timed, and an error if it failed. */
  request(model: string, gen: number, ms: number, ok: boolean): void {
    this.add(model, gen, 'requests');
    if (!ok) this.add(model, gen, 'errors');
    this.add(model, gen, 'latencyMsSum', ms);
    this.add(model, gen, latencyField(ms));
  }

  prediction(id: string, rec: PredictionRecord): void {
    this.records.push([id, rec]);
  }

  /** Writes what is buffered; flushes run one at a time, in order. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.counts.size === 0 && this.records.length === 0) return;
    const counts = this.counts;
    const records = this.records;
    this.counts = new Map<string, Map<string, number>>();
    this.records = [];
    const { redis, keys } = this.opts;
    const p = redis.pipeline();
    for (const [k, fields] of counts) {
      const sep = k.lastIndexOf('\u0000');
      const key = keys.modelGenOnline(k.slice(0, sep), Number(k.slice(sep + 1)));
      for (const [f, by] of fields) {
        if (Number.isInteger(by)) p.hincrby(key, f, by);
        else p.hincrbyfloat(key, f, by);
      }
    }
    for (const [id, rec] of records) {
      p.set(keys.prediction(id), JSON.stringify(rec), 'EX', this.opts.predictionTtlS);
    }
    try {
      const results = (await p.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0] as Error;
    } catch (err) {
      // Counters are telemetry: losing one interval's worth beats growing without bound.
      this.opts.log.warn(
        { err, counters: counts.size, predictions: records.length },
        'online counters not written',
      );
    }
  }
}
