import http from 'node:http';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Keys, NotFound, QUEUES, type Logger, type Permission } from '../../shared/index.js';
import type { GatewayConfig } from './config.js';
import { TokenStore } from './auth/token-store.js';
import { createAuthenticator, type Authenticator } from './http/authenticate.js';
import { RateLimiter } from './http/rate-limiter.js';
import { toErrorResponse } from './http/error-response.js';
import type { RouteContext, RouteModule } from './http/route-context.js';
import { healthRoutes } from './http/health-routes.js';
import { tokenRoutes } from './http/token-routes.js';
import { createInferenceProxy, isInferencePath } from './inference-proxy.js';
import { ServingUpstreams } from './serving-upstreams.js';
import { sessionRoutes } from './sessions/session-routes.js';

export interface GatewayDeps {
  config: GatewayConfig;
  log: Logger;
  redis: Redis;
  /** Extra route modules (later steps and tests add theirs). */
  routes?: RouteModule[];
}

export interface Gateway {
  server: http.Server;
  ctx: RouteContext;
  upstreams: ServingUpstreams;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the gateway without listening, so tests can drive it on port 0. */
export function buildApp(deps: GatewayDeps): Gateway {
  const { config, log, redis } = deps;
  const keys = new Keys(config.SWARMML_PREFIX);
  const tokens = new TokenStore(redis, keys, config.adminToken);
  const auth: Authenticator = createAuthenticator(tokens, new RateLimiter());
  const guard =
    (perm: Permission): RequestHandler =>
    async (req, res, next) => {
      res.locals.auth = await auth.check(req, perm);
      next();
    };
  const ctx: RouteContext = { config, log, redis, keys, tokens, auth, guard };

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // JSON bodies only where the content type says so; uploads stream untouched.
  app.use(express.json({ limit: config.JSON_LIMIT, type: ['application/json', '*/*+json'] }));
  const sessionsQueue = new Queue(QUEUES.sessions, { connection: redis, prefix: keys.bullPrefix() });
  sessionsQueue.on('error', (err) => log.warn({ err }, 'sessions queue error'));
  const router = express.Router();
  const modules = [healthRoutes, tokenRoutes, sessionRoutes(sessionsQueue), ...(deps.routes ?? [])];
  for (const mount of modules) mount(router, ctx);
  app.use(router);
  app.use((req, _res, next) => {
    next(new NotFound(`no route ${req.method} ${req.path}`));
  });
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const r = toErrorResponse(err, log);
    res.status(r.status).set(r.headers).json(r.body);
  };
  app.use(onError);

  const upstreams = new ServingUpstreams(config.SERVING_UPSTREAM);
  const inference = createInferenceProxy({
    upstreams,
    auth,
    log,
    maxBodyBytes: 64 * 1024 * 1024,
  });
  const server = http.createServer((req, res) => {
    if (isInferencePath(req.url ?? '/')) void inference(req, res);
    else app(req, res);
  });
  server.keepAliveTimeout = 65_000;

  return {
    server,
    ctx,
    upstreams,
    start: () => upstreams.start(),
    async close() {
      upstreams.close();
      await sessionsQueue.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
