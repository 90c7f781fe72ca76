import { z } from 'zod';
import { Role } from '../../../shared/index.js';
import type { RouteModule } from '../http/route-context.js';

export const CreateTokenBody = z.object({
  name: z.string().min(1).max(100),
  role: Role,
  rateLimit: z
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(0)
    .describe('requests per second; 0 = unlimited'),
});

export const tokenRoutes: RouteModule = (router, ctx) => {
  router.get('/api/v1/tokens', ctx.guard('admin'), async (_req, res) => {
    res.json({ tokens: await ctx.tokens.list() });
  });
  router.post('/api/v1/tokens', ctx.guard('admin'), async (req, res) => {
    const body = CreateTokenBody.parse(req.body);
    const { token, info } = await ctx.tokens.create(body.name, body.role, body.rateLimit);
    res.status(201).json({ token, ...info });
  });
  router.delete('/api/v1/tokens/:id', ctx.guard('admin'), async (req, res) => {
    await ctx.tokens.revoke(String(req.params.id));
    res.status(204).end();
  });
};
