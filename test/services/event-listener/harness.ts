import type { TestContext } from 'node:test';
import { buildListener, type ListenerApp } from '../../../services/event-listener/app.js';
import { createLogger } from '../../../shared/runtime/logger.js';
import { EventLog } from '../../../shared/store/event-log.js';
import { Keys } from '../../../shared/store/keys.js';
import { ModelRegistry } from '../../../shared/store/model-registry.js';
import { SessionStore } from '../../../shared/store/session-store.js';
import type { EvaluatedPayload } from '../../../shared/protocol/evaluation.js';
import type { TestRedis } from '../../helpers/redis.js';
import { startFakeHandler } from './fake-handler.js';

export const log = createLogger('test', process.env.TEST_LOG ?? 'silent');
export const TOKEN = 'internal-token-0123456789';

/** Whether the listener has handled the event with stream id `id` (ids are `ms-seq`). */
export function reached(app: ListenerApp, id: string): boolean {
  const [am, as] = app.listener.position.split('-').map(Number) as [number, number];
  const [bm, bs] = id.split('-').map(Number) as [number, number];
  return am > bm || (am === bm && as >= bs);
}

/** A fresh prefix, a fake event-handler, and a maker of listeners; all closed after `t`. */
export async function setup(t: TestContext, redis: TestRedis, opts: { handlerUrl?: string } = {}) {
  const prefix = redis.prefix();
  const keys = new Keys(prefix);
  const client = redis.client();
  const events = new EventLog(client, keys, { blockMs: 200 });
  const handler = opts.handlerUrl ? undefined : await startFakeHandler({ token: TOKEN, events });
  if (handler) t.after(() => handler.close());
  const bullRedis = redis.client({ forWorker: true });
  const make = (): ListenerApp =>
    buildListener({
      config: {
        SWARMML_PREFIX: prefix,
        EVENT_HANDLER_URL: opts.handlerUrl ?? handler!.url,
        internalToken: TOKEN,
        BUDGET_CHECK_MS: 100,
        START_FROM: 'latest',
      },
      log,
      redis: client,
      bullRedis,
    });
  /** Starts a listener and closes it after the test. */
  const start = async (): Promise<ListenerApp> => {
    const app = make();
    await app.start();
    t.after(() => app.close());
    return app;
  };
  return {
    keys,
    client,
    bullRedis,
    events,
    /** the fake handler; absent when `handlerUrl` points elsewhere */
    handler: handler!,
    start,
    registry: new ModelRegistry(client, keys),
    sessions: new SessionStore(client, keys),
  };
}

/**
 * A `generation.evaluated` payload as a serving replica archives it: a classifier measured on
 * 360 held-out rows of digits@1, against a majority-class baseline at 0.1.
 */
export function evaluatedPayload(o: {
  gen: number;
  accuracy: number;
  against: { gen: number; accuracy: number } | null;
  model?: string;
  reported?: Record<string, number>;
}): EvaluatedPayload {
  return {
    model: o.model ?? 'digits',
    gen: o.gen,
    reported: o.reported ?? {},
    task: 'classification',
    rows: {
      dataset: 'digits',
      version: 1,
      split: 'recorded',
      seed: 42,
      validationFraction: 0.2,
      count: 360,
      available: 360,
      trainCount: 1437,
    },
    metrics: { accuracy: o.accuracy },
    baseline: { kind: 'majority-class', value: 0, metrics: { accuracy: 0.1 } },
    against: o.against && { gen: o.against.gen, metrics: { accuracy: o.against.accuracy } },
    by: 'test',
    at: new Date().toISOString(),
    ms: 1,
  };
}
