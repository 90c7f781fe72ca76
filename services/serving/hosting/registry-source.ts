/**
 * ModelSource over the Redis model registry. Promotions arrive on the registry's pub/sub
 * channel, assignment changes and accepted optimisations on the serving channel; after a
 * reconnect (messages may have been missed) every model's production is re-read and
 * reported and the assignment re-announced, which replicas treat as no-ops when nothing
 * changed.
 */
import type { Redis } from 'ioredis';
import {
  KeptSubscriptions,
  type Keys,
  type Logger,
  type ModelEvent,
  type ModelRegistry,
  readAssignment,
  readVersionFacts,
  type ServingControl,
} from '../../../shared/index.js';
import type { ModelSource } from './model-source.js';
import type { SessionChoice } from './protocol.js';
import { VersionGate } from './version-gate.js';

type Listener = (name: string, gen: number) => void;
type ControlListener = (msg: ServingControl) => void;

export interface RegistrySourceOptions {
  /**
   * A command connection: with it the source reads the assignment and serves a generation's
   * optimised weights when an accepted optimisation stored them.
   */
  redis?: Redis;
  /** serve optimised weights when present @defaultValue true */
  serveOptimized?: boolean;
}

export class RegistrySource implements ModelSource {
  private readonly listeners = new Set<Listener>();
  private readonly controls = new Set<ControlListener>();
  /** the pub/sub subscription, once asked for */
  private subscribing: Promise<void> | undefined;
  private readies = 0;
  /** the version policy, when there is a command connection to read it with */
  private readonly gate: VersionGate | undefined;

  /** `subscriber` must be a connection of its own: it enters subscriber mode. */
  constructor(
    private readonly registry: ModelRegistry,
    private readonly subscriber: Redis,
    private readonly keys: Keys,
    private readonly log: Logger,
    private readonly opts: RegistrySourceOptions = {},
  ) {
    const redis = opts.redis;
    this.gate = redis
      ? new VersionGate((model) => readVersionFacts(redis, keys, registry, model, log))
      : undefined;
  }

  async checkVersion(name: string, gen: number): Promise<void> {
    await this.gate?.check(name, gen);
  }

  async loadedGenerations(name: string): Promise<number[]> {
    return (await this.gate?.loaded(name)) ?? [];
  }

  async production(name: string) {
    const g = await this.registry.getProduction(name);
    return g ? { gen: g.gen } : null;
  }

  async weights(name: string, gen: number): Promise<Buffer> {
    const redis = this.opts.redis;
    if (redis && this.opts.serveOptimized !== false) {
      const optimized = await redis.getBuffer(this.keys.modelGenOptimized(name, gen));
      if (optimized) return optimized;
    }
    return this.registry.getWeights(name, gen);
  }

  async list(): Promise<string[]> {
    return (await this.registry.listModels()).map((m) => m.name);
  }

  async generations(name: string): Promise<number[]> {
    return (await this.registry.listGenerations(name)).map((g) => g.gen);
  }

  /** `io.labelNames` of the generation, as the trainer registered it. */
  async labels(name: string, gen: number): Promise<readonly string[] | null> {
    const io = (await this.registry.getGeneration(name, gen)).io as
      { labelNames?: unknown } | undefined;
    const names = io?.labelNames;
    return Array.isArray(names) && names.every((n) => typeof n === 'string') ? names : null;
  }

  /** Adds `servingSession` (JSON) to the generation's hash; the last replica to load it wins. */
  async recordSession(name: string, gen: number, choice: SessionChoice): Promise<void> {
    await this.opts.redis?.hset(
      this.keys.modelGen(name, gen),
      'servingSession',
      JSON.stringify(choice),
    );
  }

  async assignment(): Promise<'*' | string[]> {
    return this.opts.redis ? readAssignment(this.opts.redis, this.keys) : '*';
  }

  onPromotion(cb: Listener): () => void {
    this.listeners.add(cb);
    if (!this.subscribing) this.subscribe();
    return () => this.listeners.delete(cb);
  }

  onControl(cb: ControlListener): () => void {
    this.controls.add(cb);
    if (!this.subscribing) this.subscribe();
    return () => this.controls.delete(cb);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.controls.clear();
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  private subscribe(): void {
    const models = this.keys.modelEventsChannel();
    const serving = this.keys.servingChannel();
    this.subscriber.on('message', (ch: string, text: string) => {
      if (ch !== models && ch !== serving) return;
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch {
        this.log.warn({ text, channel: ch }, 'unparseable pub/sub message');
        return;
      }
      // What the version gate read may have changed: forget it before anyone acts on it.
      const model = (msg as { model?: unknown }).model;
      if (typeof model === 'string') this.gate?.invalidate(model);
      if (ch === serving) {
        for (const l of this.controls) l(msg as ServingControl);
        return;
      }
      const ev = msg as ModelEvent;
      if (ev.status === 'production') this.emit(ev.model, ev.gen);
    });
    // Subscribed again before the resync reads the registry: a promotion in between is
    // then heard, not lost (the listeners run in the order they were added).
    const kept = new KeptSubscriptions(this.subscriber, (err) =>
      this.log.warn({ err }, 'resubscribe after reconnect failed'),
    );
    this.subscriber.on('ready', () => {
      if (this.readies++ > 0) void this.resync();
    });
    this.subscribing = kept.add(models, serving).then(
      () => undefined,
      (err: unknown) => this.log.error({ err }, 'subscribe failed'),
    );
  }

  async subscribed(): Promise<void> {
    await this.subscribing;
  }

  private emit(name: string, gen: number): void {
    for (const l of this.listeners) l(name, gen);
  }

  private async resync(): Promise<void> {
    this.gate?.invalidate();
    try {
      for (const l of this.controls) l({ type: 'assignment' });
      for (const m of await this.registry.listModels())
        if (m.production !== null) this.emit(m.name, m.production);
    } catch (err) {
      this.log.warn({ err }, 'resync after reconnect failed');
    }
  }
}
