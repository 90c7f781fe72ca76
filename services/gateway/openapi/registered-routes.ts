import type { Express } from 'express';
import { ROUTE_SPEC } from './mount-route.js';
import type { RouteSpec } from './route-spec.js';

export interface RegisteredRoute {
  method: string;
  path: string;
  /** the declaration it was mounted from (mountRoute); undefined for a hand-mounted route */
  spec: RouteSpec | undefined;
}

interface Layer {
  route?: {
    path: string | string[];
    methods: Record<string, boolean>;
    stack?: { handle?: Record<symbol, unknown> }[];
  };
  handle?: { stack?: Layer[] };
}

/** The method/path pairs an express app has routes for (nested routers included). */
export function registeredRoutes(app: Express): RegisteredRoute[] {
  const out: RegisteredRoute[] = [];
  const walk = (stack: Layer[] | undefined) => {
    for (const layer of stack ?? []) {
      if (layer.route) {
        const spec = layer.route.stack
          ?.map((l) => l.handle?.[ROUTE_SPEC] as RouteSpec | undefined)
          .find((s) => s !== undefined);
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of paths) {
          for (const [method, on] of Object.entries(layer.route.methods)) {
            if (on && method !== '_all') out.push({ method, path, spec });
          }
        }
      } else walk(layer.handle?.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}
