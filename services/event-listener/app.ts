import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  Keys,
  type Logger,
  DatasetStore,
  EventLog,
  ModelRegistry,
  QUEUES,
  SessionStore,
  LiveConfig,
  evaluationJobId,
  effectiveRules,
  type EffectiveRules,
  type EvaluationJob,
} from '../../shared/index.js';
import type { ListenerConfig } from './config.js';
import { HandlerClient, type DecisionSink } from './handler-client.js';
import { Listener } from './listener.js';
import { RetrainTriggers, lineageBaseline } from './retrain-triggers.js';
import { RolloutController } from './rollout/controller.js';
import { RolloutLoop } from './rollout/rollout-loop.js';

export interface ListenerAppDeps {
  config: Pick<
    ListenerConfig,
    'SWARMML_PREFIX' | 'EVENT_HANDLER_URL' | 'internalToken' | 'BUDGET_CHECK_MS' | 'START_FROM'
  > &
    Partial<Pick<ListenerConfig, 'ROLLOUT_TICK_MS'>>;
  log: Logger;
  /** commands and the cursor */
  redis: Redis;
  /** BullMQ queues and the retrain worker (maxRetriesPerRequest: null) */
  bullRedis: Redis;
  /** tests hand in their own; by default the event-handler's WebSocket */
  sink?: DecisionSink;
}

export interface ListenerApp {
  listener: Listener;
  rollouts: RolloutController;
  live: LiveConfig;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the event-listener without starting it. */
export function buildListener(deps: ListenerAppDeps): ListenerApp {
  const { config, log, redis, bullRedis } = deps;
  const keys = new Keys(config.SWARMML_PREFIX);
  const events = new EventLog(redis, keys);
  const sessions = new SessionStore(redis, keys);
  const registry = new ModelRegistry(redis, keys);
  const live = new LiveConfig(redis, keys, { log });
  const sessionQueue = new Queue(QUEUES.sessions, {
    connection: bullRedis,
    prefix: keys.bullPrefix(),
  });
  sessionQueue.on('error', (err) => log.warn({ err: err.message }, 'sessions queue error'));
  const evaluationQueue = new Queue<EvaluationJob>(QUEUES.evaluations, {
    connection: bullRedis,
    prefix: keys.bullPrefix(),
  });
  evaluationQueue.on('error', (err) => log.warn({ err: err.message }, 'evaluations queue error'));
  const evaluate = async (job: EvaluationJob): Promise<void> => {
    // The id makes a replayed candidate (a listener restarting mid-event) queue nothing twice.
    await evaluationQueue.add('evaluate', job, {
      jobId: evaluationJobId(job),
      attempts: 3,
      backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 86400 },
    });
  };
  const retrain = new RetrainTriggers({
    redis,
    keys,
    log,
    connection: bullRedis,
    enqueue: { sessions, events, queue: sessionQueue },
    baseline: lineageBaseline(registry, new DatasetStore(redis, keys)),
    production: (m) => registry.getProduction(m),
  });
  const sink =
    deps.sink ??
    new HandlerClient({ url: config.EVENT_HANDLER_URL, token: config.internalToken, log });
  // Rules are read through the listener, which follows their changes.
  let rulesFor: (model: string) => EffectiveRules = (m) => effectiveRules(null, m);
  const rollouts = new RolloutController({
    redis,
    keys,
    log,
    events,
    registry,
    sink,
    rulesFor: (m) => rulesFor(m),
  });
  const rolloutLoop = new RolloutLoop(
    { redis, keys, log, controller: rollouts },
    config.ROLLOUT_TICK_MS ?? 1000,
  );
  const listener = new Listener(
    { redis, keys, log, events, sessions, registry, live, sink, retrain, evaluate, rollouts },
    { budgetCheckMs: config.BUDGET_CHECK_MS, startFrom: config.START_FROM },
  );
  rulesFor = (m) => listener.rulesOf(m);
  return {
    listener,
    rollouts,
    live,
    async start() {
      await live.start();
      await listener.start();
      rolloutLoop.start();
    },
    async close() {
      // The loop may be waiting on the handler: the listener's close gives up on that send.
      const loopDone = rolloutLoop.close();
      await listener.close();
      await loopDone;
      await live.close();
      await sessionQueue.close();
      await evaluationQueue.close();
    },
  };
}
