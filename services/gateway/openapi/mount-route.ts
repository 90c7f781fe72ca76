import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { drainRequest, type Permission } from '../../../shared/index.js';
import { isRawBody, isZod, type RouteSpec } from './route-spec.js';

type Parsed<T> = T extends z.ZodType ? z.output<T> : undefined;

/** What a handler gets: its declared inputs, parsed (defaults applied, coerced). */
export interface RouteInput<S extends RouteSpec> {
  params: Parsed<S['params']>;
  query: Parsed<S['query']>;
  /** the parsed JSON body for a zod body; else whatever express left in req.body */
  body: S['body'] extends z.ZodType ? z.output<S['body']> : unknown;
}

/**
 * A route's work. What it returns is sent as JSON with the declared status; a handler that
 * answers by itself (streams, raw bytes, a status chosen at run time) returns nothing.
 */
export type RouteHandler<S extends RouteSpec> = (
  input: RouteInput<S>,
  req: Request,
  res: Response,
) => unknown;

/** What mounting needs of the route context: the role check. */
export interface Guarded {
  /** Middleware that checks the token has `perm`; puts TokenInfo in res.locals.auth. */
  guard(perm: Permission): RequestHandler;
}

export interface MountOptions {
  /** run after the parameters are checked, before the body is (body readers, say) */
  before?: RequestHandler[];
}

/** The spec a mounted route was built from, on its last handler (for the route listing). */
export const ROUTE_SPEC = Symbol('swarmml.routeSpec');

/**
 * Mounts a declared route: the role check, then path and query parameters (before a
 * streamed body is touched), the body readers, the JSON body, and the handler.
 */
export function mountRoute<S extends RouteSpec>(
  router: Router,
  ctx: Guarded,
  spec: S,
  handler: RouteHandler<S>,
  opts: MountOptions = {},
): void {
  const checkParams: RequestHandler = (req, res, next) => {
    try {
      res.locals.routeInput = {
        params: spec.params ? spec.params.parse(req.params) : undefined,
        query: spec.query ? spec.query.parse(req.query) : undefined,
      };
      next();
    } catch (err) {
      // An upload refused before it was read: do not read megabytes only to throw them away.
      if (isRawBody(spec.body) && !req.complete) {
        res.setHeader('connection', 'close');
        drainRequest(req);
      }
      throw err;
    }
  };
  const run: RequestHandler = async (req, res) => {
    const { params, query } = res.locals.routeInput as { params: unknown; query: unknown };
    // No JSON body at all reads as an empty object: the schema then names what is missing.
    const body: unknown = isZod(spec.body) ? spec.body.parse(req.body ?? {}) : req.body;
    const input = { params, query, body } as RouteInput<S>;
    const out = await handler(input, req, res);
    if (res.headersSent || res.writableEnded) return;
    const status = spec.status ?? 200;
    if (out === undefined) res.status(status).end();
    else res.status(status).json(out);
  };
  Object.defineProperty(run, ROUTE_SPEC, { value: spec });
  const chain: RequestHandler[] = [
    ...(spec.permission === 'public' ? [] : [ctx.guard(spec.permission)]),
    checkParams,
    ...(opts.before ?? []),
    run,
  ];
  router[spec.method](spec.path, ...chain);
}

/** `mountRoute` bound to one router and guard: what a route module calls for each route. */
export function routeMounter(router: Router, ctx: Guarded) {
  return <S extends RouteSpec>(spec: S, handler: RouteHandler<S>, opts?: MountOptions): void =>
    mountRoute(router, ctx, spec, handler, opts);
}
