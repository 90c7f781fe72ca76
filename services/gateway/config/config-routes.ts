import { z } from 'zod';
import {
  Forbidden,
  roleAllows,
  type Permission,
  type Role,
  type ConfigVersion,
  type LiveConfig,
} from '../../../shared/index.js';
import {
  CONFIG_KINDS,
  configHistory,
  configKind,
  getConfigDocument,
  putConfigDocument,
} from '../delivery/config-documents.js';
import { CONFIG_DOCUMENTS } from '../delivery/delivery-document.js';
import { keepMaskedSecrets } from '../delivery/keep-secrets.js';
import { redactSecrets } from '../delivery/redact-secrets.js';
import type { RouteModule } from '../http/route-context.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute, named } from '../openapi/route-spec.js';
import * as ex from '../openapi/examples.js';
import type { PluginHost } from '../plugins/plugin-host.js';

export const PutConfigQuery = z.object({
  ifVersion: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('store only if the current version is this one (else 409)'),
});

export const HistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('versions, newest first'),
});

const KindParams = z.object({
  kind: z
    .string()
    .max(64)
    .describe(`${CONFIG_KINDS.join(' | ')} (another kind: 404)`),
});

/** Each configuration document, named in the OpenAPI document after its kind. */
const DOCUMENT_SCHEMAS = [
  named('DeliveryConfig', CONFIG_DOCUMENTS.delivery.schema),
  named('DataSourcesDoc', CONFIG_DOCUMENTS.sources.schema),
  named('RulesDocument', CONFIG_DOCUMENTS.rules.schema),
];

/** The live-configuration routes, declared once: mounted from these and documented from these. */
export const configApi = {
  get: defineRoute({
    method: 'get',
    path: '/api/v1/config/:kind',
    permission: 'read',
    tag: 'config',
    summary:
      'A live configuration document: rules | delivery | sources (secrets masked below admin)',
    params: KindParams,
    responseExample: ex.configVersion,
    errors: { 404: 'no such configuration kind' },
  }),
  put: defineRoute({
    method: 'put',
    path: '/api/v1/config/:kind',
    permission: 'write',
    tag: 'config',
    summary:
      'Validate and store a new version (delivery, sources: operator; rules: admin); applied by every gateway within a second. 400 lists {path, message} per problem',
    params: KindParams,
    query: PutConfigQuery,
    body: { document: DOCUMENT_SCHEMAS },
    bodyExample: ex.deliveryConfig,
    response: z.object({ kind: z.string(), version: z.number().int() }),
    responseExample: { kind: 'delivery', version: 4 },
    errors: {
      404: 'no such configuration kind',
      403: 'rules below admin, or a changed entry that holds a credential below admin',
      409: 'ifVersion is not the current version',
    },
  }),
  history: defineRoute({
    method: 'get',
    path: '/api/v1/config/:kind/history',
    permission: 'read',
    tag: 'config',
    summary: 'Stored versions, newest first',
    params: KindParams,
    query: HistoryQuery,
    errors: { 404: 'no such configuration kind' },
  }),
};

export interface ConfigRoutesDeps {
  live: LiveConfig;
  plugins?: PluginHost | undefined;
}

/** Who may see secrets: admins only; others get the document with them masked. */
function viewFor(role: Role | undefined) {
  const full = role !== undefined && roleAllows(role, 'admin');
  return (v: ConfigVersion): ConfigVersion => (full ? v : { ...v, doc: redactSecrets(v.doc) });
}

/**
 * Who may replace each document. Delivery and sources are day-to-day operations; the decision
 * rules decide what reaches production, so they stay with admins (as `PUT /api/v1/rules`).
 */
const EDIT_PERMISSION: Record<string, Permission> = {
  delivery: 'write',
  sources: 'write',
  rules: 'admin',
};

const roleOf = (locals: Record<string, unknown>) =>
  (locals.auth as { role?: Role } | undefined)?.role;

/**
 * `/api/v1/config/{rules|delivery|sources}`: read (secrets masked below admin), replace with
 * validation, and read the version history. `rules` is the same document as `/api/v1/rules`.
 */
export function configRoutes(d: ConfigRoutesDeps): RouteModule {
  return (router, ctx) => {
    const mount = routeMounter(router, ctx);
    mount(configApi.get, async ({ params }, _req, res) => {
      const v = await getConfigDocument(d.live, params.kind);
      return viewFor(roleOf(res.locals))(v);
    });
    mount(configApi.put, async ({ params, query: q, body }, _req, res) => {
      const author = (res.locals.auth as { name?: string } | undefined)?.name;
      const role = roleOf(res.locals);
      const need = EDIT_PERMISSION[configKind(params.kind)] ?? 'admin';
      if (!role || !roleAllows(role, need))
        throw new Forbidden(`changing the ${params.kind} document takes the ${need} permission`);
      let doc = body;
      if (!roleAllows(role, 'admin')) {
        // Below admin the document was read with its secrets masked: saving it keeps them.
        const current = (await getConfigDocument(d.live, params.kind)).doc;
        const kept = keepMaskedSecrets(body, current);
        if (kept.refused.length > 0)
          throw new Forbidden(
            `only an admin may add, change or send in clear an entry that holds a credential: ${kept.refused.join(', ')}`,
            { paths: kept.refused },
          );
        doc = kept.doc;
      }
      const { version } = await putConfigDocument(d.live, params.kind, doc, {
        plugins: d.plugins,
        ...(author === undefined ? {} : { author }),
        ...(q.ifVersion === undefined ? {} : { ifVersion: q.ifVersion }),
      });
      return { kind: params.kind, version };
    });
    mount(configApi.history, async ({ params, query }, _req, res) => {
      const versions = await configHistory(d.live, params.kind, query.limit);
      return { versions: versions.map(viewFor(roleOf(res.locals))) };
    });
  };
}
