import type { Redis } from 'ioredis';
import type { Keys, Logger } from '../../../shared/index.js';
import type { RolloutController } from './controller.js';

/**
 * Drives the rollout controller on a clock: every `tickMs` it visits each model (a rollout's
 * own `stepIntervalS` decides when its gates are read). Passes never overlap; a pass that
 * waits on an absent event-handler delays the next one.
 */
export class RolloutLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly d: { redis: Redis; keys: Keys; log: Logger; controller: RolloutController },
    private readonly tickMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running || this.closed) return;
      this.running = this.pass().finally(() => (this.running = undefined));
    }, this.tickMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async pass(): Promise<void> {
    try {
      const models = await this.d.redis.smembers(this.d.keys.models());
      await this.d.controller.tick(models.sort());
    } catch (err) {
      if (!this.closed) this.d.log.warn({ err: String(err) }, 'rollout pass failed');
    }
  }
}
