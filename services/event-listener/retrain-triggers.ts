import { createHash } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import {
  NotFound,
  type Keys,
  type Logger,
  QUEUES,
  type CreateSessionInput,
  type DatasetStore,
  type Generation,
  type ModelRegistry,
  type StoredEvent,
} from '../../shared/index.js';
import { enqueueSession, parseSessionRequest, type EnqueueDeps } from '../../shared/index.js';
import { RetrainRule } from '../../shared/index.js';

/** `dataset.version` payload; `count` is the version's total of labelled samples. */
const DatasetVersionPayload = z.object({
  name: z.string(),
  version: z.number().int().min(1),
  count: z.number().int().min(0),
  added: z.number().int().optional(),
});

/**
 * The sample count a model was last trained at, for the dataset: the count of the dataset
 * version its production generation was trained on; null when unknown.
 */
export type Baseline = (model: string, dataset: string) => Promise<number | null>;

export function lineageBaseline(
  registry: Pick<ModelRegistry, 'getProduction'>,
  datasets: Pick<DatasetStore, 'getVersion'>,
): Baseline {
  return async (model, dataset) => {
    try {
      const prod = await registry.getProduction(model);
      if (!prod?.lineage || prod.lineage.dataset !== dataset) return null;
      return (await datasets.getVersion(dataset, prod.lineage.version)).count;
    } catch (err) {
      if (err instanceof NotFound) return null;
      throw err;
    }
  };
}

export interface RetrainDeps {
  redis: Redis;
  keys: Keys;
  log: Logger;
  enqueue: EnqueueDeps;
  baseline: Baseline;
  /** connection for the cron queue and worker (BullMQ needs maxRetriesPerRequest: null) */
  connection: ConnectionOptions;
  /** the model's production generation, for the online accuracy rules */
  production?: (model: string) => Promise<Pick<Generation, 'gen' | 'evaluation'> | null>;
}

/** Why a retraining session was queued; recorded on the session and in `retrain.triggered`. */
export interface Trigger {
  rule: RetrainRule;
  trigger: string;
  /** dataset ref for the session: pinned to the version that triggered it, if any */
  datasetRef: string;
  /** deterministic, so a replayed event or a retried job queues nothing twice */
  sessionId: string;
  details: Record<string, unknown>;
}

/**
 * Retraining: "N new labelled samples" (from `dataset.version` events) and "on a schedule"
 * (BullMQ job schedulers on `QUEUES.retrain`, one per cron rule).
 */
export class RetrainTriggers {
  private readonly queue: Queue;
  private worker: Worker | undefined;

  constructor(private readonly deps: RetrainDeps) {
    this.queue = new Queue(QUEUES.retrain, {
      connection: deps.connection,
      prefix: deps.keys.bullPrefix(),
    });
    this.queue.on('error', (err) => deps.log.warn({ err: err.message }, 'retrain queue error'));
  }

  /** Starts turning cron firings into sessions. */
  start(): void {
    this.worker = new Worker(QUEUES.retrain, (job) => this.fire(job.id ?? '', job.data), {
      connection: this.deps.connection,
      prefix: this.deps.keys.bullPrefix(),
      concurrency: 1,
    });
    this.worker.on('error', (err) => this.deps.log.warn({ err: err.message }, 'retrain worker'));
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }

  /**
   * Counts a dataset's growth against each samples rule on it; queues a session when a
   * model's count since it was last trained (or since the rule first saw the dataset)
   * reaches the rule's N. Idempotent for a replayed event.
   */
  async onDatasetVersion(event: StoredEvent, rules: RetrainRule[]): Promise<Trigger[]> {
    const parsed = DatasetVersionPayload.safeParse(event.payload);
    if (!parsed.success) {
      this.deps.log.warn({ eventId: event.id }, 'dataset.version event without name/version/count');
      return [];
    }
    const p = parsed.data;
    const fired: Trigger[] = [];
    for (const rule of rules) {
      if (rule.dataset !== p.name || rule.newSamples === undefined) continue;
      const t = await this.countSamples(rule, rule.newSamples, p);
      if (t) fired.push(t);
    }
    return fired;
  }

