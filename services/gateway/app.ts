import http from 'node:http';
import express, { type RequestHandler } from 'express';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  checkJsonDepth,
  createProbes,
  createRedis,
  EventLog,
  httpCheck,
  Keys,
  NotFound,
  QUEUES,
  redisCheck,
  type Logger,
  type Permission,
} from '../../shared/index.js';
import type { GatewayConfig } from './config.js';
import { TokenStore } from './auth/token-store.js';
import { Revocations } from './auth/revocations.js';
import { createWorkerScope } from './auth/worker-scope.js';
import { createAuthenticator, type Authenticator } from './http/authenticate.js';
import { RateLimiter } from './http/rate-limiter.js';
import { errorMiddleware } from './http/error-middleware.js';
import type { RouteContext, RouteModule } from './http/route-context.js';
import { tokenRoutes } from './auth/token-routes.js';
import { createInferenceProxy, isInferencePath } from './serving/inference-proxy.js';
import { ServingLinks } from './serving/serving-link.js';
import { ResponseDeadlines } from './serving/response-deadlines.js';
import { ServingUpstreams } from './serving/serving-upstreams.js';
import { sessionRoutes } from './sessions/session-routes.js';
import { createSessionOps } from './sessions/session-ops.js';
import { WsHub } from './http/ws-hub.js';
import { modelRoutes } from './models/model-routes.js';
import { trafficRoutes } from './models/traffic-routes.js';
import { rolloutRoutes } from './models/rollout-routes.js';
import { dashboardRoutes } from './dashboard/dashboard-routes.js';
import { clusterRoutes } from './cluster/cluster-routes.js';
import { LiveFanout, ServingStatsSampler } from './dashboard/live-metrics.js';
import { dashboardApiRoutes } from './dashboard/dashboard-api.js';
import { ServingHistory } from './dashboard/serving-history.js';
import { readServingStats } from './serving/serving-stats.js';
import { datasetRoutes } from './datasets/dataset-routes.js';
import { servingRoutes } from './serving/serving-routes.js';
import { isRepositoryCall, repositoryHttp } from './serving/repository-http.js';
import { isServerMetadataCall, serverMetadataHttp } from './serving/server-metadata.js';
import { versionPolicyRoutes } from './models/version-policy-routes.js';
import { buildComm, type Comm } from './delivery/comm-services.js';
import { createServingAgent } from './serving/replica-requests.js';
import { GrpcFront } from './grpc/grpc-front.js';
import { ReplicaHttp } from './grpc/replica-http.js';

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
  /** KServe v2 over gRPC; main.ts (or a test) makes it listen */
  grpc: GrpcFront;
  /** the express app behind /api/v1 (route listing for the OpenAPI checks) */
  express: express.Express;
  /** live config, delivery, sources, plugins */
  comm: Comm;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the gateway without listening, so tests can drive it on port 0. */
