/**
 * ModelSource over the Redis model registry. Promotions arrive on the registry's pub/sub
 * channel; after a reconnect (messages may have been missed) every model's production is
 * re-read and reported, which the hosts treat as a no-op when nothing changed.
 */
import type { Redis } from 'ioredis';
import type { Keys, Logger, ModelEvent, ModelRegistry } from '../../shared/index.js';
import type { ModelSource } from './model-source.js';

type Listener = (name: string, gen: number) => void;

export class RegistrySource implements ModelSource {
  private readonly listeners = new Set<Listener>();
  private subscribed = false;
  private readies = 0;

  /** `subscriber` must be a connection of its own: it enters subscriber mode. */
  constructor(
    private readonly registry: ModelRegistry,
    private readonly subscriber: Redis,
    private readonly keys: Keys,
    private readonly log: Logger,
  ) {}

  async production(name: string) {
    const g = await this.registry.getProduction(name);
    return g ? { gen: g.gen } : null;
  }

  weights(name: string, gen: number): Promise<Buffer> {
    return this.registry.getWeights(name, gen);
  }

  async list(): Promise<string[]> {
    return (await this.registry.listModels()).map((m) => m.name);
  }

  async generations(name: string): Promise<number[]> {
    return (await this.registry.listGenerations(name)).map((g) => g.gen);
  }

  onPromotion(cb: Listener): () => void {
    this.listeners.add(cb);
    if (!this.subscribed) this.subscribe();
    return () => this.listeners.delete(cb);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  private subscribe(): void {
    this.subscribed = true;
    const channel = this.keys.modelEventsChannel();
    this.subscriber.on('message', (ch: string, text: string) => {
      if (ch !== channel) return;
      let ev: ModelEvent;
      try {
        ev = JSON.parse(text) as ModelEvent;
      } catch {
        this.log.warn({ text }, 'unparseable model event');
        return;
      }
      if (ev.status === 'production') this.emit(ev.model, ev.gen);
    });
    this.subscriber.on('ready', () => {
      if (this.readies++ > 0) void this.resync();
    });
    this.subscriber
      .subscribe(channel)
      .catch((err: unknown) => this.log.error({ err }, 'subscribe failed'));
  }

  private emit(name: string, gen: number): void {
    for (const l of this.listeners) l(name, gen);
  }

  private async resync(): Promise<void> {
    try {
      for (const m of await this.registry.listModels())
        if (m.production !== null) this.emit(m.name, m.production);
    } catch (err) {
      this.log.warn({ err }, 'resync after reconnect failed');
    }
  }
}
