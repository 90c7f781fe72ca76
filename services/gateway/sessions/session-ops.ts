import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  AppError,
  DatasetStore,
  EventLog,
  ModelRegistry,
  SessionStore,
  Unavailable,
  enqueueSession,
  policyFromConfig,
  type CreateSessionRequest,
} from '../../../shared/index.js';
import type { RouteContext } from '../http/route-context.js';
import { validateSessionRequest } from './validate-session.js';

/** The session operations both the REST routes and the WebSocket API call. */
export interface SessionOps {
  /** `request` is parsed by the caller (the route's body, the WebSocket message). */
  create(request: CreateSessionRequest, who?: string): Promise<unknown>;
  stop(id: string, reason?: string): Promise<unknown>;
  /** A session's full id from the id or a unique prefix of 6+ characters (SessionStore.resolveId). */
  resolveId(idOrPrefix: string): Promise<string>;
}

export type GatewaySessionOps = SessionOps & { sessions: SessionStore; events: EventLog };

/** Where a new session is written: the `sessions` queue and the client under it. */
export interface SessionsProducer {
  /** Made with `enableOfflineQueue: false`: a command fails at once while Redis is down. */
  redis: Redis;
  /** `QUEUES.sessions` on `redis` */
  queue: Queue;
}

/** What a client is told to wait (Retry-After) while Redis is down: a restart takes seconds. */
export const REDIS_DOWN_RETRY_AFTER_S = 5;

export function createSessionOps(ctx: RouteContext, producer: SessionsProducer): GatewaySessionOps {
  // Reads for the listing routes go through the gateway's client; everything a new session
  // writes (and the checks before it) through the producer's, which fails fast.
  const sessions = new SessionStore(ctx.redis, ctx.keys);
  const events = new EventLog(ctx.redis, ctx.keys);
  const write = {
    sessions: new SessionStore(producer.redis, ctx.keys),
    events: new EventLog(producer.redis, ctx.keys),
    datasets: new DatasetStore(producer.redis, ctx.keys),
    registry: new ModelRegistry(producer.redis, ctx.keys),
  };
  const policy = policyFromConfig(ctx.config.ALLOWED_IMAGES, ctx.config.ALLOWED_COMMANDS);
  return {
    sessions,
    events,
    resolveId: (idOrPrefix) => sessions.resolveId(idOrPrefix),
    async create(request, who = 'api') {
      return whileRedisUp(producer.redis, async () => {
        // The one check of the request against the stores and the launch policy: the job
        // carries the checked command, and the event-handler trusts it.
        const checked = await validateSessionRequest({ ...write, policy, who }, request);
        const queued = await enqueueSession(
          { sessions: write.sessions, events: write.events, queue: producer.queue },
          checked,
        );
        return queued.session;
      });
    },
    async stop(idOrPrefix, reason = 'stopped by request') {
      const id = await sessions.resolveId(idOrPrefix);
      let res: Response;
      try {
        res = await fetch(
          `${ctx.config.EVENT_HANDLER_URL}/sessions/${encodeURIComponent(id)}/stop?reason=${encodeURIComponent(reason)}`,
          { method: 'POST', headers: { authorization: `Bearer ${ctx.config.adminToken ?? ''}` } },
        );
      } catch (err) {
        throw new Unavailable(`the event handler is not reachable: ${(err as Error).message}`);
      }
      const json = (await res.json()) as unknown;
      if (!res.ok) throw new Unavailable(`event handler answered ${res.status}`, json);
      return json;
    },
  };
}

/**
 * Runs `fn` on a fail-fast client, answering 503 with Retry-After while that client has no
 * connection: with no offline queue its commands fail at once then, so a client is told to
 * come back rather than kept waiting on a request that cannot be stored.
 */
async function whileRedisUp<T>(redis: Redis, fn: () => Promise<T>): Promise<T> {
  const down = (cause?: unknown) =>
    new Unavailable('Redis is not reachable: the session was not queued', undefined, undefined, {
      retryAfterS: REDIS_DOWN_RETRY_AFTER_S,
      cause,
    });
  if (redis.status !== 'ready') throw down();
  try {
    return await fn();
  } catch (err) {
    // A failed command while the link is gone is the outage, not the request's fault.
    if (!(err instanceof AppError) && redis.status !== 'ready') throw down(err);
    throw err;
  }
}
