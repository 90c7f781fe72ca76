import { NotFound, type ConfigVersion, type LiveConfig } from '../../../shared/index.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import { CONFIG_DOCUMENTS, type ConfigKind } from './delivery-document.js';
import { crossCheck } from './validate-config.js';

export const CONFIG_KINDS = Object.keys(CONFIG_DOCUMENTS) as ConfigKind[];

/** The `{kind}` of /api/v1/config/{kind}; 404 for anything else. */
export function configKind(kind: string): ConfigKind {
  if ((CONFIG_KINDS as string[]).includes(kind)) return kind as ConfigKind;
  throw new NotFound(`unknown configuration kind "${kind}"`, { known: CONFIG_KINDS });
}

/** Answers under the public kind name, whatever the document is stored as. */
function named(kind: ConfigKind, v: ConfigVersion): ConfigVersion {
  return { ...v, kind };
}

/** GET /api/v1/config/{kind}: the current version (version 0 and a null doc when unset). */
export async function getConfigDocument(live: LiveConfig, kind: string): Promise<ConfigVersion> {
  const k = configKind(kind);
  return named(k, await live.get(CONFIG_DOCUMENTS[k].stored));
}

/** GET /api/v1/config/{kind}/history: stored versions, newest first. */
export async function configHistory(
  live: LiveConfig,
  kind: string,
  limit = 20,
): Promise<ConfigVersion[]> {
  const k = configKind(kind);
  return (await live.history(CONFIG_DOCUMENTS[k].stored, limit)).map((v) => named(k, v));
}

/**
 * PUT /api/v1/config/{kind}: validates the document (schema, then its internal references
 * and plugins) and stores it as a new version. On any issue it throws BadInput with
 * `details.issues[{path, message}]` and the running configuration stays as it was.
 */
export async function putConfigDocument(
  live: LiveConfig,
  kind: string,
  body: unknown,
  opts: { plugins?: PluginHost | undefined; author?: string; ifVersion?: number } = {},
): Promise<{ version: number }> {
  const k = configKind(kind);
  const { stored, schema } = CONFIG_DOCUMENTS[k];
  const { version } = await live.put(stored, body, schema, {
    check: (doc) => crossCheck(k, doc, { plugins: opts.plugins }),
    ...(opts.author === undefined ? {} : { author: opts.author }),
    ...(opts.ifVersion === undefined ? {} : { ifVersion: opts.ifVersion }),
  });
  return { version };
}
