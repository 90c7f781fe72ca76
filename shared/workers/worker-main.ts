/**
 * What every built-in session worker (trainer, batch-infer) shares: the worker contract's
 * environment (docs/workers.md) and the life around its work: a reporter to the event handler,
 * SIGTERM as "stop after the step in hand", `worker.exiting` with the exit code, and a flush
 * of unsent events before the process ends.
 */
import { z } from 'zod';
import { baseEnv } from '../runtime/config.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { createRedis } from '../runtime/redis.js';
import { Keys } from '../store/keys.js';
import type { Redis } from 'ioredis';
import { WorkerReporter } from './worker-reporter.js';
import type { WorkerEvent } from '../protocol/events.js';

/** The variables the event handler passes to every session worker. */
export const workerEnv = baseEnv.extend({
  /** the session this worker runs */
  SWARMML_SESSION: z.string().min(1),
  /** the model the session trains or scores with */
  SWARMML_MODEL: z.string().min(1),
  /** the dataset version, NAME@VERSION */
  SWARMML_DATASET: z.string().regex(/^[^@]+@\d+$/, 'expected NAME@VERSION'),
  /** the session's params as JSON */
  SWARMML_PARAMS: z
    .string()
    .default('{}')
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as Record<string, unknown>;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'SWARMML_PARAMS is not JSON' });
        return z.NEVER;
      }
    }),
  /** the event handler's WebSocket, where the worker reports its events */
  SWARMML_HANDLER_URL: z.string().min(1),
  /** this session's worker token for that WebSocket */
  SWARMML_TOKEN: z.string().min(1),
  /** the session's time budget (s): how long the worker may keep trying to deliver its events */
  SWARMML_TIME_BUDGET_S: z.coerce.number().int().min(1).default(3600),
});
export type WorkerEnv = Readonly<z.infer<typeof workerEnv>>;

export interface WorkerContext {
  log: Logger;
  redis: Redis;
  keys: Keys;
  report: (e: WorkerEvent) => void;
  /** true once SIGTERM asked the worker to stop */
  shouldStop: () => boolean;
}

export interface WorkerSpec {
  /** logger and Redis client name */
  name: string;
  config: WorkerEnv;
  /** the work; its lines, if any, go to the session's log before it exits */
  work: (ctx: WorkerContext) => Promise<string[] | void>;
  /** resources of the work's own to release at the end */
  close?: () => Promise<void>;
}

/**
 * However little of the budget is left, a worker waits this long for its last events to be
 * acked (ms): it may have finished just inside its budget.
 */
const MIN_FLUSH_MS = 30_000;

/**
 * Runs a session worker's work and sets process.exitCode: 0 when it returned, 1 when it threw.
 * Its events are delivered before it exits, retried through outages of the event handler or
 * its Redis for as long as the session's time budget lasts.
 */
export async function runWorker(spec: WorkerSpec): Promise<void> {
  const { config } = spec;
  const budgetEnds = Date.now() + config.SWARMML_TIME_BUDGET_S * 1000;
  const log = createLogger(spec.name, config.LOG_LEVEL);
  const redis = createRedis(config.REDIS_URL, log, {
    name: `${spec.name}-${config.SWARMML_SESSION}`,
  });
  const reporter = new WorkerReporter(
    config.SWARMML_HANDLER_URL,
    config.SWARMML_TOKEN,
    config.SWARMML_SESSION,
    (m) => log.warn(m),
  );
  reporter.start();
  let stopRequested = false;
  process.on('SIGTERM', () => {
    stopRequested = true;
  });
  try {
    let exitCode = 0;
    try {
      const lines = await spec.work({
        log,
        redis,
        keys: new Keys(config.SWARMML_PREFIX),
        report: (e) => reporter.send(e),
        shouldStop: () => stopRequested,
      });
      if (lines?.length) reporter.send({ kind: 'log', payload: { lines } });
      reporter.send({ kind: 'worker.exiting', payload: { exitCode: 0 } });
    } catch (err) {
      exitCode = 1;
      const message = (err as Error)?.message ?? String(err);
      log.error({ err }, `${spec.name} failed`);
      // stderr too: the handler keeps a worker's last output lines beside its exit code.
      console.error(`${spec.name} failed: ${message}`);
      reporter.send({ kind: 'log', payload: { lines: [`failed: ${message}`] } });
      reporter.send({
        kind: 'worker.exiting',
        payload: { exitCode: 1, reason: message.slice(0, 1000) },
      });
    }
    try {
      await reporter.flush(Math.max(budgetEnds - Date.now(), MIN_FLUSH_MS));
    } catch (err) {
      // The exit code stays the work's: a worker whose generation is registered did succeed,
      // and a failed session beside that generation would contradict it.
      log.error({ err }, 'events left undelivered');
      console.error(`${spec.name}: ${(err as Error).message}`);
    }
    process.exitCode = exitCode;
  } finally {
    reporter.close();
    await spec.close?.().catch(() => {});
    redis.disconnect();
  }
}
