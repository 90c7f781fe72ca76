import { z } from 'zod';
import { Role, TokenId } from '../../../shared/index.js';
import type { RouteModule } from '../http/route-context.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute, named } from '../openapi/route-spec.js';
import * as ex from '../openapi/examples.js';

export const CreateTokenBody = named(
  'CreateTokenBody',
  z.object({
    name: z.string().min(1).max(100),
    role: Role,
    rateLimit: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .default(0)
      .describe('requests per second; 0 = unlimited'),
    expiresInS: z
      .number()
      .int()
      .min(1)
      .max(10 * 365 * 24 * 3600)
      .optional()
      .describe('seconds until the token expires (open WebSockets close then); absent: never'),
  }),
);

const TokenInfo = named(
  'TokenInfo',
  z.object({
    id: z.string(),
    name: z.string(),
    role: Role,
    created: z.string().describe('ISO 8601'),
    rateLimit: z.number().int().describe('requests per second; 0 = unlimited'),
    expires: z.string().optional().describe('ISO 8601: refused from then on; absent: never'),
  }),
);

/** The token routes, declared once: mounted from these and documented from these. */
export const tokenApi = {
  list: defineRoute({
    method: 'get',
    path: '/api/v1/tokens',
    permission: 'admin',
    tag: 'tokens',
    summary: 'List API tokens (never the secrets)',
    response: z.object({ tokens: z.array(TokenInfo) }),
    responseExample: ex.tokens,
  }),
  create: defineRoute({
    method: 'post',
    path: '/api/v1/tokens',
    permission: 'admin',
    tag: 'tokens',
    summary: 'Create a token; the secret is shown once',
    body: CreateTokenBody,
    bodyExample: { name: 'ci', role: 'operator', rateLimit: 50 },
    status: 201,
    response: TokenInfo.extend({ token: z.string().describe('the secret, shown this once') }),
    responseExample: ex.tokenCreated,
  }),
  revoke: defineRoute({
    method: 'delete',
    path: '/api/v1/tokens/:id',
    permission: 'admin',
    tag: 'tokens',
    summary: 'Revoke a token',
    params: z.object({ id: TokenId }),
    status: 204,
    errors: { 404: 'no token with this id' },
  }),
};

export const tokenRoutes: RouteModule = (router, ctx) => {
  const mount = routeMounter(router, ctx);
  mount(tokenApi.list, async () => ({ tokens: await ctx.tokens.list() }));
  mount(tokenApi.create, async ({ body }) => {
    const expires = body.expiresInS ? new Date(Date.now() + body.expiresInS * 1000) : undefined;
    const { token, info } = await ctx.tokens.create(body.name, body.role, body.rateLimit, expires);
    return { token, ...info };
  });
  mount(tokenApi.revoke, async ({ params }) => {
    await ctx.tokens.revoke(params.id);
  });
};
