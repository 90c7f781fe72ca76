import { z } from 'zod';
import {
  ModelRegistry,
  SessionStore,
  parseDatasetRef,
  type StoredEvent,
} from '../../../shared/index.js';
import type { TokenInfo } from '../auth/token-store.js';
import type { RouteModule } from '../http/route-context.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute } from '../openapi/route-spec.js';
import type { ServingHistory } from './serving-history.js';

const csv = z
  .string()
  .max(1000)
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

export const EventsQuery = z.object({
  kind: csv
    .optional()
    .describe('comma-separated kinds; a kind ending in `.` or `*` matches as a prefix'),
  model: z.string().max(200).optional().describe("events whose payload's model is this"),
  session: z.string().max(200).optional().describe('events of this session'),
  from: z.string().datetime({ offset: true }).optional().describe('at or after this ISO time'),
  to: z.string().datetime({ offset: true }).optional().describe('at or before this ISO time'),
  before: z
    .string()
    .regex(/^\d+-\d+$/)
    .optional()
    .describe('older than this stream id (paging, newest first)'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

const UsageParams = z.object({
  name: z.string().max(200).describe('dataset name'),
  v: z.coerce.number().int().min(1).describe('version'),
});

/** Routes the dashboard reads that no other page of the API needed. */
export const dashboardApi = {
  events: defineRoute({
    method: 'get',
    path: '/api/v1/events',
    permission: 'read',
    tag: 'events',
    summary:
      'The event archive, newest first, filtered by kind, model, session and time (security events: admins only)',
    query: EventsQuery,
  }),
  usage: defineRoute({
    method: 'get',
    path: '/api/v1/datasets/:name/versions/:v/usage',
    permission: 'read',
    tag: 'datasets',
    summary: 'The generations trained on a dataset version and the sessions that used it',
    params: UsageParams,
  }),
  servingHistory: defineRoute({
    method: 'get',
    path: '/api/v1/serving/history',
    permission: 'read',
    tag: 'cluster',
    summary: 'Recent serving figures per model (a short time series kept in Redis)',
  }),
};

/** How far back one events request scans at most, so a rare filter cannot read the whole archive. */
const SCAN_LIMIT = 20_000;
const PAGE = 500;

function kindMatches(kinds: string[] | undefined, kind: string): boolean {
  if (!kinds || kinds.length === 0) return true;
  return kinds.some((k) =>
    k.endsWith('*') || k.endsWith('.') ? kind.startsWith(k.replace(/\*$/, '')) : k === kind,
  );
}

type Entry = [string, string[]];

function toEvent([id, fields]: Entry): StoredEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  let payload: unknown;
  try {
    payload = JSON.parse(f.payload ?? 'null');
  } catch {
    payload = f.payload ?? null;
  }
  return {
    id,
    kind: f.kind ?? '',
    payload,
    time: f.time ?? '',
    ...(f.session ? { sessionId: f.session } : {}),
  };
}

export interface DashboardApiDeps {
  history?: ServingHistory;
}

export function dashboardApiRoutes(deps: DashboardApiDeps = {}): RouteModule {
  return (router, ctx) => {
    const mount = routeMounter(router, ctx);
    const registry = new ModelRegistry(ctx.redis, ctx.keys);
    const sessions = new SessionStore(ctx.redis, ctx.keys);

    mount(dashboardApi.events, async ({ query: q }, _req, res) => {
      const role = (res.locals.auth as TokenInfo | undefined)?.role;
      const hi = q.before ? `(${q.before}` : q.to ? `${Date.parse(q.to)}-99999999` : '+';
      const lo = q.from ? `${Date.parse(q.from)}-0` : '-';
      const out: StoredEvent[] = [];
      let scanned = 0;
      let cursor = hi;
      let more = true;
      while (out.length < q.limit && scanned < SCAN_LIMIT && more) {
        const page = (await ctx.redis.xrevrange(
          ctx.keys.events(),
          cursor,
          lo,
          'COUNT',
          PAGE,
        )) as Entry[];
        scanned += page.length;
        more = page.length === PAGE;
        for (const entry of page) {
          const e = toEvent(entry);
          if (e.kind.startsWith('security.') && role !== 'admin') continue;
          if (!kindMatches(q.kind, e.kind)) continue;
          if (q.session && e.sessionId !== q.session) continue;
          if (q.model && (e.payload as { model?: unknown } | null)?.model !== q.model) continue;
          out.push(e);
          if (out.length === q.limit) break;
        }
        if (page.length > 0) cursor = `(${page[page.length - 1]![0]}`;
      }
      return { events: out, scanned, truncated: scanned >= SCAN_LIMIT && more };
    });

    mount(dashboardApi.usage, async ({ params }) => {
      const refs = await registry.datasetReferences(params.name, params.v);
      const generations = await Promise.all(
        refs.map(async (r) => {
          const g = await registry.getGeneration(r.model, r.gen);
          return {
            model: g.model,
            gen: g.gen,
            status: g.status,
            ...(g.sessionId ? { sessionId: g.sessionId } : {}),
          };
        }),
      );
      // Sessions that named this version, or that produced one of its generations.
      const { items } = await sessions.list({ limit: 2000 });
      const fromGens = new Set(generations.map((g) => g.sessionId).filter(Boolean));
      const used = items
        .filter((s) => {
          const ref = (s.request as { dataset?: unknown } | null)?.dataset;
          if (fromGens.has(s.id)) return true;
          if (typeof ref !== 'string') return false;
          const p = parseDatasetRef(ref.replace('@v', '@'));
          return p.name === params.name && p.version === params.v;
        })
        .map((s) => ({
          id: s.id,
          state: s.state,
          created: s.created,
          model: (s.request as { model?: string } | null)?.model ?? null,
        }));
      return { dataset: params.name, version: params.v, generations, sessions: used };
    });

    mount(dashboardApi.servingHistory, async () => {
      if (!deps.history) return { models: {} };
      const names = (await registry.listModels()).map((m) => m.name);
      return { models: await deps.history.read(names) };
    });
  };
}
