import { z } from 'zod';
import {
  FleetReport,
  ModelName,
  type ReplicaView,
  type ServedModel,
  type ServingView,
  assignModels,
  readAssignment,
  unassignModels,
} from '../../../shared/index.js';
import type { RouteModule } from '../http/route-context.js';

export const AssignBody = z.object({
  models: z
    .array(z.union([ModelName, z.literal('*')]))
    .min(1)
    .max(1000),
});

/** Asks every replica what it serves; an unreachable one is reported, not fatal. */
export async function readFleet(
  urls: URL[],
  timeoutMs = 1_000,
): Promise<Omit<ServingView, 'assignment'>> {
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
        const f = FleetReport.parse(await res.json());
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
  // Replicas answer in any order; listings must not reshuffle from one call to the next.
  for (const m of models) m.served.sort((a, b) => a.url.localeCompare(b.url));
  return { replicas, models };
}

/**
 * What is served where, and the assignment that decides it (`swarmml serve`, `swarmml serving`).
 * `servingReplicas` is the gateway's own list (re-resolved from DNS in swarm mode).
 */
export const servingRoutes =
  (servingReplicas: () => URL[]): RouteModule =>
  (router, ctx) => {
    router.get('/api/v1/serving', ctx.guard('read'), async (_req, res) => {
      const [fleet, assignment] = await Promise.all([
        readFleet(servingReplicas()),
        readAssignment(ctx.redis, ctx.keys),
      ]);
      res.json({ assignment, ...fleet } satisfies ServingView);
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
