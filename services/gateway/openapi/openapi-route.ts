import type { RouteModule } from '../http/route-context.js';
import { buildOpenApi } from './document.js';
import { openapiApi } from './api-routes.js';
import { routeMounter } from './mount-route.js';

let cached: string | undefined;

/** `GET /api/v1/openapi.json`: public, like the docs it describes. Built once per process. */
export const openapiRoutes: RouteModule = (router, ctx) => {
  routeMounter(router, ctx)(openapiApi.document, (_input, _req, res) => {
    cached ??= JSON.stringify(buildOpenApi());
    res.type('application/json').send(cached);
  });
};
