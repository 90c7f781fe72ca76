/**
 * A model's version policy (shared/protocol/version-policy.ts): which generations answer
 * `/versions/<n>` requests. Writing it tells every serving replica at once (`loaded`
 * control message: re-read what is served).
 */
import { z } from 'zod';
import {
  DEFAULT_VERSION_POLICY,
  ModelName,
  ModelRegistry,
  policyGenerations,
  publishControl,
  readVersionFacts,
  VersionPolicy,
} from '../../../shared/index.js';
import type { RouteModule } from '../http/route-context.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute, named } from '../openapi/route-spec.js';

const Params = z.object({ name: ModelName });
const PolicyBody = named(
  'VersionPolicy',
  VersionPolicy.describe(
    '`{"latest": N}`, `{"specific": [gens]}` or `{"all": true}`; rejected and archived generations are never in it',
  ),
);

export const versionPolicyApi = {
  get: defineRoute({
    method: 'get',
    path: '/api/v1/models/:name/version-policy',
    permission: 'read',
    tag: 'models',
    summary: "A model's version policy and the generations it serves now",
    description:
      "`served` lists production, the policy's generations and those an operator loaded (`POST /v2/repository/models/{m}/load`); labels and a running rollout open more.",
    params: Params,
    errors: { 404: 'no such model' },
  }),
  put: defineRoute({
    method: 'put',
    path: '/api/v1/models/:name/version-policy',
    permission: 'admin',
    tag: 'models',
    summary: 'Set which generations answer /versions/<n> requests (TF Serving version policy)',
    params: Params,
    body: PolicyBody,
    bodyExample: { latest: 2 },
    errors: { 404: 'no such model' },
  }),
  reset: defineRoute({
    method: 'delete',
    path: '/api/v1/models/:name/version-policy',
    permission: 'admin',
    tag: 'models',
    summary: 'Back to the default policy (`{"all": true}`)',
    params: Params,
    errors: { 404: 'no such model' },
  }),
};

export const versionPolicyRoutes: RouteModule = (router, ctx) => {
  const mount = routeMounter(router, ctx);
  const registry = new ModelRegistry(ctx.redis, ctx.keys);
  const view = async (name: string) => {
    const f = await readVersionFacts(ctx.redis, ctx.keys, registry, name, ctx.log);
    const served = new Set([...policyGenerations(f), ...f.loaded]);
    if (f.production !== null) served.add(f.production);
    return {
      model: name,
      policy: f.policy,
      production: f.production,
      loaded: [...f.loaded].sort((a, b) => a - b),
      served: [...served].sort((a, b) => a - b),
    };
  };
  const announce = (model: string) =>
    publishControl(ctx.redis, ctx.keys, { type: 'loaded', model });
  mount(versionPolicyApi.get, async ({ params }) => view(params.name));
  mount(versionPolicyApi.put, async ({ params, body }) => {
    await registry.getModel(params.name);
    await ctx.redis.set(ctx.keys.modelVersionPolicy(params.name), JSON.stringify(body));
    await announce(params.name);
    return view(params.name);
  });
  mount(versionPolicyApi.reset, async ({ params }) => {
    await registry.getModel(params.name);
    await ctx.redis.del(ctx.keys.modelVersionPolicy(params.name));
    await announce(params.name);
    return { ...(await view(params.name)), policy: DEFAULT_VERSION_POLICY };
  });
};
