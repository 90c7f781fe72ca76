import type { DataSourcesDoc, ConfigIssue } from '../../../shared/index.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import { pluginRefs } from './conditions.js';
import type { ConfigKind, DeliveryConfig } from './delivery-document.js';

export interface ConfigContext {
  plugins?: PluginHost | undefined;
}

type Path = (string | number)[];

function pluginIssues(
  ctx: ConfigContext,
  kind: 'formatter' | 'rule' | 'source',
  name: string,
  config: unknown,
  at: { name: Path; config: Path },
): ConfigIssue[] {
  if (!ctx.plugins)
    return [{ path: at.name, message: 'plugins are not enabled (no plugins folder)' }];
  return ctx.plugins.check(kind, name, config).map((i) => ({
    path: ctx.plugins!.has(kind, name) ? [...at.config, ...i.path] : at.name,
    message: i.message,
  }));
}

function deliveryIssues(doc: DeliveryConfig, ctx: ConfigContext): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [id, f] of Object.entries(doc.formatters)) {
    if (f.type === 'plugin') {
      issues.push(
        ...pluginIssues(ctx, 'formatter', f.plugin, f.config, {
          name: ['formatters', id, 'plugin'],
          config: ['formatters', id, 'config'],
        }),
      );
    }
  }
  const known = (o: object) => Object.keys(o).join(', ') || 'none';
  doc.rules.forEach((r, i) => {
    if (!doc.channels[r.channel]) {
      issues.push({
        path: ['rules', i, 'channel'],
        message: `unknown channel "${r.channel}"; known: ${known(doc.channels)}`,
      });
    }
    if (!doc.formatters[r.formatter]) {
      issues.push({
        path: ['rules', i, 'formatter'],
        message: `unknown formatter "${r.formatter}"; known: ${known(doc.formatters)}`,
      });
    }
    for (const ref of pluginRefs(r.when, ['rules', i, 'when'])) {
      issues.push(
        ...pluginIssues(ctx, 'rule', ref.name, ref.config, {
          name: [...ref.path, 'name'],
          config: [...ref.path, 'config'],
        }),
      );
    }
  });
  return issues;
}

function sourcesIssues(doc: DataSourcesDoc, ctx: ConfigContext): ConfigIssue[] {
  return doc.sources.flatMap((s, i) =>
    s.type === 'plugin'
      ? pluginIssues(ctx, 'source', s.plugin, s.config, {
          name: ['sources', i, 'plugin'],
          config: ['sources', i, 'config'],
        })
      : [],
  );
}

/**
 * Checks a schema-valid document against itself (rules naming channels and formatters) and
 * the loaded plugins. Paths use the same form as the schema's issues. The decision rules
 * (`rules`) need nothing beyond their schema.
 */
export function crossCheck(kind: ConfigKind, doc: unknown, ctx: ConfigContext): ConfigIssue[] {
  switch (kind) {
    case 'rules':
      return [];
    case 'delivery':
      return deliveryIssues(doc as DeliveryConfig, ctx);
    case 'sources':
      return sourcesIssues(doc as DataSourcesDoc, ctx);
  }
}
