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
import { askReplicas } from './ask-replicas.js';
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
  const answers = await askReplicas(
    urls,
    '/internal/fleet',
    async (res) => FleetReport.parse(await res.json()),
    timeoutMs,
  );
  const replicas: ReplicaView[] = [];
  const byModel = new Map<string, ServedModel>();
  for (const a of answers) {
    if (!a.ok) {
      replicas.push({ url: a.url, ok: false, error: a.error });
      continue;
    }
    const f = a.value;
    replicas.push({ url: a.url, ok: true, replica: f.replica, ready: f.ready });
    for (const m of f.models) {
      const entry = byModel.get(m.name) ?? { model: m.name, served: [] };
      entry.served.push({
        url: a.url,
        replica: f.replica,
        gen: m.gen,
        state: m.state,
        loaded: m.loaded,
      });
      byModel.set(m.name, entry);
    }
  }
  const models = [...byModel.values()].sort((a, b) => a.model.localeCompare(b.model));
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
