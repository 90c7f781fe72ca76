import type { RequestHandler, Router } from 'express';
import {
  BadInput,
  type Permission,
  type LiveConfig,
  getRules,
  putRules,
  rulesHistory,
  type StoredRules,
  effectiveRules,
} from '../../../shared/index.js';

/** What the routes need of the gateway's route context. */
export interface RulesRouteContext {
  guard(perm: Permission): RequestHandler;
}

/**
 * `GET/PUT /api/v1/rules` and `GET /api/v1/rules/history`, for the gateway to mount:
 * `routes: [rulesRoutes(live)]`. A malformed document is a 400 naming the path of every
 * problem, and the rules in force stay as they were.
 */
export function rulesRoutes(live: LiveConfig) {
  return (router: Router, ctx: RulesRouteContext): void => {
    router.get('/api/v1/rules', ctx.guard('read'), async (_req, res) => {
      res.json(view(await getRules(live)));
    });
    router.put('/api/v1/rules', ctx.guard('admin'), async (req, res) => {
      const author = (res.locals.auth as { name?: string } | undefined)?.name;
      const stored = await putRules(live, req.body ?? null, {
        ...(author === undefined ? {} : { author }),
        ...ifVersion(req.query.ifVersion),
      });
      res.json(view(stored));
    });
    router.get('/api/v1/rules/history', ctx.guard('read'), async (req, res) => {
      const limit = Math.min(Math.max(Number(req.query.limit ?? 20) || 20, 1), 100);
      res.json({ versions: (await rulesHistory(live, limit)).map(view) });
    });
  };
}

function ifVersion(q: unknown): { ifVersion?: number } {
  if (q === undefined) return {};
  const v = Number(q);
  if (!Number.isInteger(v) || v < 0) throw new BadInput('ifVersion must be a whole number');
  return { ifVersion: v };
}

/** The stored document plus the defaults it resolves to, so a reader sees what applies. */
function view(r: StoredRules) {
  return { ...r, effective: effectiveRules(r.doc) };
}
