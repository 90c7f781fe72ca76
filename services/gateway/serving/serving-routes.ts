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
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute, named } from '../openapi/route-spec.js';

export const AssignBody = named(
  'AssignBody',
  z.object({
    models: z
      .array(z.union([ModelName, z.literal('*')]))
      .min(1)
      .max(1000)
      .describe('model names, or `*` for all'),
  }),
);

/** The serving routes, declared once: mounted from these and documented from these. */
export const servingApi = {
  fleet: defineRoute({
    method: 'get',
    path: '/api/v1/serving',
    permission: 'read',
    tag: 'cluster',
    summary: 'Serving replicas and the models each one serves',
    description: 'An unreachable replica is listed with `ok: false` and its error.',
  }),
  assign: defineRoute({
    method: 'post',
    path: '/api/v1/serving/assignment',
    permission: 'admin',
    tag: 'cluster',
    summary: 'Set which models the serving replicas load (`*`: all)',
    body: AssignBody,
    bodyExample: { models: ['digits', 'iris'] },
  }),
  unassign: defineRoute({
    method: 'delete',
    path: '/api/v1/serving/assignment/:model',
    permission: 'admin',
    tag: 'cluster',
    summary: 'Remove a model from the serving assignment',
    params: z.object({ model: ModelName }),
  }),
};

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
    const mount = routeMounter(router, ctx);
    mount(servingApi.fleet, async () => {
      const [fleet, assignment] = await Promise.all([
        readFleet(servingReplicas()),
        readAssignment(ctx.redis, ctx.keys),
      ]);
      return { assignment, ...fleet } satisfies ServingView;
    });
    mount(servingApi.assign, async ({ body }) => ({
      assignment: await assignModels(ctx.redis, ctx.keys, body.models),
    }));
    mount(servingApi.unassign, async ({ params }) => ({
      assignment: await unassignModels(ctx.redis, ctx.keys, [params.model]),
    }));
  };
