import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createLogger, createRedis, freePort } from '../../shared/index.js';
import { loadConfig as handlerConfig } from '../../services/event-handler/config.js';
import { buildEventHandler, type EventHandler } from '../../services/event-handler/app.js';
import { loadConfig as gatewayConfig } from '../../services/gateway/config.js';
import { buildApp, type Gateway } from '../../services/gateway/app.js';
import { buildListener, type ListenerApp } from '../../services/event-listener/app.js';
import { startCandidateEvaluation } from '../../services/serving/evaluation/evaluation-worker.js';
import { Keys } from '../../shared/index.js';
import type { RedisOptions } from 'ioredis';
import type { TestRedis } from './redis.js';

export interface TestPlatform {
  prefix: string;
  token: string;
  url: string;
  handlerPort: number;
  handler: EventHandler;
  gateway: Gateway;
  listener: ListenerApp | undefined;
  /** Restarts the event handler in-process (a crash when `crash` is set: workers keep running). */
  restartHandler(opts?: { crash?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/**
 * The event handler and the gateway, in this process, on free ports, with a fresh key
 * prefix, against a real Redis; workers are real child processes.
 */
export async function startTestPlatform(
  r: TestRedis,
  opts: {
    handlerEnv?: Record<string, string>;
    gatewayEnv?: Record<string, string>;
    listener?: boolean;
    /** options of the event handler's (non-BullMQ) Redis client */
    handlerRedis?: RedisOptions;
  } = {},
): Promise<TestPlatform> {
  const prefix = r.prefix();
  const token = randomBytes(16).toString('hex');
  const log = createLogger('test', 'silent');
  // The gateway's port is chosen first so workers can be told where it is.
  const gatewayPort = await freePort();
  const makeHandler = (port: number) => {
    const config = handlerConfig({
      REDIS_URL: r.url,
      SWARMML_PREFIX: prefix,
      INTERNAL_TOKEN: token,
      LOG_LEVEL: 'silent',
      PORT: String(port),
      STOP_GRACE_MS: '1000',
      GATEWAY_URL: `http://127.0.0.1:${gatewayPort}`,
      ...opts.handlerEnv,
    });
    return buildEventHandler({
      config,
      log,
      redis: r.client({ options: opts.handlerRedis ?? {} }),
      workerRedis: r.client({ forWorker: true }),
    });
  };
  let handler = makeHandler(0);
  const handlerPort = await handler.start(0, '127.0.0.1');
  const gwRedis = createRedis(r.url, log);
  const gw = buildApp({
    config: gatewayConfig({
      REDIS_URL: r.url,
      SWARMML_PREFIX: prefix,
      ADMIN_TOKEN: token,
      LOG_LEVEL: 'silent',
      EVENT_HANDLER_URL: `http://127.0.0.1:${handlerPort}`,
      ...opts.gatewayEnv,
    }),
    log,
    redis: gwRedis,
  });
  await gw.start();
  await new Promise<void>((resolve) => gw.server.listen(gatewayPort, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(gw.server.address() as AddressInfo).port}`;
  let listener: ListenerApp | undefined;
  if (opts.listener !== false) {
    listener = buildListener({
      config: {
        SWARMML_PREFIX: prefix,
        EVENT_HANDLER_URL: `http://127.0.0.1:${handlerPort}`,
        internalToken: token,
        BUDGET_CHECK_MS: 500,
        START_FROM: 'beginning',
      },
      log,
      redis: r.client(),
      bullRedis: r.client({ forWorker: true }),
    });
    await listener.start();
  }
  // What serving replicas do beside answering requests: judge each candidate on held-out rows
  // (the listener decides on those figures).
  const evaluation =
    opts.listener === false
      ? undefined
      : startCandidateEvaluation({
          connection: r.client({ forWorker: true }),
          redis: r.client(),
          keys: new Keys(prefix),
          log,
          // Not niced: on a test machine busy with other suites it would wait behind them all.
          nice: 0,
        });
  const p: TestPlatform = {
    prefix,
    token,
    url,
    handlerPort,
    handler,
    gateway: gw,
    listener,
    async restartHandler(o = {}) {
      await handler.close({ stopWorkers: !o.crash });
      handler = makeHandler(handlerPort);
      await handler.start(handlerPort, '127.0.0.1');
      p.handler = handler;
    },
    async close() {
      await listener?.close();
      await evaluation?.close();
      await gw.close();
      await handler.close({ stopWorkers: true });
      gwRedis.disconnect();
    },
  };
  return p;
}

/** Params with which a built-in trainer on `digits` runs until it is stopped or killed. */
const TRAINS_UNTIL_STOPPED = { hidden: [256, 256], epochs: 1000, batchSize: 8 };

/**
 * Asks for a training of `model` on `digits` that runs until stopped; returns its id.
 * `extra` adds request fields (`priority`, ...).
 */
export async function startLongTraining(
  p: TestPlatform,
  model: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const created = await api(p, 'POST', '/api/v1/sessions', {
    model,
    dataset: 'digits',
    params: TRAINS_UNTIL_STOPPED,
    ...extra,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id as string;
}

/** fetch against the platform with the admin token. */
export async function api(
  p: TestPlatform,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const init = {
    method,
    headers: {
      authorization: `Bearer ${p.token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  };
  // A pooled keep-alive socket the server closed meanwhile fails before anything is sent:
  // one fresh attempt, as any HTTP client would make.
  const res = await fetch(p.url + path, init).catch(() => fetch(p.url + path, init));
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
