import { lookup } from 'node:dns/promises';
import { z } from 'zod';
import { ModelName } from '../../../shared/index.js';
import { assignModels, readAssignment, unassignModels } from '../../serving/assignment-store.js';
import type { RouteModule } from '../http/route-context.js';

/** What one serving replica reports at `/internal/fleet`. */
interface FleetReport {
  replica: string;
  ready: boolean;
  assignment: '*' | string[];
  models: Array<{
    name: string;
    state: string;
    gen: number | null;
    loaded: number[];
    queueDepth: number;
  }>;
}

export interface ReplicaView {
  url: string;
  ok: boolean;
  error?: string;
  replica?: string;
  ready?: boolean;
}

export interface ServedModel {
  model: string;
  /** one entry per replica that hosts it */
  served: Array<{
    url: string;
    replica: string;
    gen: number | null;
    state: string;
    loaded: number[];
  }>;
}

export const AssignBody = z.object({
  models: z
    .array(z.union([ModelName, z.literal('*')]))
    .min(1)
    .max(1000),
});

/** Base URLs of the serving replicas now (SERVING_UPSTREAM: a URL list or `dns:<host>:<port>`). */
export async function replicaUrls(spec: string): Promise<URL[]> {
  if (!spec.startsWith('dns:')) return spec.split(',').map((s) => new URL(s.trim()));
  const [, host = 'tasks.serving', port = '8081'] = spec.split(':');
  const addrs = await lookup(host, { all: true, family: 4 }).catch(() => []);
  return addrs.map((a) => new URL(`http://${a.address}:${port}`));
}

/** Asks every replica what it serves; an unreachable one is reported, not fatal. */
export async function readFleet(urls: URL[], timeoutMs = 1_000) {
  const replicas: ReplicaView[] = [];
  const byModel = new Map<string, ServedModel>();
  await Promise.all(
    urls.map(async (base) => {
      try {
        const res = await fetch(new URL('/internal/fleet', base), {
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!res.ok) {
          replicas.push({ url: base.origin, ok: false, error: `answered ${res.status}` });
          return;
        }
        const f = (await res.json()) as FleetReport;
        replicas.push({ url: base.origin, ok: true, replica: f.replica, ready: f.ready });
        for (const m of f.models) {
          const entry = byModel.get(m.name) ?? { model: m.name, served: [] };
          entry.served.push({
            url: base.origin,
            replica: f.replica,
            gen: m.gen,
            state: m.state,
            loaded: m.loaded,
          });
          byModel.set(m.name, entry);
        }
      } catch (err) {
        replicas.push({ url: base.origin, ok: false, error: (err as Error).message });
      }
    }),
  );
  replicas.sort((a, b) => a.url.localeCompare(b.url));
  const models = [...byModel.values()].sort((a, b) => a.model.localeCompare(b.model));
  return { replicas, models };
}

/** What is served where, and the assignment that decides it (`swarmml serve`, `swarmml serving`). */
export const servingRoutes: RouteModule = (router, ctx) => {
  router.get('/api/v1/serving', ctx.guard('read'), async (_req, res) => {
    const [fleet, assignment] = await Promise.all([
      replicaUrls(ctx.config.SERVING_UPSTREAM).then((u) => readFleet(u)),
      readAssignment(ctx.redis, ctx.keys),
    ]);
    res.json({ assignment, ...fleet });
  });
  router.post('/api/v1/serving/assignment', ctx.guard('admin'), async (req, res) => {
    const { models } = AssignBody.parse(req.body);
    res.json({ assignment: await assignModels(ctx.redis, ctx.keys, models) });
  });
  router.delete('/api/v1/serving/assignment/:model', ctx.guard('admin'), async (req, res) => {
    const model = ModelName.parse(req.params.model);
    res.json({ assignment: await unassignModels(ctx.redis, ctx.keys, [model]) });
  });
};
