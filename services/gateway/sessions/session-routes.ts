import { z } from 'zod';
import {
  CreateSessionRequest,
  EventIngest,
  Forbidden,
  SessionId,
  SESSION_STATES,
  WorkerEvent,
} from '../../../shared/index.js';
import type { RouteModule } from '../http/route-context.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute, named } from '../openapi/route-spec.js';
import { REDIS_DOWN_RETRY_AFTER_S, type GatewaySessionOps } from './session-ops.js';

export type { SessionOps } from './session-ops.js';

export const ListSessionsQuery = z.object({
  state: z.enum(SESSION_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const PostEventBody = named(
  'PostEventBody',
  z.object({
    seq: z.number().int().min(1).describe('1, 2, 3 ... per session; resends are dropped'),
    event: WorkerEvent,
  }),
);

const IdParams = z.object({ id: SessionId });

/** What a session id (or a prefix of one) can be answered with. */
const ID_ERRORS = {
  400: 'a shortened id of fewer than 6 characters',
  404: 'no such session',
  409: 'a shortened id that more than one session starts with (the matches are listed)',
};

/** The session routes, declared once: mounted from these and documented from these. */
export const sessionApi = {
  create: defineRoute({
    method: 'post',
    path: '/api/v1/sessions',
    permission: 'write',
    tag: 'sessions',
    summary: 'Start a training session',
    body: named('CreateSessionRequest', CreateSessionRequest),
    bodyExample: { kind: 'train', model: 'digits-mlp', dataset: 'digits@1', trainer: 'mlp' },
    status: 201,
    errors: {
      400: 'trainer parameters that do not fit the trainer or the dataset',
      403: 'an image, command or container option outside the allow-list (NOT_ALLOWED)',
      404: 'no such dataset or version, or no production generation to score with',
      503: `Redis is down; Retry-After ${REDIS_DOWN_RETRY_AFTER_S} s`,
    },
  }),
  list: defineRoute({
    method: 'get',
    path: '/api/v1/sessions',
    permission: 'read',
    tag: 'sessions',
    summary: 'List sessions',
    query: ListSessionsQuery,
  }),
  get: defineRoute({
    method: 'get',
    path: '/api/v1/sessions/:id',
    permission: 'read',
    tag: 'sessions',
    summary: 'A session and its events',
    params: IdParams,
    errors: ID_ERRORS,
  }),
  stop: defineRoute({
    method: 'post',
    path: '/api/v1/sessions/:id/stop',
    permission: 'write',
    tag: 'sessions',
    summary: 'Stop a session',
    params: IdParams,
    errors: { ...ID_ERRORS, 503: 'the event handler is not reachable' },
  }),
  postEvent: defineRoute({
    method: 'post',
    path: '/api/v1/sessions/:id/events',
    permission: 'write',
    tag: 'sessions',
    summary: "Post a worker's event (external trainers)",
    params: IdParams,
    body: PostEventBody,
    status: 201,
    otherSuccess: { 200: 'a resend (a seq already seen): dropped, `duplicate: true`' },
    errors: { ...ID_ERRORS, 403: 'a worker token of another session' },
  }),
};

export function sessionRoutes(ops: GatewaySessionOps): RouteModule {
  return (router, ctx) => {
    const ingest = new EventIngest(ctx.redis, ctx.keys);

    const mount = routeMounter(router, ctx);

    // The one parse of a session request that comes over REST is the route's (400 on a ZodError).
    mount(sessionApi.create, async ({ body }, _req, res) =>
      ops.create(body, (res.locals.auth as { name: string }).name),
    );
    mount(sessionApi.list, async ({ query }) => ops.sessions.list(query));
    // Every route that takes a session id takes a unique prefix of it too (what the CLI lists).
    mount(sessionApi.get, async ({ params }) => {
      const id = await ops.sessions.resolveId(params.id);
      const [session, events] = await Promise.all([
        ops.sessions.get(id),
        ops.events.range({ sessionId: id, count: 5000 }),
      ]);
      return { ...session, events };
    });
    mount(sessionApi.stop, async ({ params }) => ops.stop(params.id));
    // External trainers post their events here with their worker token.
    mount(sessionApi.postEvent, async ({ params, body }, _req, res) => {
      const auth = res.locals.auth as { sessionId?: string };
      const id = await ops.sessions.resolveId(params.id);
      if (auth.sessionId && auth.sessionId !== id)
        throw new Forbidden('a worker token may only post its own session');
      const eventId = await ingest.ingest(id, body.seq, body.event);
      res.status(eventId ? 201 : 200).json({ seq: body.seq, eventId, duplicate: eventId === null });
    });
  };
}
