import { Queue } from 'bullmq';
import { z } from 'zod';
import {
  CreateSessionRequest,
  DatasetStore,
  EventLog,
  ModelRegistry,
  SESSION_STATES,
  SessionStore,
  Unavailable,
  WorkerEvent,
  enqueueSession,
  EventIngest,
  Forbidden,
  policyFromConfig,
} from '../../../shared/index.js';
import type { RouteContext, RouteModule } from '../http/route-context.js';
import { validateSessionRequest } from './validate-session.js';

export const ListSessionsQuery = z.object({
  state: z.enum(SESSION_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const PostEventBody = z.object({
  seq: z.number().int().min(1).describe('1, 2, 3 ... per session; resends are dropped'),
  event: WorkerEvent,
});

/** The session operations both the REST routes and the WebSocket API call. */
export interface SessionOps {
  create(body: unknown, who?: string): Promise<unknown>;
  stop(id: string, reason?: string): Promise<unknown>;
}

export type GatewaySessionOps = SessionOps & { sessions: SessionStore; events: EventLog };

export function createSessionOps(ctx: RouteContext, queue: Queue): GatewaySessionOps {
  const sessions = new SessionStore(ctx.redis, ctx.keys);
  const events = new EventLog(ctx.redis, ctx.keys);
  const datasets = new DatasetStore(ctx.redis, ctx.keys);
  const registry = new ModelRegistry(ctx.redis, ctx.keys);
  const policy = policyFromConfig(ctx.config.ALLOWED_IMAGES, ctx.config.ALLOWED_COMMANDS);
  return {
    sessions,
    events,
    async create(body, who = 'api') {
      const parsed = CreateSessionRequest.parse(body);
      const request = await validateSessionRequest(
        { datasets, registry, events, policy, who },
        parsed,
      );
      return (await enqueueSession({ sessions, events, queue }, request)).session;
    },
    async stop(id, reason = 'stopped by request') {
      await sessions.get(id);
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

export function sessionRoutes(ops: GatewaySessionOps): RouteModule {
  return (router, ctx) => {
    const ingest = new EventIngest(ctx.redis, ctx.keys);

    router.post('/api/v1/sessions', ctx.guard('write'), async (req, res) => {
      res.status(201).json(await ops.create(req.body, (res.locals.auth as { name: string }).name));
    });
    router.get('/api/v1/sessions', ctx.guard('read'), async (req, res) => {
      const q = ListSessionsQuery.parse(req.query);
      res.json(await ops.sessions.list(q));
    });
    router.get('/api/v1/sessions/:id', ctx.guard('read'), async (req, res) => {
      const id = String(req.params.id);
      const [session, events] = await Promise.all([
        ops.sessions.get(id),
        ops.events.range({ sessionId: id, count: 5000 }),
      ]);
      res.json({ ...session, events });
    });
    router.post('/api/v1/sessions/:id/stop', ctx.guard('write'), async (req, res) => {
      res.json(await ops.stop(String(req.params.id)));
    });
    // External trainers post their events here with their worker token.
    router.post('/api/v1/sessions/:id/events', ctx.guard('write'), async (req, res) => {
      const id = String(req.params.id);
      const auth = res.locals.auth as { sessionId?: string };
      if (auth.sessionId && auth.sessionId !== id)
        throw new Forbidden('a worker token may only post its own session');
      await ops.sessions.get(id);
      const body = PostEventBody.parse(req.body);
      const eventId = await ingest.ingest(id, body.seq, body.event);
      res.status(eventId ? 201 : 200).json({ seq: body.seq, eventId, duplicate: eventId === null });
    });
  };
}
