import { Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  DeadReplayRequest,
  QUEUES,
  type DeadDelivery,
  type DeliveryJob,
  type Keys,
  type Logger,
  type Prediction,
  type LiveConfig,
  safeReport,
  type Report,
} from '../../../shared/index.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import { ChannelSenders, type WsTopicPublisher } from './channels/senders.js';
import { countDead, dropDead, listDead, replayDead } from './dead-letter.js';
import { DeliveryConfig } from './delivery-document.js';
import { DeliveryWorker } from './delivery-worker.js';
import { Dispatcher } from './dispatcher.js';
import { jobOptions } from './job-options.js';

interface ModelSet {
  all: boolean;
  names: Set<string>;
}

export interface DeliveryServiceOptions {
  /** a normal client: queues (producer side) and dead-letter reads */
  redis: Redis;
  keys: Keys;
  live: LiveConfig;
  log?: Logger;
  report?: Report;
  plugins?: PluginHost;
  ws?: WsTopicPublisher;
  /** run the deliveries consumer in this process @defaultValue true */
  worker?: boolean;
  /** @defaultValue 32 */
  concurrency?: number;
  /** MQTT client id base, stable and unique per process (e.g. `swarmml-<hostname>`) */
  mqttClientIdBase: string;
  onDelivered?: (job: DeliveryJob) => void;
  random?: () => number;
}

/**
 * The delivery half of the gateway: follows the live `delivery` document,
 * turns predictions into queued deliveries, runs the consumer, and exposes the dead-letter
 * queue. `publish` is what the inference routes call; the rest backs /api/v1 routes.
 */
export class DeliveryService {
  readonly deliveries: Queue;
  readonly dead: Queue;
  private readonly dispatcher: Dispatcher;
  private readonly senders: ChannelSenders;
  private worker: DeliveryWorker | undefined;
  private workerConn: Redis | undefined;
  private readonly report: Report;
  private version = 0;
  private wanted: ModelSet = { all: false, names: new Set() };
  private readonly unwatch: (() => void)[] = [];

  constructor(private readonly opts: DeliveryServiceOptions) {
    const prefix = opts.keys.bullPrefix();
    this.report = safeReport(opts.report);
    this.deliveries = new Queue(QUEUES.deliveries, { connection: opts.redis, prefix });
    this.dead = new Queue(QUEUES.deliveriesDead, { connection: opts.redis, prefix });
    for (const q of [this.deliveries, this.dead]) {
      q.on('error', (err) => opts.log?.warn({ err: err.message, queue: q.name }, 'queue error'));
    }
    this.dispatcher = new Dispatcher({
      deliveries: this.deliveries,
      ...(opts.plugins ? { plugins: opts.plugins } : {}),
      report: this.report,
      ...(opts.random ? { random: opts.random } : {}),
    });
    this.senders = new ChannelSenders({
      mqttClientIdBase: opts.mqttClientIdBase,
      ...(opts.ws ? { ws: opts.ws } : {}),
    });
  }

  /** Registers the config watchers; call before `live.start()` (or after: both work). */
  async start(): Promise<void> {
    this.unwatch.push(
      this.opts.live.watch('delivery', (v) => {
        const d = DeliveryConfig.safeParse(v.doc ?? { channels: {}, formatters: {} });
        if (!d.success)
          return this.opts.log?.error({ version: v.version }, 'stored delivery invalid');
        const { rules, ...rest } = d.data;
        this.dispatcher.apply({ rules }, rest);
        this.version = v.version;
        const live = rules.filter((r) => r.enabled);
        this.wanted = {
          all: live.some((r) => r.model === '*'),
          names: new Set(live.map((r) => r.model)),
        };
      }),
    );
    if (this.opts.worker !== false) {
      this.workerConn = this.opts.redis.duplicate({ maxRetriesPerRequest: null });
      this.workerConn.on('error', (err: Error) =>
        this.opts.log?.warn({ err: err.message }, 'worker redis'),
      );
      this.worker = new DeliveryWorker({
        connection: this.workerConn,
        prefix: this.opts.keys.bullPrefix(),
        dead: this.dead,
        deliveries: this.deliveries,
        channel: (id) => this.dispatcher.channel(id),
        senders: this.senders,
        report: this.report,
        ...(this.opts.log ? { log: this.opts.log } : {}),
        ...(this.opts.concurrency ? { concurrency: this.opts.concurrency } : {}),
        ...(this.opts.onDelivered ? { onDelivered: this.opts.onDelivered } : {}),
      });
      await this.worker.start();
    }
  }

  /** The `delivery` config version this process applies now (tests and status use it). */
  applied(): { delivery: number } {
    return { delivery: this.version };
  }

  /** Whether some enabled rule names this model (or every model): predictions of others are not captured. */
  wants(model: string): boolean {
    return this.wanted.all || this.wanted.names.has(model);
  }

  /** Jobs waiting, in flight, delayed for a retry, and dead. */
  async counts(): Promise<Record<'waiting' | 'active' | 'delayed' | 'failed' | 'dead', number>> {
    const c = await this.deliveries.getJobCounts('waiting', 'active', 'delayed', 'failed');
    return {
      waiting: c.waiting ?? 0,
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      failed: c.failed ?? 0,
      dead: await this.countDead(),
    };
  }

  /** Called by the inference routes after a prediction; resolves once the jobs are stored. */
  publish(p: Prediction | Prediction[]): Promise<{ queued: number }> {
    return this.dispatcher.publish(p);
  }

  listDead(start = 0, end = 99): Promise<DeadDelivery[]> {
    return listDead(this.dead, start, end);
  }

  countDead(): Promise<number> {
    return countDead(this.dead);
  }

  /** POST /api/v1/deliveries/dead/replay with `{ids}` or `{all: true}`. */
  async replayDead(body: unknown): Promise<{ replayed: string[]; missing: string[] }> {
    const sel = DeadReplayRequest.parse(body);
    const optionsFor = (job: DeliveryJob): JobsOptions =>
      jobOptions(this.dispatcher.channel(job.channel));
    const res = await replayDead(this.dead, this.deliveries, sel, optionsFor);
    if (res.replayed.length) this.report({ type: 'delivery.replayed', ids: res.replayed });
    return res;
  }

  /** POST /api/v1/deliveries/dead/drop with `{ids}` or `{all: true}`: gone, not sent. */
  async dropDead(body: unknown): Promise<{ dropped: string[]; missing: string[] }> {
    const res = await dropDead(this.dead, DeadReplayRequest.parse(body));
    if (res.dropped.length) this.report({ type: 'delivery.dropped', ids: res.dropped });
    return res;
  }

  /** Shutdown order: consumer, then broker links, then queues. */
  async close(): Promise<void> {
    for (const u of this.unwatch.splice(0)) u();
    await this.worker?.close();
    await this.senders.close();
    await Promise.all([this.deliveries.close(), this.dead.close()]);
    await this.workerConn?.quit().catch(() => this.workerConn?.disconnect());
  }
}