  /**
   * The online accuracy rules: the production generation's ground-truth counters
   * (`Keys.modelGenOnline`) are read in windows of at least `minFeedback` labels; a window
   * whose accuracy is below `onlineAccuracyBelow`, or below the accuracy measured on held-out
   * rows by more than `onlineAccuracyDrop`, queues one session on the dataset's latest
   * version. Each window is judged once (its end is kept in Redis), so a restart or a second
   * listener does not queue it twice: the session id names the window.
   */
  async checkOnlineAccuracy(rules: RetrainRule[]): Promise<Trigger[]> {
    const fired: Trigger[] = [];
    for (const rule of rules) {
      if (rule.onlineAccuracyBelow === undefined && rule.onlineAccuracyDrop === undefined) continue;
      const t = await this.onlineWindow(rule);
      if (t) fired.push(t);
    }
    return fired;
  }

  private async onlineWindow(rule: RetrainRule): Promise<Trigger | undefined> {
    const { redis, keys } = this.deps;
    const prod = await this.deps.production?.(rule.model).catch((err: unknown) => {
      if (err instanceof NotFound) return null;
      throw err;
    });
    if (!prod) return undefined;
    const h = await redis.hmget(
      keys.modelGenOnline(rule.model, prod.gen),
      'feedback',
      'feedbackCorrect',
    );
    const feedback = Number(h[0] ?? 0);
    const correct = Number(h[1] ?? 0);
    const key = keys.listenerSamplesTrigger(rule.model, rule.dataset);
    const st = await redis.hmget(key, 'accGen', 'accFeedback', 'accCorrect');
    const same = Number(st[0]) === prod.gen;
    const n = feedback - (same ? Number(st[1] ?? 0) : 0);
    const k = correct - (same ? Number(st[2] ?? 0) : 0);
    if (n < rule.minFeedback) return undefined;
    const accuracy = k / n;
    const measured = prod.evaluation?.metrics.accuracy;
    const limits: [number, string][] = [];
    if (rule.onlineAccuracyBelow !== undefined) {
      limits.push([rule.onlineAccuracyBelow, `below ${rule.onlineAccuracyBelow}`]);
    }
    if (rule.onlineAccuracyDrop !== undefined && typeof measured === 'number') {
      limits.push([
        measured - rule.onlineAccuracyDrop,
        `more than ${rule.onlineAccuracyDrop} below the measured ${Number(measured.toPrecision(4))}`,
      ]);
    }
    const broken = limits.find(([limit]) => accuracy < limit);
    const close = () =>
      redis.hset(key, 'accGen', prod.gen, 'accFeedback', feedback, 'accCorrect', correct);
    if (!broken) {
      await close();
      return undefined;
    }
    const acc = Number(accuracy.toPrecision(4));
    const trigger: Trigger = {
      rule,
      trigger: `online accuracy ${acc} on ${n} labels of gen ${prod.gen} (rule: ${broken[1]})`,
      datasetRef: rule.dataset,
      sessionId: `retrain-${rule.model}-${rule.dataset}-acc-g${prod.gen}-f${feedback}`,
      details: {
        kind: 'onlineAccuracy',
        gen: prod.gen,
        accuracy,
        labels: n,
        ...(typeof measured === 'number' ? { measured } : {}),
        limit: broken[0],
      },
    };
    // Queue first, then close the window: a crash in between re-queues the same id (a no-op).
    await this.queueSession(trigger);
    await close();
    return trigger;
  }

