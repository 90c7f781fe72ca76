import { z } from 'zod';
import {
  ClusterReport,
  Role,
  SessionStore,
  type ClusterView,
  type Logger,
  type ProcessStatus,
  type SessionRecord,
  type ServingStats,
  type SwarmReport,
  type WorkerView,
} from '../../../shared/index.js';
import type { TokenInfo } from '../auth/token-store.js';
import type { RouteModule } from '../http/route-context.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute } from '../openapi/route-spec.js';
import { readServingStats } from '../serving/serving-stats.js';

export interface ClusterDeps {
  /** the serving replicas the gateway knows now */
  servingReplicas: () => URL[];
  /** the figures the Serving page shows @defaultValue read from the replicas' /metrics */
  readServingStats?: () => Promise<ServingStats>;
}

const LIVE_STATES = ['placing', 'starting', 'running'] as const;

/** The routes of this module, declared once: mounted from these and documented from these. */
export const clusterApi = {
  whoami: defineRoute({
    method: 'get',
    path: '/api/v1/whoami',
    permission: 'read',
    tag: 'tokens',
    summary: "The calling token's name and role",
    response: z.object({ name: z.string(), role: Role }),
    responseExample: { name: 'ci', role: 'operator' },
  }),
  servingStats: defineRoute({
    method: 'get',
    path: '/api/v1/serving/stats',
    permission: 'read',
    tag: 'cluster',
    summary: 'Per-model serving figures (req/s, latency quantiles, batch sizes)',
  }),
  cluster: defineRoute({
    method: 'get',
    path: '/api/v1/cluster',
    permission: 'read',
    tag: 'cluster',
    summary: 'Processes, workers and swarm nodes',
  }),
};

/**
 * How long a health probe may take before its process is reported down. A busy node answers a
 * live process's /healthz in hundreds of ms (seen: 705 ms in CI), so 1 s reported live
 * processes down; a hung one is still reported down, 2.5 s after the report is asked for.
 */
const PROBE_TIMEOUT_MS = 2_500;

async function probe(name: string, url: string): Promise<ProcessStatus> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    const latencyMs = Math.round(performance.now() - t0);
    return res.ok
      ? { name, url, up: true, latencyMs }
      : { name, url, up: false, latencyMs, error: `answered ${res.status}` };
  } catch (err) {
    return { name, url, up: false, error: (err as Error).message };
  }
}

function workerView(s: SessionRecord): WorkerView {
  const p = (s.placement ?? {}) as { backend?: string; node?: string; workerId?: string };
  return {
    sessionId: s.id,
    state: s.state,
    model: (s.request as { model?: string } | null)?.model ?? null,
    backend: p.backend ?? null,
    workerId: s.workerId ?? p.workerId ?? null,
    node: p.node ?? null,
  };
}

/**
 * `GET /api/v1/whoami` (the dashboard learns the role behind a token), `GET /api/v1/cluster`
 * (processes, session workers, and swarm nodes when the event handler reports them) and
 * `GET /api/v1/serving/stats` (per-model serving figures).
 */
export function clusterRoutes(deps: ClusterDeps): RouteModule {
  return (router, ctx) => {
    const sessions = new SessionStore(ctx.redis, ctx.keys);
    const readStats = deps.readServingStats ?? (() => readServingStats(deps.servingReplicas()));

    const mount = routeMounter(router, ctx);

    mount(clusterApi.whoami, (_input, _req, res) => {
      const info = res.locals.auth as TokenInfo;
      return { name: info.name, role: info.role };
    });

    mount(clusterApi.servingStats, () => readStats());

    mount(clusterApi.cluster, async () => {
      const handler = ctx.config.EVENT_HANDLER_URL;
      const [processes, live, swarm] = await Promise.all([
        Promise.all([
          probe('event-handler', new URL('/healthz', handler).toString()),
          probe('data-intake', new URL('/healthz', ctx.config.INTAKE_URL).toString()),
          ...deps
            .servingReplicas()
            .map((u, i) => probe(`serving-${i + 1}`, new URL('/v2/health/live', u).toString())),
        ]),
        Promise.all(LIVE_STATES.map((state) => sessions.list({ state, limit: 500 }))),
        readSwarm(handler, ctx.config.adminToken, ctx.log),
      ]);
      const view: ClusterView = {
        mode:
          swarm !== undefined || ctx.config.SERVING_UPSTREAM.startsWith('dns:') ? 'swarm' : 'local',
        processes: [{ name: 'gateway', url: 'self', up: true, latencyMs: 0 }, ...processes],
        workers: live.flatMap((l) => l.items).map(workerView),
        ...(swarm === undefined ? {} : { swarm }),
      };
      return view;
    });
  };
}

/** The event handler's view of the swarm; undefined where it has none (local mode, older handler). */
async function readSwarm(
  handlerUrl: string,
  token: string | undefined,
  log: Logger,
): Promise<SwarmReport | undefined> {
  try {
    const res = await fetch(new URL('/cluster', handlerUrl), {
      headers: { authorization: `Bearer ${token ?? ''}` },
      signal: AbortSignal.timeout(2_000),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const report = ClusterReport.safeParse(await res.json());
    // A report that does not parse is left out rather than passed on to the dashboard
    // unchecked; the log says why (a handler of another version, most likely).
    if (!report.success) {
      log.warn({ issues: report.error.issues }, "event handler's /cluster report is malformed");
      return undefined;
    }
    // A handler in local mode answers {mode:'local'}: there is no swarm to show.
    return report.data.mode === 'swarm' ? report.data : undefined;
  } catch {
    return undefined;
  }
}
