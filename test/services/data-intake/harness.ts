import { randomBytes } from 'node:crypto';
import { createLogger, DatasetStore, EventLog, Keys } from '../../../shared/index.js';
import { loadConfig } from '../../../services/data-intake/config.js';
import { buildIntakeApp, type IntakeApp } from '../../../services/data-intake/app.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import type { TestRedis } from '../../helpers/redis.js';

export interface IntakeHarness {
  url: string;
  token: string;
  prefix: string;
  intake: IntakeApp;
  intakeUrl: string;
  gw: TestGateway;
  datasets: DatasetStore;
  events: EventLog;
  keys: Keys;
  close(): Promise<void>;
}

/** The data-intake service and a gateway pointed at it, in this process, on free ports. */
export async function startIntakeHarness(
  r: TestRedis,
  opts: { intakeEnv?: Record<string, string>; gatewayEnv?: Record<string, string> } = {},
): Promise<IntakeHarness> {
  const token = randomBytes(16).toString('hex');
  const prefix = r.prefix();
  const redis = r.client();
  const intake = buildIntakeApp({
    config: loadConfig({
      REDIS_URL: r.url,
      SWARMML_PREFIX: prefix,
      INTERNAL_TOKEN: token,
      LOG_LEVEL: 'silent',
      ...opts.intakeEnv,
    }),
    log: createLogger('data-intake', 'silent'),
    redis,
  });
  const port = await intake.listen(0, '127.0.0.1');
  const intakeUrl = `http://127.0.0.1:${port}`;
  const gw = await startTestGateway(r, {
    env: { ADMIN_TOKEN: token, SWARMML_PREFIX: prefix, INTAKE_URL: intakeUrl, ...opts.gatewayEnv },
  });
  const keys = new Keys(prefix);
  return {
    url: gw.url,
    token,
    prefix,
    intake,
    intakeUrl,
    gw,
    keys,
    datasets: new DatasetStore(redis, keys),
    events: new EventLog(redis, keys),
    async close() {
      await gw.close();
      await intake.close();
    },
  };
}

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

/** POST a dataset body through the gateway. */
export async function upload(
  h: IntakeHarness,
  name: string,
  body: string | Buffer,
  query = '',
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${h.url}/api/v1/datasets/${encodeURIComponent(name)}${query}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${h.token}`,
      'content-type': 'application/octet-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return answer(res);
}

/** Any other call through the gateway with the admin token. */
export async function call(
  h: IntakeHarness,
  method: string,
  path: string,
  json?: unknown,
): Promise<Answer> {
  const res = await fetch(h.url + path, {
    method,
    headers: {
      authorization: `Bearer ${h.token}`,
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  return answer(res);
}

/** A small libsvm text: `rows` rows of `dim` features, label = row % classes. */
export function libsvm(rows: number, dim: number, classes = 3, offset = 0): string {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const r = i + offset;
    const feats = Array.from({ length: dim }, (_, j) => `${j + 1}:${((r * 7 + j * 3) % 11) / 10}`);
    lines.push(`${r % classes} ${feats.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

/** Every key under the prefix, for "nothing was stored" checks. */
export async function allKeys(r: TestRedis, prefix: string): Promise<string[]> {
  const c = r.client();
  const keys = await c.keys(`${prefix}:*`);
  return keys.sort();
}
