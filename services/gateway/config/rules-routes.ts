import type { RequestHandler, Router } from 'express';
import {
  type Permission,
  type LiveConfig,
  getRules,
  putRules,
  rulesHistory,
  type StoredRules,
  effectiveRules,
  RulesDocument,
} from '../../../shared/index.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute, named } from '../openapi/route-spec.js';
import * as ex from '../openapi/examples.js';
import { HistoryQuery, PutConfigQuery } from './config-routes.js';

/** What the routes need of the gateway's route context. */
export interface RulesRouteContext {
  guard(perm: Permission): RequestHandler;
}

/** The decision-rules routes, declared once: mounted from these and documented from these. */
export const rulesApi = {
  get: defineRoute({
    method: 'get',
    path: '/api/v1/rules',
    permission: 'read',
    tag: 'config',
    summary: "The event-listener's decision rules, with the defaults they resolve to",
  }),
  put: defineRoute({
    method: 'put',
    path: '/api/v1/rules',
    permission: 'admin',
    tag: 'config',
    summary: 'Replace the decision rules (same document as /api/v1/config/rules)',
    query: PutConfigQuery,
    body: { document: [named('RulesDocument', RulesDocument)] },
    bodyExample: ex.decisionRules,
    errors: { 409: 'ifVersion is not the current version' },
  }),
  history: defineRoute({
    method: 'get',
    path: '/api/v1/rules/history',
    permission: 'read',
    tag: 'config',
    summary: 'Stored versions of the decision rules',
    query: HistoryQuery,
  }),
};

/**
 * `GET/PUT /api/v1/rules` and `GET /api/v1/rules/history`, for the gateway to mount:
 * `routes: [rulesRoutes(live)]`. A malformed document is a 400 naming the path of every
 * problem, and the rules in force stay as they were.
 */
export function rulesRoutes(live: LiveConfig) {
  return (router: Router, ctx: RulesRouteContext): void => {
    const mount = routeMounter(router, ctx);
    mount(rulesApi.get, async () => view(await getRules(live)));
    mount(rulesApi.put, async ({ query, body }, _req, res) => {
      const author = (res.locals.auth as { name?: string } | undefined)?.name;
      const stored = await putRules(live, body ?? null, {
        ...(author === undefined ? {} : { author }),
        ...(query.ifVersion === undefined ? {} : { ifVersion: query.ifVersion }),
      });
      return view(stored);
    });
    mount(rulesApi.history, async ({ query }) => ({
      versions: (await rulesHistory(live, query.limit)).map(view),
    }));
  };
}

/** The stored document plus the defaults it resolves to, so a reader sees what applies. */
function view(r: StoredRules) {
  return { ...r, effective: effectiveRules(r.doc) };
}
