import type { RouteModule } from './route-context.js';

/** Liveness needs nothing; readiness needs Redis. Neither needs a token (probes call them). */
export const healthRoutes: RouteModule = (router, ctx) => {
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    try {
      await ctx.redis.ping();
      res.json({ status: 'ready' });
    } catch (err) {
      res.status(503).json({ status: 'not ready', reason: `redis: ${(err as Error).message}` });
    }
  });
};
