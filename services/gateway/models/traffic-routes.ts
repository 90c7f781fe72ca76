/**
 * Ground truth, online figures and version labels of a model (docs/serving.md):
 * - `POST /api/v1/models/{m}/feedback`: labels for served answers, by prediction id;
 * - `GET /api/v1/models/{m}/online`: each generation's live figures (requests, errors,
 *   latency, shadow agreement, online accuracy);
 * - `GET|PUT|DELETE /api/v1/models/{m}/labels[/{label}]`: TF Serving's version labels.
 */
import { z } from 'zod';
import {
  Conflict,
  FeedbackBody,
  GenerationNumber,
  ModelName,
  ModelRegistry,
  NotFound,
  readLabels,
  readRollout,
  writeLabel,
} from '../../../shared/index.js';
import type { RouteModule } from '../http/route-context.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute, named } from '../openapi/route-spec.js';
import { applyFeedback } from './feedback.js';
import { onlineFigures } from './online-figures.js';

const ModelParams = z.object({ name: ModelName });
const LabelName = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/,
    'a label: a letter, then letters, digits, _ . - (64 at most)',
  )
  .describe('version label, e.g. stable or canary');
const LabelParams = z.object({ name: ModelName, label: LabelName });
export const LabelBody = named(
  'LabelBody',
  z
    .object({ gen: z.number().int().min(1).describe('the generation the label points at') })
    .strict(),
);
const OnlineQuery = z.object({
  gen: GenerationNumber.optional().describe('only this generation'),
});

export const trafficApi = {
  feedback: defineRoute({
    method: 'post',
    path: '/api/v1/models/:name/feedback',
    permission: 'write',
    tag: 'models',
    summary: 'Ground truth for served answers, by prediction id (one or many)',
    params: ModelParams,
    body: named('FeedbackBody', FeedbackBody),
    bodyExample: [
      { id: '6c1f0a2e-5d7b-4a8e-9a53-0d2c1c7f1b11', label: 'setosa' },
      { id: 'my-req-1', label: 2 },
    ],
  }),
  online: defineRoute({
    method: 'get',
    path: '/api/v1/models/:name/online',
    permission: 'read',
    tag: 'models',
    summary: "Each generation's live figures: traffic, errors, latency, shadows, online accuracy",
    params: ModelParams,
    query: OnlineQuery,
    errors: { 404: 'no such model' },
  }),
  labels: defineRoute({
    method: 'get',
    path: '/api/v1/models/:name/labels',
    permission: 'read',
    tag: 'models',
    summary: "The model's version labels (label → generation)",
    params: ModelParams,
  }),
  putLabel: defineRoute({
    method: 'put',
    path: '/api/v1/models/:name/labels/:label',
    permission: 'write',
    tag: 'models',
    summary: 'Point a version label at a generation',
    params: LabelParams,
    body: LabelBody,
    bodyExample: { gen: 3 },
    errors: {
      404: 'no such model or generation',
      409: 'the generation was rejected',
    },
  }),
  deleteLabel: defineRoute({
    method: 'delete',
    path: '/api/v1/models/:name/labels/:label',
    permission: 'write',
    tag: 'models',
    summary: 'Remove a version label',
    params: LabelParams,
    status: 204,
    errors: { 404: 'no such label' },
  }),
};

export const trafficRoutes: RouteModule = (router, ctx) => {
  const registry = new ModelRegistry(ctx.redis, ctx.keys);
  const { redis, keys } = ctx;
  const mount = routeMounter(router, ctx);

  mount(trafficApi.feedback, async ({ params, body }) => {
    await registry.getModel(params.name);
    return applyFeedback({ redis, keys, registry }, params.name, body);
  });

  mount(trafficApi.online, async ({ params: { name }, query }) => {
    const gens =
      query.gen !== undefined
        ? [(await registry.getGeneration(name, query.gen)).gen]
        : (await registry.listGenerations(name)).map((g) => g.gen);
    const p = redis.pipeline();
    for (const g of gens) p.hgetall(keys.modelGenOnline(name, g));
    const rows = (await p.exec()) ?? [];
    const [rollout, labels] = await Promise.all([
      readRollout(redis, keys, name).catch(() => null),
      readLabels(redis, keys, name),
    ]);
    return {
      model: name,
      generations: gens.flatMap((gen, i) => {
        const raw = (rows[i]?.[1] ?? {}) as Record<string, string>;
        return Object.keys(raw).length === 0 ? [] : [{ gen, ...onlineFigures(raw) }];
      }),
      rollout,
      labels,
    };
  });

  mount(trafficApi.labels, async ({ params: { name } }) => ({
    model: name,
    labels: await readLabels(redis, keys, name),
  }));

  mount(trafficApi.putLabel, async ({ params: { name, label }, body: { gen } }) => {
    const g = await registry.getGeneration(name, gen);
    if (g.status === 'rejected') {
      throw new Conflict(
        `generation ${gen} of "${name}" was rejected; a label points at a servable generation`,
        { status: g.status },
      );
    }
    await writeLabel(redis, keys, name, label, gen);
    return { model: name, labels: await readLabels(redis, keys, name) };
  });

  mount(trafficApi.deleteLabel, async ({ params: { name, label } }) => {
    if (!(await writeLabel(redis, keys, name, label, null))) {
      throw new NotFound(`model "${name}" has no label "${label}"`);
    }
  });
};
