/**
 * Each served model's rollout state and version labels, as this replica knows them. Read
 * from Redis at start, again on every `{type: 'rollout', model}` control message (and on
 * `assignment`, which also follows a reconnect), and every refresh interval as a safety net
 * for a missed message. The generations a running rollout needs (challenger, shadows) and
 * those labels point at are kept loaded beside production, so no live request waits on a load.
 */
import type { Redis } from 'ioredis';
import {
  readLabels,
  readRollout,
  type Keys,
  type Logger,
  type RolloutState,
  type ServingControl,
} from '../../../shared/index.js';
import type { ModelSource } from '../hosting/model-source.js';

/** The part of a model host the views drive. */
export interface HeldGenerations {
  hold(owner: string, gens: number[]): Promise<void>;
}

export interface RolloutViewsOptions {
  redis: Redis;
  keys: Keys;
  log: Logger;
  source: ModelSource;
  /** the models served here now */
  models: () => string[];
  host: (model: string) => HeldGenerations | undefined;
  /** @defaultValue 5000 (ms) */
  refreshMs: number;
}

export interface ModelView {
  /** the rollout while it is running or paused; undefined otherwise */
  active: RolloutState | undefined;
  labels: Record<string, number>;
}

const EMPTY: ModelView = Object.freeze({ active: undefined, labels: Object.freeze({}) });

export class RolloutViews {
  private readonly views = new Map<string, ModelView>();
  private readonly chains = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly opts: RolloutViewsOptions) {}

  async start(): Promise<void> {
    this.unsubscribe = this.opts.source.onControl?.((msg) => this.onControl(msg));
    await this.opts.source.subscribed?.();
    await this.refreshAll();
    this.timer = setInterval(() => void this.refreshAll(), this.opts.refreshMs);
    this.timer.unref();
  }

  view(model: string): ModelView {
    return this.views.get(model) ?? EMPTY;
  }

  /** Re-reads one model (serialised per model, so an older read never lands last). */
  refresh(model: string): Promise<void> {
    const next = (this.chains.get(model) ?? Promise.resolve()).then(() => this.read(model));
    const tail = next.catch((err: unknown) =>
      this.opts.log.warn({ err, model }, 'rollout state not readable; keeping the last one'),
    );
    this.chains.set(model, tail);
    return tail;
  }

  async refreshAll(): Promise<void> {
    await Promise.all(this.opts.models().map((m) => this.refresh(m)));
  }

  close(): void {
    this.unsubscribe?.();
    clearInterval(this.timer);
  }

  private onControl(msg: ServingControl): void {
    if (msg.type === 'rollout') void this.refresh(msg.model);
    else if (msg.type === 'assignment') void this.refreshAll();
  }

  private async read(model: string): Promise<void> {
    const { redis, keys } = this.opts;
    const [state, labels] = await Promise.all([
      readRollout(redis, keys, model),
      readLabels(redis, keys, model),
    ]);
    const active =
      state && (state.status === 'running' || state.status === 'paused') ? state : undefined;
    this.views.set(model, { active, labels });
    const host = this.opts.host(model);
    if (!host) return;
    const rolling = active ? [active.challenger, ...active.shadows] : [];
    // Not awaited: a load may take a while, and the next read must not wait behind it.
    void host.hold('rollout', [...new Set(rolling)]);
    void host.hold('labels', [...new Set(Object.values(labels))]);
  }
}
