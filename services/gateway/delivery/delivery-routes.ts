import express from 'express';
import { z } from 'zod';
import type { DeliveryService } from './delivery-service.js';
import type { RouteModule } from '../http/route-context.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import type { SourceService } from '../sources/source-service.js';

export const DeadListQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** CSV lines (or any text) for a source whose mapping is CSV; JSON goes through express.json. */
const textBody = express.text({ type: ['text/*', 'application/csv'], limit: '8mb' });

export interface DeliveryRoutesDeps {
  delivery: DeliveryService;
  sources: SourceService;
  plugins?: PluginHost | undefined;
}

/** Delivery status and the dead-letter queue, live sources (status, HTTP push), plugins. */
export function deliveryRoutes(d: DeliveryRoutesDeps): RouteModule {
  return (router, ctx) => {
    router.get('/api/v1/deliveries', ctx.guard('read'), async (_req, res) => {
      res.json({ applied: d.delivery.applied(), counts: await d.delivery.counts() });
    });
    router.get('/api/v1/deliveries/dead', ctx.guard('write'), async (req, res) => {
      const q = DeadListQuery.parse(req.query);
      const [dead, total] = await Promise.all([
        d.delivery.listDead(q.offset, q.offset + q.limit - 1),
        d.delivery.countDead(),
      ]);
      res.json({ dead, total });
    });
    router.post('/api/v1/deliveries/dead/replay', ctx.guard('admin'), async (req, res) => {
      res.json(await d.delivery.replayDead(req.body));
    });
    router.get('/api/v1/sources', ctx.guard('read'), async (_req, res) => {
      res.json({ sources: d.sources.status() });
    });
    router.post('/api/v1/sources/:id/push', ctx.guard('write'), textBody, async (req, res) => {
      res.json(await d.sources.push(String(req.params.id), req.body));
    });
    router.get('/api/v1/plugins', ctx.guard('read'), async (_req, res) => {
      res.json({ plugins: d.plugins?.list() ?? [] });
    });
  };
}
