import type { Redis } from 'ioredis';
import {
  NotFound,
  type Keys,
  type Logger,
  type EventLog,
  type ModelRegistry,
  type SessionStore,
  type SessionState,
  type StoredEvent,
  type LiveConfig,
  getRules,
  watchRules,
  type StoredRules,
  effectiveRules,
  type EffectiveRules,
  EvaluatedPayload,
  type EvaluationJob,
} from '../../shared/index.js';
import { isStale } from './candidate-rules.js';
import type { DecisionSink } from './handler-client.js';
import type { RetrainTriggers } from './retrain-triggers.js';
import type { RolloutController } from './rollout/controller.js';
import { checkBudget, decide, type Decision, type ProductionView } from './rules-engine.js';
import { emptyView, observe, viewFromRecord, type SessionView } from './session-view.js';

export interface ListenerDeps {
  redis: Redis;
  keys: Keys;
  log: Logger;
  events: EventLog;
  sessions: Pick<SessionStore, 'get' | 'list'>;
  registry: Pick<ModelRegistry, 'getProduction'>;
  live: LiveConfig;
  sink: DecisionSink;
  retrain: Pick<
    RetrainTriggers,
    'start' | 'close' | 'onDatasetVersion' | 'syncSchedules' | 'checkOnlineAccuracy'
  >;
  /** queues the platform's evaluation of a candidate (idempotent per candidate and production) */
  evaluate: (job: EvaluationJob) => Promise<void>;
  /** stages an accepted candidate of a model that has production (docs/rollout.md) */
  rollouts?: Pick<RolloutController, 'start'>;
}

export interface ListenerOptions {
  /** how often running sessions are checked against their time budget (ms) @defaultValue 1000 */
  budgetCheckMs?: number;
  /** where a listener without a stored cursor starts @defaultValue 'latest' */
  startFrom?: 'latest' | 'beginning';
  /** pause before retrying an event whose handling failed (ms) @defaultValue 500 */
  retryMs?: number;
}

const LIVE_STATES: SessionState[] = ['queued', 'placing', 'starting', 'running'];
const REPLAY_PAGE = 1000;

/**
 * The policy loop: reads every archived event after its cursor, folds session events into
 * per-session views, runs the rules, sends the decisions, and only then moves the cursor
 * (kept in Redis): after a crash it resumes where it stopped, and the handler drops the
 * decisions it already has.
 */
