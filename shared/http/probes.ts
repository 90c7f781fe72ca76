/** `/healthz` (liveness) and `/readyz` (readiness) for every service, without a token. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { excerpt } from './error-reply.js';
import { sendJson } from './respond.js';

export interface DependencyCheck {
  /** named in a 503's `failed` list */
  name: string;
  /** Passes unless it throws, rejects or answers `false`. */
  check(): unknown;
}

export interface ProbeOptions {
  /** what `/readyz` waits on; its answer names each, `checks: {name: 'ok' | reason}` */
  ready?: readonly DependencyCheck[];
  /**
   * what `/healthz` also waits on: for a service with no readiness probe of its own, whose
   * Docker healthcheck (docker/healthcheck.mjs asks /healthz) must see its dependencies.
   * @defaultValue none: liveness needs nothing
   */
  live?: readonly DependencyCheck[];
  /** how long each check may take, in ms; they run at once, so a probe answers within it @defaultValue 800 */
  timeoutMs?: number;
}

/** Redis answers a PING. */
export function redisCheck(redis: Pick<Redis, 'ping'>): DependencyCheck {
  return { name: 'redis', check: async () => (await redis.ping()) === 'PONG' };
}

/**
 * Another service answers `url` (its `/healthz`) with a 2xx. The request is abandoned after
 * `timeoutMs`, so a hung service leaves no request behind each probe.
 */
export function httpCheck(name: string, url: string | URL, timeoutMs = 1_000): DependencyCheck {
  return {
    name,
    check: async () => {
      let res: Response;
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        // fetch says only "fetch failed"; the cause says why (ECONNREFUSED: it is down).
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new Error(cause?.code ?? cause?.message ?? (err as Error).message, { cause: err });
      }
      await res.body?.cancel();
      if (!res.ok) throw new Error(`answered ${res.status}`);
    },
  };
}

/** The reason a check failed, or undefined when it passed within `timeoutMs`. */
async function runCheck(c: DependencyCheck, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  const run = (async () => ((await c.check()) === false ? 'not ready' : undefined))().catch(
    (err: unknown) => excerpt(err instanceof Error ? err.message : String(err), 200),
  );
  try {
    return await Promise.race([run, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function answer(
  res: ServerResponse,
  checks: readonly DependencyCheck[],
  timeoutMs: number,
  up: string,
  down: string,
  /** also list every check by name, passed ones as `ok` (readiness) */
  listAll: boolean,
): Promise<void> {
  const reasons = await Promise.all(checks.map((c) => runCheck(c, timeoutMs)));
  const failed = checks.flatMap((c, i) => {
    const reason = reasons[i];
    return reason === undefined ? [] : [{ name: c.name, reason }];
  });
  const all = listAll
    ? { checks: Object.fromEntries(checks.map((c, i) => [c.name, reasons[i] ?? 'ok'])) }
    : {};
  if (failed.length === 0) sendJson(res, 200, { status: up, ...all });
  else sendJson(res, 503, { status: down, failed, ...all });
}

/**
 * A handler for GET/HEAD `/healthz` and `/readyz`: true when it took the request (it answers
 * on its own), false for any other, so a router can go on.
 */
export function createProbes(
  o: ProbeOptions = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const timeoutMs = o.timeoutMs ?? 800;
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === '/healthz') {
      answer(res, o.live ?? [], timeoutMs, 'ok', 'unhealthy', false).catch(() => res.destroy());
      return true;
    }
    if (path === '/readyz') {
      answer(res, o.ready ?? [], timeoutMs, 'ready', 'not ready', true).catch(() => res.destroy());
      return true;
    }
    return false;
  };
}
