import express from 'express';
import { z } from 'zod';
import { DeadReplayRequest } from '../../../shared/index.js';
import type { DeliveryService } from './delivery-service.js';
import type { RouteModule } from '../http/route-context.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute, named } from '../openapi/route-spec.js';
import * as ex from '../openapi/examples.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import type { SourceService } from '../sources/source-service.js';

export const DeadListQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0).describe('skip this many, oldest first'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** Largest CSV (text) push body. */
const TEXT_LIMIT = '8mb';

/** CSV lines (or any text) for a source whose mapping is CSV; JSON goes through express.json. */
const textBody = express.text({ type: ['text/*', 'application/csv'], limit: TEXT_LIMIT });

/** The delivery, source and plugin routes, declared once: mounted and documented from these. */
export const deliveryApi = {
  status: defineRoute({
    method: 'get',
    path: '/api/v1/deliveries',
    permission: 'read',
    tag: 'delivery',
    summary: 'Applied delivery config version and queue counts',
    responseExample: ex.deliveryStatus,
  }),
  dead: defineRoute({
    method: 'get',
    path: '/api/v1/deliveries/dead',
    permission: 'write',
    tag: 'delivery',
    summary: 'Dead deliveries (retries exhausted), oldest first',
    query: DeadListQuery,
    responseExample: ex.deadList,
  }),
  replay: defineRoute({
    method: 'post',
    path: '/api/v1/deliveries/dead/replay',
    permission: 'write',
    tag: 'delivery',
    summary: 'Send dead deliveries again, to the channel as configured now',
    body: named('DeadReplayRequest', DeadReplayRequest),
    bodyExample: { all: true },
    response: z.object({ replayed: z.array(z.string()), missing: z.array(z.string()) }),
    responseExample: { replayed: ['d-42'], missing: [] },
    errors: { 404: 'none of the given ids is a dead delivery' },
  }),
  drop: defineRoute({
    method: 'post',
    path: '/api/v1/deliveries/dead/drop',
    permission: 'write',
    tag: 'delivery',
    summary: 'Remove dead deliveries without sending them',
    body: named('DeadReplayRequest', DeadReplayRequest),
    bodyExample: { ids: ['d-42'] },
    response: z.object({ dropped: z.array(z.string()), missing: z.array(z.string()) }),
    responseExample: { dropped: ['d-42'], missing: [] },
    errors: { 404: 'none of the given ids is a dead delivery' },
  }),
  sources: defineRoute({
    method: 'get',
    path: '/api/v1/sources',
    permission: 'read',
    tag: 'sources',
    summary: 'Live sources: state and counters',
    responseExample: ex.sourcesStatus,
  }),
  push: defineRoute({
    method: 'post',
    path: '/api/v1/sources/:id/push',
    permission: 'write',
    tag: 'sources',
    summary: 'Push samples to an HTTP source: a JSON object, a JSON array, or CSV lines (text/csv)',
    params: z.object({ id: z.string().max(200).describe('source id') }),
    body: {
      raw: {
        'application/json': {
          description: 'one message (object) or several (array), mapped by the source',
        },
        'text/csv': { type: 'string', description: 'CSV lines, for a source with a CSV mapping' },
      },
    },
    bodyExample: [{ temp: 21.5, load: { cpu: 0.4 }, state: 'ok' }],
    responseExample: ex.pushResult,
    errors: {
      400: 'malformed JSON, or no message fits the source mapping (`details.rejected`)',
      404: 'no enabled HTTP source with this id',
      409: 'a concurrent change to the dataset',
      413: `JSON over JSON_LIMIT, or text over ${TEXT_LIMIT}`,
      415: 'an unsupported charset or content encoding',
    },
  }),
  plugins: defineRoute({
    method: 'get',
    path: '/api/v1/plugins',
    permission: 'read',
    tag: 'sources',
    summary: 'Loaded plugins (formatters, rules, sources)',
  }),
};

export interface DeliveryRoutesDeps {
  delivery: DeliveryService;
  sources: SourceService;
  plugins?: PluginHost | undefined;
}

/** Delivery status and the dead-letter queue, live sources (status, HTTP push), plugins. */
export function deliveryRoutes(d: DeliveryRoutesDeps): RouteModule {
  return (router, ctx) => {
    const mount = routeMounter(router, ctx);
    mount(deliveryApi.status, async () => ({
      applied: d.delivery.applied(),
      counts: await d.delivery.counts(),
    }));
    mount(deliveryApi.dead, async ({ query: q }) => {
      const [dead, total] = await Promise.all([
        d.delivery.listDead(q.offset, q.offset + q.limit - 1),
        d.delivery.countDead(),
      ]);
      return { dead, total };
    });
    mount(deliveryApi.replay, async ({ body }) => d.delivery.replayDead(body));
    mount(deliveryApi.drop, async ({ body }) => d.delivery.dropDead(body));
    mount(deliveryApi.sources, () => ({ sources: d.sources.status() }));
    mount(deliveryApi.push, async ({ params, body }) => d.sources.push(params.id, body), {
      before: [textBody],
    });
    mount(deliveryApi.plugins, () => ({ plugins: d.plugins?.list() ?? [] }));
  };
}
