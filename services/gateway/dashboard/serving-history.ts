import type { Redis } from 'ioredis';
import type { Keys, Logger, ServingStats } from '../../../shared/index.js';

/** One stored reading of a model's serving figures (t: unix ms). */
export interface ServingSample {
  t: number;
  requests: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  batchAvg: number | null;
}

export interface ServingHistoryOptions {
  redis: Redis;
  keys: Keys;
  log: Logger;
  read(): Promise<ServingStats>;
  /** whether there is any replica to read (no replicas: no sampling) */
  active(): boolean;
  /** @defaultValue 5000 */
  intervalMs?: number;
  /** samples kept per model @defaultValue 720 (an hour at 5 s) */
  cap?: number;
}

/**
 * A short serving time series per model in Redis (a capped list, newest first), sampled every
 * few seconds, so the Serving page's charts survive a reload. Several gateways each add their
 * own readings; the page orders them by time.
 */
export class ServingHistory {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly cap: number;

  constructor(private readonly o: ServingHistoryOptions) {
    this.cap = o.cap ?? 720;
  }

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.o.intervalMs ?? 5_000);
    this.timer.unref();
  }

  /** Takes one reading now (tests call it; the timer calls it every interval). */
  async sample(): Promise<void> {
    if (this.busy || !this.o.active()) return;
    this.busy = true;
    try {
      const s = await this.o.read();
      const t = Date.parse(s.time);
      const pipe = this.o.redis.pipeline();
      for (const m of s.models) {
        const key = this.o.keys.servingHistory(m.model);
        const sample: ServingSample = {
          t,
          requests: m.requests,
          errors: m.errors,
          p50Ms: m.p50Ms,
          p99Ms: m.p99Ms,
          batchAvg: m.batchAvg,
        };
        pipe.lpush(key, JSON.stringify(sample)).ltrim(key, 0, this.cap - 1);
        pipe.pexpire(key, 24 * 3600 * 1000);
      }
      await pipe.exec();
    } catch (err) {
      this.o.log.warn({ err }, 'serving history sample failed');
    } finally {
      this.busy = false;
    }
  }

  /** Every model's stored samples, oldest first. */
  async read(models: string[]): Promise<Record<string, ServingSample[]>> {
    const pipe = this.o.redis.pipeline();
    for (const m of models) pipe.lrange(this.o.keys.servingHistory(m), 0, -1);
    const res = (await pipe.exec()) ?? [];
    const out: Record<string, ServingSample[]> = {};
    models.forEach((m, i) => {
      const rows = (res[i]?.[1] as string[] | undefined) ?? [];
      if (rows.length === 0) return;
      out[m] = rows
        .map((r) => {
          try {
            return JSON.parse(r) as ServingSample;
          } catch {
            return null;
          }
        })
        .filter((x): x is ServingSample => x !== null)
        .sort((a, b) => a.t - b.t);
    });
    return out;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
