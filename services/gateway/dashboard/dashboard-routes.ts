import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { NotFound } from '../../../shared/index.js';
import type { RouteModule } from '../http/route-context.js';

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

/** Serves the dashboard at `/` (static files, no caching surprises: revalidated by ETag). */
export const dashboardRoutes: RouteModule = (router, ctx) => {
  const dir = dashboardDir(ctx.config.DASHBOARD_DIR);
  const files = dir
    ? express.static(dir, {
        index: 'index.html',
        fallthrough: true,
        setHeaders(res) {
          res.setHeader('cache-control', 'no-cache');
          res.setHeader('content-security-policy', CSP);
          res.setHeader('x-content-type-options', 'nosniff');
          res.setHeader('referrer-policy', 'no-referrer');
        },
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
