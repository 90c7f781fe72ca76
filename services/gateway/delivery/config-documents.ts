import {
  DELIVERY_CONFIG_SCHEMAS,
  NotFound,
  type DeliveryConfigKind,
  type DeliveryDoc,
  type DeliveryRulesDoc,
} from '../../../shared/index.js';
import type { ConfigVersion, LiveConfig } from '../live-config.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import { crossCheck } from './validate-config.js';

export const CONFIG_KINDS = Object.keys(DELIVERY_CONFIG_SCHEMAS) as DeliveryConfigKind[];

/** The `{kind}` of /api/v1/config/{kind}; 404 for anything else. */
export function configKind(kind: string): DeliveryConfigKind {
  if ((CONFIG_KINDS as string[]).includes(kind)) return kind as DeliveryConfigKind;
  throw new NotFound(`unknown configuration kind "${kind}"`, { known: CONFIG_KINDS });
}

/** GET /api/v1/config/{kind}: the current version (version 0 and a null doc when unset). */
export async function getConfigDocument(live: LiveConfig, kind: string): Promise<ConfigVersion> {
  return live.get(configKind(kind));
}

/** GET /api/v1/config/{kind}/history: stored versions, newest first. */
export async function configHistory(
  live: LiveConfig,
  kind: string,
  limit = 20,
): Promise<ConfigVersion[]> {
  return live.history(configKind(kind), limit);
}

/**
 * PUT /api/v1/config/{kind}: validates the document (schema, then references to other
 * documents and to plugins) and stores it as a new version. On any issue it throws BadInput
 * with `details.issues[{path, message}]` and the running configuration stays as it was.
 */
export async function putConfigDocument(
  live: LiveConfig,
  kind: string,
  body: unknown,
  opts: { plugins?: PluginHost; author?: string; ifVersion?: number } = {},
): Promise<{ version: number }> {
  const k = configKind(kind);
  const [rules, delivery] = await Promise.all([
    live.get<DeliveryRulesDoc>('rules'),
    live.get<DeliveryDoc>('delivery'),
  ]);
  const ctx = { rules: rules.doc, delivery: delivery.doc, plugins: opts.plugins };
  const { version } = await live.put(k, body, DELIVERY_CONFIG_SCHEMAS[k], {
    check: (doc) => crossCheck(k, doc, ctx),
    ...(opts.author === undefined ? {} : { author: opts.author }),
    ...(opts.ifVersion === undefined ? {} : { ifVersion: opts.ifVersion }),
  });
  return { version };
}
