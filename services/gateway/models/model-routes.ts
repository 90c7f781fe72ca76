import express from 'express';
import { z } from 'zod';
import {
  EventLog,
  Forbidden,
  GenerationNumber,
  ModelName,
  ModelRegistry,
  SessionStore,
  parseDatasetRef,
  roleAllows,
} from '../../../shared/index.js';
import type { TokenInfo } from '../auth/token-store.js';
import type { RouteModule } from '../http/route-context.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute, named } from '../openapi/route-spec.js';
import { ReportedMetrics, inspectOnnx } from './model-upload.js';

function parseLineage(ref: string): { dataset: string; version: number } | null {
  const r = parseDatasetRef(ref);
  return r.version ? { dataset: r.name, version: r.version } : null;
}

export const UploadQuery = z.object({
  type: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/)
    .default('classifier')
    .describe('model type, when the upload creates the model'),
  description: z.string().max(500).optional().describe('model description, when it creates it'),
  metrics: ReportedMetrics,
  promote: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .describe('promote to production at once (admins only)')
    .transform((v) => v === 'true' || v === '1'),
  dataset: z
    .string()
    .regex(/^[^@]+@[1-9][0-9]*$/, 'expected NAME@VERSION')
    .optional()
    .describe(
      'lineage, for trainers outside the platform: the dataset version (NAME@VERSION) it was trained on',
    ),
});

export const RejectBody = named('RejectBody', z.object({ reason: z.string().min(1).max(500) }));

const PromoteQuery = z.object({
  force: z.enum(['true', 'false']).optional().describe('promote even a rejected generation'),
});

const ModelParams = z.object({ name: ModelName });
const GenParams = z.object({ name: ModelName, gen: GenerationNumber });

/** The model routes, declared once: mounted from these and documented from these. */
export const modelApi = {
  list: defineRoute({
    method: 'get',
    path: '/api/v1/models',
    permission: 'read',
    tag: 'models',
    summary: 'List models',
  }),
  get: defineRoute({
    method: 'get',
    path: '/api/v1/models/:name',
    permission: 'read',
    tag: 'models',
    summary: 'A model and its generation tree',
    params: ModelParams,
    errors: { 404: 'no such model' },
  }),
  generation: defineRoute({
    method: 'get',
    path: '/api/v1/models/:name/generations/:gen',
    permission: 'read',
    tag: 'models',
    summary: 'One generation: status, metrics, lineage',
    params: GenParams,
    errors: { 404: 'no such model or generation' },
  }),
  onnx: defineRoute({
    method: 'get',
    path: '/api/v1/models/:name/generations/:gen/onnx',
    permission: 'read',
    tag: 'models',
    summary: "Download a generation's ONNX file",
    params: GenParams,
    produces: 'application/octet-stream',
    errors: { 404: 'no such model or generation' },
  }),
  upload: defineRoute({
    method: 'post',
    path: '/api/v1/models/:name/generations',
    permission: 'write',
    tag: 'models',
    summary: 'Upload an ONNX file as a new candidate generation (promote=true needs admin)',
    params: ModelParams,
    query: UploadQuery,
    body: { raw: { 'application/octet-stream': { type: 'string', format: 'binary' } } },
    status: 201,
    errors: {
      400: 'an empty or unreadable ONNX file',
      403: "promote=true without the admin role, or a worker token uploading another session's model",
      404: "the worker token's session is gone",
      409: 'the model exists with another type',
      413: 'the file is over UPLOAD_LIMIT_BYTES',
    },
  }),
  promote: defineRoute({
    method: 'post',
    path: '/api/v1/models/:name/generations/:gen/promote',
    permission: 'admin',
    tag: 'models',
    summary: 'Promote a generation to production',
    params: GenParams,
    query: PromoteQuery,
    errors: {
      404: 'no such model or generation',
      409: 'the generation was rejected (force=true promotes anyway)',
    },
  }),
  reject: defineRoute({
    method: 'post',
    path: '/api/v1/models/:name/generations/:gen/reject',
    permission: 'admin',
    tag: 'models',
    summary: 'Reject a candidate generation',
    params: GenParams,
    body: RejectBody,
    bodyExample: { reason: 'worse than production on the holdout' },
    errors: {
      404: 'no such model or generation',
      409: 'the generation is in production',
    },
  }),
  deleteGeneration: defineRoute({
    method: 'delete',
    path: '/api/v1/models/:name/generations/:gen',
    permission: 'admin',
    tag: 'models',
    summary: 'Delete a generation',
    params: GenParams,
    status: 204,
    errors: {
      404: 'no such model or generation',
      409: 'the generation is in production; promote another first',
    },
  }),
};

