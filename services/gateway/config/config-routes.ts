import { z } from 'zod';
import {
  roleAllows,
  type Role,
  type ConfigVersion,
  type LiveConfig,
} from '../../../shared/index.js';
import {
  configHistory,
  getConfigDocument,
  putConfigDocument,
} from '../delivery/config-documents.js';
import { redactSecrets } from '../delivery/redact-secrets.js';
import type { RouteModule } from '../http/route-context.js';
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
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export interface ConfigRoutesDeps {
  live: LiveConfig;
  plugins?: PluginHost | undefined;
}

/** Who may see secrets: admins only; others get the document with them masked. */
function viewFor(role: Role | undefined) {
  const full = role !== undefined && roleAllows(role, 'admin');
  return (v: ConfigVersion): ConfigVersion => (full ? v : { ...v, doc: redactSecrets(v.doc) });
}

const roleOf = (locals: Record<string, unknown>) =>
  (locals.auth as { role?: Role } | undefined)?.role;

/**
 * `/api/v1/config/{rules|delivery|sources}`: read (secrets masked below admin), replace with
 * validation, and read the version history. `rules` is the same document as `/api/v1/rules`.
 */
export function configRoutes(d: ConfigRoutesDeps): RouteModule {
  return (router, ctx) => {
    router.get('/api/v1/config/:kind', ctx.guard('read'), async (req, res) => {
      const v = await getConfigDocument(d.live, String(req.params.kind));
      res.json(viewFor(roleOf(res.locals))(v));
    });
    router.put('/api/v1/config/:kind', ctx.guard('admin'), async (req, res) => {
      const q = PutConfigQuery.parse(req.query);
      const author = (res.locals.auth as { name?: string } | undefined)?.name;
      const { version } = await putConfigDocument(d.live, String(req.params.kind), req.body, {
        plugins: d.plugins,
        ...(author === undefined ? {} : { author }),
        ...(q.ifVersion === undefined ? {} : { ifVersion: q.ifVersion }),
      });
      res.json({ kind: req.params.kind, version });
    });
    router.get('/api/v1/config/:kind/history', ctx.guard('read'), async (req, res) => {
      const q = HistoryQuery.parse(req.query);
      const versions = await configHistory(d.live, String(req.params.kind), q.limit);
      res.json({ versions: versions.map(viewFor(roleOf(res.locals))) });
    });
  };
}
