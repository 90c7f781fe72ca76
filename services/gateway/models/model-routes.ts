import express from 'express';
import { z } from 'zod';
import {
  EventLog,
  Forbidden,
  ModelName,
  ModelRegistry,
  SessionStore,
  parseDatasetRef,
  roleAllows,
} from '../../../shared/index.js';
import type { TokenInfo } from '../auth/token-store.js';
import type { RouteModule } from '../http/route-context.js';
import { inspectOnnx } from './model-upload.js';

const GenParam = z.coerce.number().int().min(1);

function parseLineage(ref: string): { dataset: string; version: number } | null {
  const r = parseDatasetRef(ref);
  return r.version ? { dataset: r.name, version: r.version } : null;
}

export const UploadQuery = z.object({
  type: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/)
    .default('classifier'),
  description: z.string().max(500).optional(),
  metrics: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (!s) return {};
      try {
        return z.record(z.string(), z.number()).parse(JSON.parse(s));
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: 'metrics must be a JSON object of numbers, e.g. {"valAccuracy":0.93}',
        });
        return z.NEVER;
      }
    }),
  promote: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
  /** lineage, for trainers outside the platform: the dataset version the model was trained on */
  dataset: z
    .string()
    .regex(/^[^@]+@[1-9][0-9]*$/, 'expected NAME@VERSION')
    .optional(),
});

export const RejectBody = z.object({ reason: z.string().min(1).max(500) });

/** Models and generations: the registry's tree, manual promotion, bring-your-own ONNX. */
export const modelRoutes: RouteModule = (router, ctx) => {
  const registry = new ModelRegistry(ctx.redis, ctx.keys);
  const events = new EventLog(ctx.redis, ctx.keys);
  const sessions = new SessionStore(ctx.redis, ctx.keys);
  const name = (p: unknown) => ModelName.parse(p);

  router.get('/api/v1/models', ctx.guard('read'), async (_req, res) => {
    res.json({ models: await registry.listModels() });
  });
  router.get('/api/v1/models/:name', ctx.guard('read'), async (req, res) => {
    const n = name(req.params.name);
    const [model, generations] = await Promise.all([
      registry.getModel(n),
      registry.listGenerations(n),
    ]);
    res.json({ ...model, generationsList: generations });
  });
  router.get('/api/v1/models/:name/generations/:gen', ctx.guard('read'), async (req, res) => {
    res.json(await registry.getGeneration(name(req.params.name), GenParam.parse(req.params.gen)));
  });
  router.get('/api/v1/models/:name/generations/:gen/onnx', ctx.guard('read'), async (req, res) => {
    const n = name(req.params.name);
    const g = GenParam.parse(req.params.gen);
    const bytes = await registry.getWeights(n, g);
    res
      .type('application/octet-stream')
      .set('content-disposition', `attachment; filename="${n}-${g}.onnx"`)
      .send(bytes);
  });
  router.post(
    '/api/v1/models/:name/generations',
    ctx.guard('write'),
    express.raw({ type: () => true, limit: ctx.config.UPLOAD_LIMIT_BYTES }),
    async (req, res) => {
      const n = name(req.params.name);
      const q = UploadQuery.parse(req.query);
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
      res.status(201).json(await registry.getGeneration(n, gen.gen));
    },
  );
  router.post(
    '/api/v1/models/:name/generations/:gen/promote',
    ctx.guard('admin'),
    async (req, res) => {
      const n = name(req.params.name);
      const g = GenParam.parse(req.params.gen);
      const auth = res.locals.auth as TokenInfo;
      const force = req.query.force === 'true';
      const { previous } = await registry.promote(n, g, { force });
      await events.append({
        kind: 'generation.promoted',
        payload: { model: n, gen: g, previous, reason: `promoted by hand by ${auth.name}` },
      });
      res.json(await registry.getGeneration(n, g));
    },
  );
  router.post(
    '/api/v1/models/:name/generations/:gen/reject',
    ctx.guard('admin'),
    async (req, res) => {
      const n = name(req.params.name);
      const g = GenParam.parse(req.params.gen);
      const { reason } = RejectBody.parse(req.body ?? {});
      await registry.reject(n, g, reason);
      await events.append({ kind: 'generation.rejected', payload: { model: n, gen: g, reason } });
      res.json(await registry.getGeneration(n, g));
    },
  );
  router.delete('/api/v1/models/:name/generations/:gen', ctx.guard('admin'), async (req, res) => {
    await registry.deleteGeneration(name(req.params.name), GenParam.parse(req.params.gen));
    res.status(204).end();
  });
};