export class Listener {
  private readonly views = new Map<string, SessionView>();
  private rules: StoredRules = {
    version: 0,
    doc: { retrain: [], perModel: {} },
    updatedAt: null,
    author: null,
  };
  private cursor = '0-0';
  private readonly abort = new AbortController();
  private chain: Promise<unknown> = Promise.resolve();
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private readonly budgetCheckMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly d: ListenerDeps,
    private readonly opts: ListenerOptions = {},
  ) {
    this.budgetCheckMs = opts.budgetCheckMs ?? 1000;
    this.retryMs = opts.retryMs ?? 500;
  }

  /** The rules version in force. */
  get rulesVersion(): number {
    return this.rules.version;
  }

  /** The id of the last event fully handled. */
  get position(): string {
    return this.cursor;
  }

  async start(): Promise<void> {
    this.rules = await getRules(this.d.live);
    await this.d.retrain.syncSchedules(this.rules.doc.retrain);
    this.unwatch = watchRules(this.d.live, this.d.log, (r) => {
      if (r.version === this.rules.version) return;
      this.rules = r;
      this.d.log.info({ version: r.version }, 'rules changed');
      void this.serial(() => this.d.retrain.syncSchedules(r.doc.retrain)).catch((err: unknown) =>
        this.d.log.error({ err: String(err) }, 'retrain schedules not synced'),
      );
    });
    this.cursor = await this.initialCursor();
    await this.rebuild();
    this.d.retrain.start();
    this.loop = this.run();
    this.timer = setInterval(() => {
      void this.serial(() => this.tick()).catch((err: unknown) =>
        this.d.log.warn({ err: String(err) }, 'budget check failed'),
      );
    }, this.budgetCheckMs);
    this.d.log.info({ cursor: this.cursor, rules: this.rules.version }, 'event-listener started');
  }

  async close(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    this.unwatch?.();
    // A decision being resent to an absent handler would otherwise hold the loop open.
    await this.d.sink.close?.();
    await this.loop;
    await this.chain.catch(() => {});
    await this.d.retrain.close();
  }

  private rulesFor = (model: string | undefined): EffectiveRules =>
    effectiveRules(this.rules.doc, model);

  /** The rules in force for one model. */
  rulesOf(model: string): EffectiveRules {
    return this.rulesFor(model);
  }

  private async initialCursor(): Promise<string> {
    const stored = await this.d.redis.get(this.d.keys.listenerCursor());
    if (stored) return stored;
    if (this.opts.startFrom === 'beginning') return '0-0';
    const last = (await this.d.redis.xrevrange(this.d.keys.events(), '+', '-', 'COUNT', 1)) as [
      string,
      string[],
    ][];
    const id = last[0]?.[0] ?? '0-0';
    await this.d.redis.set(this.d.keys.listenerCursor(), id);
    return id;
  }

  /** Views of the live sessions, replayed from the archive up to the cursor (no decisions). */
  private async rebuild(): Promise<void> {
    if (this.cursor === '0-0') return;
    const live = new Map<string, number>();
    for (const state of LIVE_STATES) {
      const { items } = await this.d.sessions.list({ state, limit: 10_000 });
      for (const s of items) live.set(s.id, Date.parse(s.created));
    }
    if (live.size === 0) return;
    let from = `${Math.max(0, Math.min(...live.values()) - 1000)}-0`;
    for (;;) {
      const page = await this.d.events.range({ from, to: this.cursor, count: REPLAY_PAGE });
      for (const e of page) {
        if (e.sessionId === undefined || !live.has(e.sessionId)) continue;
        this.views.set(
          e.sessionId,
          observe(this.views.get(e.sessionId) ?? emptyView(e.sessionId), e),
        );
      }
      if (page.length < REPLAY_PAGE) break;
      from = `(${page[page.length - 1]!.id}`;
    }
    this.d.log.info({ sessions: this.views.size }, 'session views rebuilt');
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        for await (const e of this.d.events.tail(this.cursor, signal)) {
          await this.serial(() => this.process(e));
        }
      } catch (err) {
        if (signal.aborted) return;
        this.d.log.warn({ err: String(err) }, 'event tail broke; resuming');
        await this.pause();
      }
    }
  }

  /** Handles one event until it succeeds (or we close), then moves the cursor past it. */
  private async process(e: StoredEvent): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.handle(e);
        await this.d.redis.set(this.d.keys.listenerCursor(), e.id);
        this.cursor = e.id;
        return;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.d.log.warn(
          { err: String(err), eventId: e.id, kind: e.kind },
          'event failed; retrying',
        );
        await this.pause();
      }
    }
  }

  private async handle(e: StoredEvent): Promise<void> {
    if (e.kind === 'dataset.version') {
      await this.d.retrain.onDatasetVersion(e, this.rules.doc.retrain);
      return;
    }
    // Usually after its session has ended: no view is made for it (see onEvaluated).
    if (e.kind === 'generation.evaluated') {
      await this.onEvaluated(e);
      return;
    }
    let view: SessionView | null = null;
    if (e.sessionId !== undefined) {
      view = observe(await this.viewOf(e.sessionId, e.kind), e);
      this.views.set(e.sessionId, view);
    }
    if (e.kind !== 'decision') {
      const decisions = decide(view, e, this.rulesFor, null);
      await this.send(decisions);
      if (e.kind === 'generation.candidate' && decisions.length === 0) await this.onCandidate(e);
    }
    // A decision archived after its session ended (the candidate's, say) leaves no view behind.
    if (view?.finished) this.views.delete(view.sessionId);
  }

  /**
   * A candidate is decided on what the platform measures, not on what it reports: queue its
   * evaluation, with production run on the same rows.
   */
  private async onCandidate(e: StoredEvent): Promise<void> {
    const p = e.payload as { model?: unknown; gen?: unknown } | null;
    if (typeof p?.model !== 'string' || typeof p.gen !== 'number') return;
    const production = await this.production(p.model);
    if (production?.gen === p.gen) return;
    await this.requestEvaluation(p.model, p.gen, production?.gen ?? null, e.sessionId);
  }

  private async onEvaluated(e: StoredEvent): Promise<void> {
    const parsed = EvaluatedPayload.safeParse(e.payload);
    if (!parsed.success) {
      this.d.log.warn(
        { eventId: e.id, err: parsed.error.message },
        'malformed generation.evaluated',
      );
      return;
    }
    const p = parsed.data;
    const production = await this.production(p.model);
    // Production changed since the evaluation was queued: compare with the one in force.
    if (isStale(p, production?.gen ?? null)) {
      await this.requestEvaluation(p.model, p.gen, production?.gen ?? null, e.sessionId);
      return;
    }
    // Only a view already in memory: one rebuilt from a finished session's record would linger.
    const view = e.sessionId === undefined ? null : (this.views.get(e.sessionId) ?? null);
    for (const d of decide(view, e, this.rulesFor, production)) {
      // With production live, an accepted candidate becomes its challenger unless the
      // model's rollout policy is `direct`; the rollout promotes it or rolls it back later.
      const staged =
        production !== null &&
        d.decision.action === 'accept' &&
        this.d.rollouts !== undefined &&
        (await this.d.rollouts.start(d, production.gen));
      if (!staged) await this.send([d]);
    }
  }

  private async requestEvaluation(
    model: string,
    gen: number,
    against: number | null,
    sessionId: string | undefined,
  ): Promise<void> {
    await this.d.evaluate({ model, gen, against, ...(sessionId ? { sessionId } : {}) });
    this.d.log.info({ model, gen, against }, 'evaluation queued');
  }

  private async viewOf(sessionId: string, kind: string): Promise<SessionView> {
    const known = this.views.get(sessionId);
    if (known) return known;
    if (kind === 'session.queued') return emptyView(sessionId);
    // First seen mid-way (it started before this listener's cursor): its record knows the
    // model, budget and start time.
    try {
      return viewFromRecord(sessionId, await this.d.sessions.get(sessionId));
    } catch (err) {
      if (err instanceof NotFound) return emptyView(sessionId);
      throw err;
    }
  }

  private async production(model: string): Promise<ProductionView | null> {
    try {
      const g = await this.d.registry.getProduction(model);
      return g ? { gen: g.gen } : null;
    } catch (err) {
      if (err instanceof NotFound) return null;
      throw err;
    }
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    for (const view of this.views.values()) {
      await this.send(checkBudget(view, now, this.rulesFor(view.model)));
    }
    await this.d.retrain.checkOnlineAccuracy(this.rules.doc.retrain);
  }

  private async send(decisions: Decision[]): Promise<void> {
    for (const d of decisions) {
      await this.d.sink.send(d);
      this.d.log.info(
        { sessionId: d.sessionId, causeId: d.causeId, ...d.decision },
        `decision: ${d.decision.action}`,
      );
      const view = d.sessionId === undefined ? undefined : this.views.get(d.sessionId);
      if (view && d.decision.action === 'stop') view.stopDecided = true;
    }
  }

  /** Event handling, clock ticks and schedule syncs run one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }

  private pause(): Promise<void> {
    return new Promise((r) => setTimeout(r, this.retryMs));
  }
}
