import { z } from 'zod';
import {
  CreateSessionRequest,
  EventIngest,
  Forbidden,
  SESSION_STATES,
  WorkerEvent,
} from '../../../shared/index.js';
import type { RouteModule } from '../http/route-context.js';
import type { GatewaySessionOps } from './session-ops.js';

export type { SessionOps } from './session-ops.js';

export const ListSessionsQuery = z.object({
  state: z.enum(SESSION_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const PostEventBody = z.object({
  seq: z.number().int().min(1).describe('1, 2, 3 ... per session; resends are dropped'),
  event: WorkerEvent,
});

export function sessionRoutes(ops: GatewaySessionOps): RouteModule {
  return (router, ctx) => {
    const ingest = new EventIngest(ctx.redis, ctx.keys);

    router.post('/api/v1/sessions', ctx.guard('write'), async (req, res) => {
      // The one parse of a session request that comes over REST (a ZodError answers 400).
      const request = CreateSessionRequest.parse(req.body);
      res.status(201).json(await ops.create(request, (res.locals.auth as { name: string }).name));
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
