import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NotFound } from '../../../shared/index.js';
import type { RouteModule } from '../http/route-context.js';
import { loadStaticFiles, staticHandler } from './static-files.js';

/** Paths that belong to APIs: never answered with the page, so their 404s stay JSON. */
const API_PATH = /^\/(api|v1|v2)(\/|$)|^\/(healthz|readyz|metrics)$/;

// The page talks to its own origin only (REST and the WebSocket); uPlot sets inline styles.
const CSP = [
  "default-src 'self'",
  "connect-src 'self' ws: wss:",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * Where the built page is: DASHBOARD_DIR, else `web/dist` of the checkout, found from this
 * file whether it runs from source (services/…) or built (dist/services/…).
 */
export function dashboardDir(configured: string | undefined): string | undefined {
  if (configured) return configured;
  for (const up of ['../../../web/dist', '../../../../web/dist']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(`${dir}/index.html`)) return dir;
  }
  return undefined;
}

/**
 * Serves the dashboard at `/`: brotli or gzip when the client takes it, hashed bundles cached
 * for a year, index.html revalidated by ETag. The files are read once, at start.
 */
export const dashboardRoutes: RouteModule = (router, ctx) => {
  const dir = dashboardDir(ctx.config.DASHBOARD_DIR);
  const files = dir
    ? staticHandler(loadStaticFiles(dir), {
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      })
    : undefined;
  router.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || API_PATH.test(req.path)) return next();
    if (files) return files(req, res, next);
    if (req.path === '/' || req.path === '/index.html') {
      return next(new NotFound('the dashboard is not built: run `npm run build`'));
    }
    next();
  });
};
