import {
  EventFanout,
  type Logger,
  type ServingStats,
  type StoredEvent,
  type Subscriber,
} from '../../../shared/index.js';

/** Where live-only events go: who listens to a topic, and a way to reach them. */
export interface LiveTopics {
  /** subscribers currently holding `topic` */
  count(topic: string): number;
  /** sends an event that is never archived to the subscribers of `topic` */
  publish(topic: string, event: StoredEvent): void;
}

/**
 * The archive fan-out plus live-only events. Serving figures change every second; archiving
 * them would flood the event stream, so they reach WebSocket subscribers and nothing else.
 */
export class LiveFanout extends EventFanout implements LiveTopics {
  private readonly live = new Set<Subscriber>();

  override async subscribe(s: Subscriber, since?: string): Promise<void> {
    this.live.add(s);
    await super.subscribe(s, since);
  }

  override unsubscribe(s: Subscriber): void {
    this.live.delete(s);
    super.unsubscribe(s);
  }

  count(topic: string): number {
    let n = 0;
    for (const s of this.live) if (s.topics.has(topic)) n++;
    return n;
  }

  publish(topic: string, event: StoredEvent): void {
    for (const s of this.live) if (s.topics.has(topic)) s.send(topic, event);
  }
}

export interface SamplerOptions {
  live: LiveTopics;
  read(): Promise<ServingStats>;
  log: Logger;
  /** @defaultValue 1000 */
  intervalMs?: number;
}

/** The topic serving figures are pushed on; the event kind is `serving.stats`. */
export const METRICS_TOPIC = 'metrics';

/**
 * Reads serving figures once a second while anyone subscribes to `metrics`, and pushes each
 * reading as a `serving.stats` event (id `live-<n>`: not a stream id, so never a resume point).
 */
export class ServingStatsSampler {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private seq = 0;

  constructor(private readonly o: SamplerOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs ?? 1_000);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    // A slow replica must not stack readings up behind it.
    if (this.busy || this.o.live.count(METRICS_TOPIC) === 0) return;
    this.busy = true;
    try {
      const stats = await this.o.read();
      this.o.live.publish(METRICS_TOPIC, {
        id: `live-${++this.seq}`,
        kind: 'serving.stats',
        payload: stats,
        time: stats.time,
      });
    } catch (err) {
      this.o.log.warn({ err }, 'serving stats sample failed');
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