/** Models and generations: the registry's tree, manual promotion, bring-your-own ONNX. */
export const modelRoutes: RouteModule = (router, ctx) => {
  const registry = new ModelRegistry(ctx.redis, ctx.keys);
  const events = new EventLog(ctx.redis, ctx.keys);
  const sessions = new SessionStore(ctx.redis, ctx.keys);
  const mount = routeMounter(router, ctx);

  mount(modelApi.list, async () => ({ models: await registry.listModels() }));
  mount(modelApi.get, async ({ params }) => {
    const [model, generations] = await Promise.all([
      registry.getModel(params.name),
      registry.listGenerations(params.name),
    ]);
    return { ...model, generationsList: generations };
  });
  mount(modelApi.generation, async ({ params }) => registry.getGeneration(params.name, params.gen));
  mount(modelApi.onnx, async ({ params: { name: n, gen: g } }, _req, res) => {
    const bytes = await registry.getWeights(n, g);
    res
      .type('application/octet-stream')
      .set('content-disposition', `attachment; filename="${n}-${g}.onnx"`)
      .send(bytes);
  });
  mount(
    modelApi.upload,
    async ({ params: { name: n }, query: q }, req, res) => {
      const auth = res.locals.auth as TokenInfo;
      if (q.promote && !roleAllows(auth.role, 'admin'))
        throw new Forbidden('promote=true needs the admin role');
      const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const io = await inspectOnnx(bytes);
      // A session's worker token uploads for its own session: the candidate is then decided
      // by the event listener like a built-in trainer's.
      const sessionId = auth.sessionId;
      if (sessionId) {
        const s = await sessions.get(sessionId);
        if ((s.request as { model?: string }).model !== n) {
          throw new Forbidden(
            `session ${sessionId} trains model ${(s.request as { model?: string }).model}, not ${n}`,
          );
        }
      }
      const lineageRef =
        q.dataset ?? (sessionId ? (await sessions.get(sessionId)).request : undefined);
      const lineage = lineageRef
        ? parseLineage(
            typeof lineageRef === 'string'
              ? lineageRef
              : (lineageRef as { dataset: string }).dataset,
          )
        : null;
      await registry.ensureModel(n, {
        type: q.type,
        ...(q.description ? { description: q.description } : {}),
      });
      const gen = await registry.addGeneration(n, {
        type: q.type,
        weights: bytes,
        metrics: q.metrics,
        params: { source: sessionId ? 'external trainer' : 'upload' },
        io,
        lineage,
        ...(sessionId ? { sessionId } : {}),
        trigger: sessionId ? `session ${sessionId}` : `upload by ${auth.name}`,
      });
      await events.append({
        ...(sessionId ? { sessionId } : {}),
        kind: 'generation.candidate',
        payload: {
          model: n,
          gen: gen.gen,
          metrics: q.metrics,
          source: sessionId ? 'external' : 'upload',
        },
      });
      if (q.promote) {
        const { previous } = await registry.promote(n, gen.gen);
        await events.append({
          kind: 'generation.promoted',
          payload: {
            model: n,
            gen: gen.gen,
            previous,
            reason: `uploaded and promoted by ${auth.name}`,
          },
        });
      }
      return registry.getGeneration(n, gen.gen);
    },
    { before: [express.raw({ type: () => true, limit: ctx.config.UPLOAD_LIMIT_BYTES })] },
  );
  mount(modelApi.promote, async ({ params: { name: n, gen: g }, query }, _req, res) => {
    const auth = res.locals.auth as TokenInfo;
    const { previous } = await registry.promote(n, g, { force: query.force === 'true' });
    await events.append({
      kind: 'generation.promoted',
      payload: { model: n, gen: g, previous, reason: `promoted by hand by ${auth.name}` },
    });
    return registry.getGeneration(n, g);
  });
  mount(modelApi.reject, async ({ params: { name: n, gen: g }, body: { reason } }) => {
    await registry.reject(n, g, reason);
    await events.append({ kind: 'generation.rejected', payload: { model: n, gen: g, reason } });
    return registry.getGeneration(n, g);
  });
  mount(modelApi.deleteGeneration, async ({ params }) => {
    await registry.deleteGeneration(params.name, params.gen);
  });
};