  /** Makes the job schedulers match the cron rules: adds, updates, and removes the stale. */
  async syncSchedules(rules: RetrainRule[]): Promise<void> {
    const wanted = new Map(
      rules.filter((r) => r.cron !== undefined).map((r) => [schedulerId(r), r] as const),
    );
    for (const s of await this.queue.getJobSchedulers(0, -1)) {
      const id = s.id ?? s.key;
      if (!wanted.has(id)) await this.queue.removeJobScheduler(id);
    }
    for (const [id, rule] of wanted) {
      await this.queue.upsertJobScheduler(
        id,
        { pattern: rule.cron!, tz: 'UTC' },
        {
          name: 'retrain',
          data: rule,
          opts: { removeOnComplete: 100, removeOnFail: 100 },
        },
      );
    }
  }

  private async countSamples(
    rule: RetrainRule,
    n: number,
    p: z.infer<typeof DatasetVersionPayload>,
  ): Promise<Trigger | undefined> {
    const { redis, keys } = this.deps;
    const key = keys.listenerSamplesTrigger(rule.model, rule.dataset);
    const state = await redis.hgetall(key);
    const baseVersion = state.baseVersion ? Number(state.baseVersion) : 0;
    if (p.version <= baseVersion) return undefined;
    const stored = state.baseCount ? Number(state.baseCount) : null;
    const lineage = await this.deps.baseline(rule.model, rule.dataset);
    const candidates = [stored, lineage].filter((v): v is number => v !== null);
    if (candidates.length === 0) {
      // First sight and never trained: the samples that count are those after this version.
      await redis.hset(key, 'baseCount', p.count, 'baseVersion', p.version);
      return undefined;
    }
    const base = Math.max(...candidates);
    const fresh = p.count - base;
    if (fresh < n) return undefined;
    const trigger: Trigger = {
      rule,
      trigger: `samples: ${fresh} new in ${p.name}@${p.version} (rule ${n})`,
      datasetRef: `${p.name}@${p.version}`,
      sessionId: `retrain-${rule.model}-${p.name}-v${p.version}`,
      details: { kind: 'newSamples', newSamples: n, fresh, count: p.count, version: p.version },
    };
    // Queue first, then move the base: a crash in between re-queues the same id (a no-op).
    await this.queueSession(trigger);
    await redis.hset(key, 'baseCount', p.count, 'baseVersion', p.version);
    return trigger;
  }

  private async fire(jobId: string, data: unknown): Promise<void> {
    const parsed = RetrainRule.safeParse(data);
    if (!parsed.success) throw new UnrecoverableError(`bad retrain job: ${parsed.error.message}`);
    const rule = parsed.data;
    await this.queueSession({
      rule,
      trigger: `cron: ${rule.cron ?? ''}`,
      datasetRef: rule.dataset,
      sessionId: `retrain-${jobId.replace(/[^a-zA-Z0-9._-]/g, '-')}`,
      details: { kind: 'cron', cron: rule.cron },
    });
  }

  private async queueSession(t: Trigger): Promise<void> {
    // Where a retraining request enters: parsed once here, then queued as the typed command.
    // A RetrainRule names no container (its schema is strict), so the launch policy, which
    // judges containers, has nothing here to refuse.
    const request = parseSessionRequest({
      kind: 'train',
      model: t.rule.model,
      dataset: t.datasetRef,
      trainer: t.rule.trainer,
      params: t.rule.params,
      device: t.rule.device,
      priority: t.rule.priority,
      timeBudgetS: t.rule.timeBudgetS,
      trigger: t.trigger,
    } satisfies CreateSessionInput);
    const { session: rec, created } = await enqueueSession(this.deps.enqueue, request, {
      id: t.sessionId,
    });
    if (created) {
      await this.deps.enqueue.events.append({
        kind: 'retrain.triggered',
        sessionId: rec.id,
        payload: { model: t.rule.model, dataset: t.datasetRef, trigger: t.trigger, ...t.details },
      });
    }
    this.deps.log.info({ sessionId: rec.id, trigger: t.trigger }, 'retraining queued');
  }
}

function schedulerId(rule: RetrainRule): string {
  const h = createHash('sha256')
    .update(`${rule.dataset}|${rule.cron ?? ''}`)
    .digest('hex');
  return `retrain-${rule.model}-${h.slice(0, 12)}`;
}
