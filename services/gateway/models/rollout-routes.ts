/**
 * A model's staged rollout (docs/rollout.md): read it, and the operator's commands. The
 * gateway only rewrites the state (compare-and-set on its revision, announced to serving in
 * the same script) and archives the command; the event listener's rollout loop carries out
 * what a promoted or aborted state implies in the registry (the challenger promoted or
 * rejected, through the event-handler), so there is one path to production.
 */
import { z } from 'zod';
import {
  Conflict,
  EventLog,
  ModelName,
  ModelRegistry,
  NotFound,
  RolloutState,
  readLabels,
  readRollout,
  updateRollout,
  type Keys,
  type RolloutStatus,
} from '../../../shared/index.js';
import type { Redis } from 'ioredis';
import type { TokenInfo } from '../auth/token-store.js';
import type { RouteModule } from '../http/route-context.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute, named } from '../openapi/route-spec.js';

const Params = z.object({ name: ModelName });
const CommandBody = named(
  'RolloutCommand',
  z
    .object({
      reason: z.string().min(1).max(500).optional().describe('kept in the state and event'),
    })
    .strict(),
);
const RolloutView = named(
  'RolloutView',
  z.object({
    model: z.string(),
    rollout: RolloutState.nullable().describe('null: the model never had a rollout'),
    labels: z.record(z.string(), z.number()).describe('version label → generation'),
    online: z
      .record(z.string(), z.record(z.string(), z.number()))
      .describe("the cumulative online counters of the rollout's generations, by generation"),
  }),
);

const command = (verb: string, summary: string, when: string) =>
  defineRoute({
    method: 'post',
    path: `/api/v1/models/:name/rollout/${verb}`,
    permission: 'write',
    tag: 'models',
    summary,
    params: Params,
    body: CommandBody,
    response: RolloutView,
    errors: { 404: 'no such model', 409: when },
  });

/** The rollout routes, declared once: mounted from these and documented from these. */
export const rolloutApi = {
  get: defineRoute({
    method: 'get',
    path: '/api/v1/models/:name/rollout',
    permission: 'read',
    tag: 'models',
    summary: "The model's rollout (the current or last one), its labels and online counters",
    params: Params,
    response: RolloutView,
    errors: { 404: 'no such model' },
  }),
  promote: command(
    'promote',
    'Promote the challenger now, whatever its gates say',
    'no rollout is running or paused',
  ),
  pause: command(
    'pause',
    'Hold the rollout at its step: no gate readings, traffic as it is',
    'the rollout is not running',
  ),
  resume: command('resume', 'Resume a paused rollout', 'the rollout is not paused'),
  abort: command(
    'abort',
    'Stop the rollout: traffic back to production, the challenger rejected',
    'no rollout is running or paused',
  ),
};

type Verb = 'promote' | 'pause' | 'resume' | 'abort';
const ALLOWED: Record<Verb, RolloutStatus[]> = {
  promote: ['running', 'paused'],
  pause: ['running'],
  resume: ['paused'],
  abort: ['running', 'paused'],
};
const EVENT: Record<Verb, string> = {
  promote: 'rollout.promoted',
  pause: 'rollout.paused',
  resume: 'rollout.resumed',
  abort: 'rollout.aborted',
};

/** The state after an operator's command, or a Conflict saying why it does not apply. */
export function applyCommand(
  cur: RolloutState | null,
  verb: Verb,
  who: string,
  reason: string | undefined,
  now: number,
): RolloutState {
  if (!cur || !ALLOWED[verb].includes(cur.status)) {
    throw new Conflict(
      cur
        ? `the rollout of gen ${cur.challenger} is ${cur.status}; ${verb} needs it ${ALLOWED[verb].join(' or ')}`
        : `the model has no rollout to ${verb}`,
      { status: cur?.status ?? null },
    );
  }
  const why = reason ? `: ${reason}` : '';
  switch (verb) {
    case 'pause':
      return { ...cur, status: 'paused', by: who, reason: `paused by ${who}${why}` };
    case 'resume':
      // The next reading is a full interval away: what came in while paused still counts.
      return { ...cur, status: 'running', by: who, readAt: now, reason: `resumed by ${who}${why}` };
    case 'promote':
      return {
        ...cur,
        status: 'promoted',
        phase: 'done',
        canaryPercent: 100,
        shadows: [],
        endedAt: now,
        by: who,
        reason: `promoted by ${who}${why}`,
      };
    case 'abort':
      return {
        ...cur,
        status: 'aborted',
        phase: 'done',
        canaryPercent: 0,
        shadows: [],
        endedAt: now,
        by: who,
        reason: `aborted by ${who}${why}`,
      };
  }
}

async function view(redis: Redis, keys: Keys, model: string) {
  const [rollout, labels] = await Promise.all([
    readRollout(redis, keys, model),
    readLabels(redis, keys, model),
  ]);
  const gens = rollout ? [rollout.production, rollout.challenger] : [];
  const online: Record<string, Record<string, number>> = {};
  for (const g of gens) {
    if (g === null) continue;
    const h = await redis.hgetall(keys.modelGenOnline(model, g));
    online[String(g)] = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
  }
  return { model, rollout, labels, online };
}

export const rolloutRoutes: RouteModule = (router, ctx) => {
  const registry = new ModelRegistry(ctx.redis, ctx.keys);
  const events = new EventLog(ctx.redis, ctx.keys);
  const mount = routeMounter(router, ctx);
  const exists = async (model: string) => {
    await registry.getModel(model).catch((err: unknown) => {
      throw err instanceof NotFound ? new NotFound(`model ${model} not found`, { model }) : err;
    });
  };

  mount(rolloutApi.get, async ({ params }) => {
    await exists(params.name);
    return view(ctx.redis, ctx.keys, params.name);
  });
  for (const verb of ['promote', 'pause', 'resume', 'abort'] as const) {
    mount(rolloutApi[verb], async ({ params, body }, _req, res) => {
      await exists(params.name);
      const who = (res.locals.auth as TokenInfo | undefined)?.name ?? 'an operator';
      const now = Date.now();
      const next = await updateRollout(ctx.redis, ctx.keys, params.name, (cur) =>
        applyCommand(cur, verb, who, body.reason, now),
      );
      await events.append({
        kind: EVENT[verb],
        payload: {
          model: params.name,
          gen: next?.challenger,
          production: next?.production,
          by: who,
          reason: next?.reason,
        },
      });
      ctx.log.info({ model: params.name, verb, by: who }, `rollout ${verb}`);
      return view(ctx.redis, ctx.keys, params.name);
    });
  }
};