export function buildApp(deps: GatewayDeps): Gateway {
  const { config, log, redis } = deps;
  const keys = new Keys(config.SWARMML_PREFIX);
  const revocations = new Revocations(redis, keys, log);
  const tokens = new TokenStore(redis, keys, config.adminToken, { revocations });
  const auth: Authenticator = createAuthenticator(
    tokens,
    new RateLimiter(),
    createWorkerScope(redis, keys),
  );
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
  // `verify` sees the bytes before they are parsed: a body nested too deep is a 400 there.
  app.use(
    express.json({
      limit: config.JSON_LIMIT,
      type: ['application/json', '*/*+json'],
      verify: (_req, _res, buf) => checkJsonDepth(buf),
    }),
  );
  // The sessions producer has a client of its own without an offline queue, so that a
  // session request answers 503 at once while Redis is down instead of waiting on it.
  const producerRedis = createRedis(config.REDIS_URL, log, {
    failFast: true,
    name: 'gateway-sessions',
  });
  const sessionsQueue = new Queue(QUEUES.sessions, {
    connection: producerRedis,
    prefix: keys.bullPrefix(),
  });
  sessionsQueue.on('error', (err) => log.warn({ err }, 'sessions queue error'));
  const router = express.Router();
  const sessionOps = createSessionOps(ctx, { redis: producerRedis, queue: sessionsQueue });
  const upstreams = new ServingUpstreams(config.SERVING_UPSTREAM);
  const readStats = () => readServingStats(upstreams.all());
  const servingHistory = new ServingHistory({
    redis,
    keys,
    log,
    read: readStats,
    active: () => upstreams.all().length > 0,
    intervalMs: config.SERVING_HISTORY_MS,
  });
  const comm = buildComm({ config, log, redis, keys, liveTopics: () => fanout });
  const modules = [
    tokenRoutes,
    sessionRoutes(sessionOps),
    modelRoutes,
    trafficRoutes,
    rolloutRoutes,
    datasetRoutes,
    servingRoutes(() => upstreams.all()),
    versionPolicyRoutes,
    clusterRoutes({ servingReplicas: () => upstreams.all(), readServingStats: readStats }),
    ...comm.routes,
    dashboardApiRoutes({ history: servingHistory }),
    dashboardRoutes,
    ...(deps.routes ?? []),
  ];
  for (const mount of modules) mount(router, ctx);
  app.use(router);
  app.use((req, _res, next) => {
    next(new NotFound(`no route ${req.method} ${req.path}`));
  });
  app.use(errorMiddleware(log));

  // One keep-alive pool to the replicas for both inference fronts (REST and gRPC).
  const servingAgent = createServingAgent();
  upstreams.track(servingAgent);
  // Both fronts' inference goes over these links when open; a replica marked down loses
  // its link, and the requests waiting on it go to another replica at once.
  const links = config.SERVING_LINK ? new ServingLinks(log) : undefined;
  if (links) upstreams.onDown((target) => links.drop(target));
  const responseDeadlines = {
    factor: config.RESPONSE_DEADLINE_FACTOR,
    floorMs: config.RESPONSE_DEADLINE_MIN_MS,
    ceilingMs: config.RESPONSE_DEADLINE_MAX_MS,
    initialMs: config.RESPONSE_DEADLINE_FIRST_MS,
  };
  const inference = createInferenceProxy({
    upstreams,
    agent: servingAgent,
    auth,
    log,
    maxBodyBytes: 64 * 1024 * 1024,
    responseDeadlines,
    links,
    onPrediction: comm.onPrediction,
    wantsPrediction: comm.wantsPrediction,
  });
  const replicaHttp = new ReplicaHttp(
    upstreams,
    servingAgent,
    undefined,
    new ResponseDeadlines(responseDeadlines),
    links,
  );
  const repository = { redis, keys, replicas: replicaHttp, log };
  // Repository load and unload change what every replica serves: answered here, not proxied.
  const repositoryCall = repositoryHttp({ auth, repository, log });
  const serverMetadata = serverMetadataHttp(auth, log);
  const grpcFront = new GrpcFront({
    auth,
    log,
    replicas: replicaHttp,
    repository,
    onPrediction: comm.onPrediction,
    wantsPrediction: comm.wantsPrediction,
  });
  // Probes need no token: liveness needs nothing; readiness needs Redis and the event handler
  // (without it no session starts and no live event flows), each named in the answer.
  const probes = createProbes({
    ready: [
      redisCheck(redis),
      httpCheck('event-handler', new URL('/healthz', config.EVENT_HANDLER_URL)),
    ],
  });
  const server = http.createServer((req, res) => {
    if (probes(req, res)) return;
    if (isRepositoryCall(req)) void repositoryCall(req, res);
    else if (isServerMetadataCall(req)) void serverMetadata(req, res);
    else if (isInferencePath(req.url ?? '/')) void inference.handle(req, res);
    else app(req, res);
  });
  // `Expect: 100-continue` (curl asks it for bodies over 1 MiB): an inference request is
  // told 401 or 413 before its body is sent; elsewhere the body is asked for at once, as
  // node:http does without this listener.
  server.on('checkContinue', (req, res) => {
    if (isRepositoryCall(req)) {
      res.writeContinue();
      void repositoryCall(req, res);
    } else if (isInferencePath(req.url ?? '/'))
      void inference.handle(req, res, { expectsContinue: true });
    else {
      res.writeContinue();
      server.emit('request', req, res);
    }
  });
  server.keepAliveTimeout = 65_000;
  // Must exceed keepAliveTimeout, or an idle kept-alive socket is closed under a client
  // that was told it may still reuse it.
  server.headersTimeout = 66_000;

  // LiveFanout: the archive's events plus live-only ones (serving figures on `metrics`).
  const fanout = new LiveFanout(new EventLog(redis, keys), log);
  const sampler = new ServingStatsSampler({ live: fanout, read: readStats, log });
  const hub = new WsHub({
    log,
    auth,
    fanout,
    sessions: sessionOps,
    predict: (model, version, body) => inference.predict(model, version, body),
    revocations,
  });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname === '/api/v1/ws')
      hub.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
  });

  return {
    server,
    ctx,
    upstreams,
    grpc: grpcFront,
    express: app,
    comm,
    async start() {
      // Fail-fast commands sent before the first connect would fail: wait for it once.
      await sessionsQueue.waitUntilReady();
      await comm.start();
      await revocations.start();
      fanout.start();
      await upstreams.start();
      sampler.start();
      servingHistory.start();
    },
    async close() {
      sampler.close();
      servingHistory.close();
      hub.close();
      await revocations.close();
      await fanout.close();
      await grpcFront.close();
      await inference.close();
      links?.close();
      upstreams.close();
      await comm.close();
      await sessionsQueue.close();
      await producerRedis.quit().catch(() => producerRedis.disconnect());
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
