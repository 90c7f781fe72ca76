/** Starts a real serving app (real model processes, real HTTP on a free port) for tests. */
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../../shared/runtime/logger.js';
import { buildApp, type ServingApp, type ServingDeps } from '../../../services/serving/app.js';
import { loadConfig } from '../../../services/serving/config.js';
import type { BackoffPolicy } from '../../../services/serving/hosting/backoff.js';
import {
  InMemoryModelSource,
  type ModelSource,
} from '../../../services/serving/hosting/model-source.js';
import type { SessionChoice } from '../../../services/serving/hosting/protocol.js';
import type { DriftMonitor } from '../../../services/serving/drift/drift-monitor.js';

export type JsonBody = any;

export interface Serving {
  app: ServingApp;
  url: string;
  stop(): Promise<void>;
  /** POST JSON, returns status and parsed body */
  post(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: JsonBody }>;
  get(path: string): Promise<{ status: number; body: JsonBody }>;
}

export async function startServing(
  source: ModelSource,
  env: Record<string, string> = {},
  opts: { backoff?: BackoffPolicy; drift?: DriftMonitor; rollout?: ServingDeps['rollout'] } = {},
): Promise<Serving> {
  // No warm spare unless a test asks: it is one more process starting on a busy box.
  const config = loadConfig({ PORT: '0', SPARE_PROCESS: '0', ...env });
  const app = buildApp({
    config,
    log: createLogger('serving-test', process.env.TEST_LOG_LEVEL ?? 'silent'),
    source,
    backoff: opts.backoff,
    drift: opts.drift,
    rollout: opts.rollout,
  });
  await app.start();
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const parse = async (res: Response) => {
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // left as text (e.g. /metrics)
    }
    return { status: res.status, body: body as JsonBody };
  };
  return {
    app,
    url,
    stop: () => app.close(),
    async post(path, body, headers = {}) {
      const res = await fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body:
          typeof body === 'string'
            ? body
            : body instanceof Uint8Array
              ? new Uint8Array(body)
              : JSON.stringify(body),
      });
      return parse(res);
    },
    async get(path) {
      return parse(await fetch(url + path));
    },
  };
}

/** A KServe v2 request body with one FP32 input. */
export function v2Body(
  name: string,
  shape: number[],
  data: number[],
  extra: Record<string, unknown> = {},
) {
  return { inputs: [{ name, shape, datatype: 'FP32', data }], ...extra };
}

/** An in-memory registry that keeps what serving records on each generation (hosting, session). */
export class RecordingSource extends InMemoryModelSource {
  readonly recorded = new Map<string, SessionChoice>();
  recordSession(name: string, gen: number, choice: SessionChoice): Promise<void> {
    this.recorded.set(`${name}@${gen}`, choice);
    return Promise.resolve();
  }
}
