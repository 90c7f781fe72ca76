/** Builds the serving HTTP server (KServe v2, TF Serving REST, /metrics) without listening. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  checkPathEncoding,
  createProbes,
  NotFound,
  sendError,
  sendJson,
  type FleetReport,
  type Keys,
  type Logger,
} from '../../shared/index.js';
import { hostname } from 'node:os';
import type { BackoffPolicy } from './hosting/backoff.js';
import type { ServingConfig } from './config.js';
import type { DriftMonitor } from './drift/drift-monitor.js';
import { handleKServe } from './protocols/kserve-routes.js';
import { ModelStats } from './protocols/model-stats.js';
import { createMetrics, type ServingMetrics } from './metrics.js';
import { ModelFleet } from './hosting/model-fleet.js';
import type { ModelSource } from './hosting/model-source.js';
import { DecodeOffload } from './decoding/decode-offload.js';
import type { RouteContext } from './protocols/route-context.js';
import { handleTfServing } from './protocols/tfserving-routes.js';
import { setupTraffic, type TrafficSetup } from './rollout/traffic-setup.js';
import type { Redis } from 'ioredis';
import { acceptServingLinks, type LinkServer } from './link/link-server.js';

export interface ServingDeps {
  config: ServingConfig;
  log: Logger;
  source: ModelSource;
  /** restart delays of model processes (tests shorten them) */
  backoff?: BackoffPolicy;
  /** process-level default metrics (off in tests that build several apps) @defaultValue false */
  defaultMetrics?: boolean;
  /** input drift monitoring (needs the registry; main.ts and tests wire it) */
  drift?: DriftMonitor;
  /** rollouts' traffic split, shadows, online counters and prediction records (needs Redis) */
  rollout?: { redis: Redis; keys: Keys };
}

export interface ServingApp {
  server: Server;
  /** the server's request handler, for the direct port's listener to wrap */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  fleet: ModelFleet;
  metrics: ServingMetrics;
  decoder: DecodeOffload;
  rollout: TrafficSetup;
  /** the gateway's serving links to the main port */
  links: LinkServer;
  /** starts model processes and loads production generations */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function buildApp(deps: ServingDeps): ServingApp {
  const { config, log } = deps;
  const stats = new ModelStats();
  const fleet: ModelFleet = new ModelFleet({
    source: deps.source,
    log,
    models: config.MODELS,
    groups: config.MODEL_GROUPS,
    session: {
      graphOptimizationLevel: config.GRAPH_OPT_LEVEL,
      intraOpNumThreads: config.INTRA_OP_THREADS,
      spinning: config.INTRA_OP_SPINNING,
      calibrate: config.SESSION_CALIBRATE,
    },
    hosting: {
      mode: config.HOSTING_MODE,
      overrides: config.HOSTING_OVERRIDES,
      processAtRunUs: config.HOSTING_PROCESS_AT_RUN_US,
      threadHeapMb: config.THREAD_HEAP_MB,
    },
    batch: {
      maxBatch: config.MAX_BATCH,
      maxDelayMs: config.MAX_DELAY_MS,
      maxInflight: config.MAX_INFLIGHT_BATCHES,
    },
    batchOverrides: config.BATCH_OVERRIDES,
    pinnedMax: config.PINNED_MAX,
    pipelines: config.PIPELINES,
    backoff: deps.backoff,
    spareProcess: config.SPARE_PROCESS,
    onBatch: (model, rows) => metrics.batchSize.observe({ model }, rows),
    onRun: (model, gen, run) => stats.run(model, String(gen), run),
    onCrash: (group) => metrics.restarts.inc({ group }),
    ...(deps.drift ? { onInputs: deps.drift.observe.bind(deps.drift) } : {}),
  });
  const metrics = createMetrics({
    queueDepths: () => fleet.queueDepths(),
    defaults: deps.defaultMetrics,
  });
  deps.drift?.register(metrics.registry);
  const decoder = new DecodeOffload({ minBytes: config.DECODE_OFFLOAD_BYTES, log });
  const rollout = setupTraffic({
    config,
    log,
    source: deps.source,
    fleet,
    store: deps.rollout,
    registry: metrics.registry,
  });
  const ctx: RouteContext = {
    fleet,
    metrics,
    stats,
    log,
    maxBodyBytes: config.MAX_BODY_BYTES,
    decoder,
    inflight: 0,
    traffic: rollout.traffic,
  };

  // Ready once every assigned model has loaded (the same answer as /v2/health/ready).
  const probes = createProbes({ ready: [{ name: 'models', check: () => fleet.ready() }] });
  const dispatch = async (req: IncomingMessage, res: ServerResponse) => {
    if (probes(req, res)) return;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const raw = q < 0 ? url : url.slice(0, q);
    // Once here, so the routes' decodeURIComponent of a name cannot throw (a 500).
    checkPathEncoding(raw);
    const path = rollout.routePath(raw);
    if (path.startsWith('/v2') && (await handleKServe(req, res, path, ctx))) return;
    if (path.startsWith('/v1/models/') && (await handleTfServing(req, res, path, ctx))) return;
    if (path === '/internal/fleet' && req.method === 'GET') {
      sendJson(res, 200, {
        replica: hostname(),
        pid: process.pid,
        ready: fleet.ready(),
        assignment: fleet.assignment(),
        models: fleet.hostsInfo(),
        processes: fleet.processes(),
      } satisfies FleetReport & { pid: number; processes: unknown });
      return;
    }
    if (path === '/metrics' && req.method === 'GET') {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return;
    }
    throw new NotFound(`no route for ${req.method} ${path}`);
  };

  // The gateway passes this through, so a client (and the swarm tests) can see which replica answered.
  const servedBy = hostname();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('x-served-by', servedBy);
    dispatch(req, res).catch((err: unknown) => sendError(req, res, err, log, 'protocol'));
  };
  const server = createServer(handle);
  // Outlive the gateway's keep-alive agent so it never reuses a socket we are closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const links = acceptServingLinks(server, { handle, log, maxBodyBytes: config.MAX_BODY_BYTES });

  return {
    server,
    handle,
    links,
    fleet,
    metrics,
    decoder,
    rollout,
    async start() {
      await fleet.start();
      await rollout.start();
    },
    async close() {
      links.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rollout.close();
      await fleet.close();
      await decoder.close();
    },
  };
}
