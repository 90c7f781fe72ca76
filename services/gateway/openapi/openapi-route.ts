import type { RouteModule } from '../http/route-context.js';
import { buildOpenApi } from './document.js';

let cached: string | undefined;

/** `GET /api/v1/openapi.json`: public, like the docs it describes. Built once per process. */
export const openapiRoutes: RouteModule = (router) => {
  router.get('/api/v1/openapi.json', (_req, res) => {
    cached ??= JSON.stringify(buildOpenApi());
    res.type('application/json').send(cached);
  });
};
