import type { TestContext } from 'node:test';
import { buildListener, type ListenerApp } from '../../../services/event-listener/app.js';
import { createLogger } from '../../../shared/runtime/logger.js';
import { EventLog } from '../../../shared/store/event-log.js';
import { Keys } from '../../../shared/store/keys.js';
import { ModelRegistry } from '../../../shared/store/model-registry.js';
import { SessionStore } from '../../../shared/store/session-store.js';
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
