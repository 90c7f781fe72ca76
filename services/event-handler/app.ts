import type http from 'node:http';
import type { Redis } from 'ioredis';
import {
  EventFanout,
  EventIngest,
  EventLog,
  Keys,
  listenOn,
  ModelRegistry,
  redisCheck,
  SessionStore,
  type Logger,
} from '../../shared/index.js';
import type { Backend } from './backend.js';
import type { HandlerConfig } from './config.js';
import { DecisionExecutor } from './decision-executor.js';
import { ProcessBackend } from './process-backend.js';
import { createBackend } from './backend-factory.js';
import { SwarmBackend } from './swarm/swarm-backend.js';
import { CheckpointStore } from './checkpoint-store.js';
import { clusterReporter } from './cluster-route.js';
import { reconcile } from './reconcile.js';
import { SessionMover } from './session-mover.js';
import { SessionRunner } from './session-runner.js';
import { createHandlerServer } from './ws-server.js';

export interface HandlerDeps {
  config: HandlerConfig;
  log: Logger;
  redis: Redis;
  /** a connection with maxRetriesPerRequest: null, for BullMQ */
  workerRedis: Redis;
  backend?: Backend;
}

export interface EventHandler {
  server: http.Server;
  runner: SessionRunner;
  backend: Backend;
  /** listen, reconcile, then start taking sessions */
  start(port: number, host: string): Promise<number>;
  close(opts?: { stopWorkers?: boolean }): Promise<void>;
}

export function buildEventHandler(d: HandlerDeps): EventHandler {
  const { config, log, redis } = d;
  const keys = new Keys(config.SWARMML_PREFIX);
  const events = new EventLog(redis, keys);
  const sessions = new SessionStore(redis, keys);
  const registry = new ModelRegistry(redis, keys);
  const backend = d.backend ?? createBackend(config, log);
  const fanout = new EventFanout(events, log);
  const ingest = new EventIngest(redis, keys);
  const checkpoints = new CheckpointStore(redis, keys, config.CHECKPOINT_MAX_BYTES);
  let port = 0;
  const runner = new SessionRunner({
    config,
    log,
    keys,
    workerRedis: d.workerRedis,
    redis,
    sessions,
    checkpoints,
    events,
    registry,
    backend,
    handlerWsUrl: () => config.HANDLER_WS_URL ?? `ws://127.0.0.1:${port}/ws`,
  });
  const mover = new SessionMover({
    log,
    sessions,
    checkpoints,
    runner,
    afterS: config.MOVE_AFTER_S,
    checkMs: config.MOVE_CHECK_MS,
  });
  const executor = new DecisionExecutor({ redis, keys, log, events, registry, sessions, runner });
  const handlerServer = createHandlerServer({
    log,
    internalToken: config.internalToken,
    fanout,
    ingest,
    executor,
    runner,
    readiness: [redisCheck(redis)],
    cluster: clusterReporter(backend),
    checkpoints,
    ...(backend instanceof SwarmBackend && backend.spareDesk ? { spares: backend.spareDesk } : {}),
  });
  const { server } = handlerServer;
  // Workers report in over WS or, for external trainers, through the gateway: either way
  // the archive is the source, so the handler reacts to what reaches the archive.
  const self = {
    topics: new Set(['events']),
    send: (_t: string, e: { kind: string; sessionId?: string }) => {
      if (e.kind === 'session.started' && e.sessionId) {
        runner
          .markRunning(e.sessionId)
          .catch((err: unknown) => log.warn({ err }, 'mark running failed'));
      }
      // Ends written by another process wake this runner's waits as its own ones do.
      if (e.kind === 'session.finished' && e.sessionId) runner.sessionEnded(e.sessionId);
    },
  };

  return {
    server,
    runner,
    backend,
    async start(p, host) {
      fanout.start();
      await fanout.subscribe(self);
      port = await listenOn(server, p, host);
      await reconcile({ log, sessions, backend, runner, checkpoints });
      runner.start();
      mover.start();
      return port;
    },
    async close(opts = {}) {
      mover.close();
      if (opts.stopWorkers && backend instanceof ProcessBackend) {
        await Promise.all(
          backend.workerIds().map((id) => backend.stop(id, { graceMs: config.STOP_GRACE_MS })),
        );
      }
      await runner.close();
      await fanout.close();
      await backend.close();
      handlerServer.terminateSockets();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
