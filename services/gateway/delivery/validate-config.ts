import type {
  DataSourcesDoc,
  DeliveryConfigKind,
  DeliveryDoc,
  DeliveryRulesDoc,
} from '../../../shared/index.js';
import type { ConfigIssue } from '../live-config.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import { pluginRefs } from './conditions.js';

export interface ConfigContext {
  rules: DeliveryRulesDoc | null;
  delivery: DeliveryDoc | null;
  plugins?: PluginHost;
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

function rulesIssues(doc: DeliveryRulesDoc, ctx: ConfigContext): ConfigIssue[] {
  const channels = ctx.delivery?.channels ?? {};
  const formatters = ctx.delivery?.formatters ?? {};
  return doc.rules.flatMap((r, i) => [
    ...(channels[r.channel]
      ? []
      : [
          {
            path: ['rules', i, 'channel'],
            message: `unknown channel "${r.channel}"; known: ${Object.keys(channels).join(', ') || 'none'}`,
          },
        ]),
    ...(formatters[r.formatter]
      ? []
      : [
          {
            path: ['rules', i, 'formatter'],
            message: `unknown formatter "${r.formatter}"; known: ${Object.keys(formatters).join(', ') || 'none'}`,
          },
        ]),
    ...pluginRefs(r.when, ['rules', i, 'when']).flatMap((ref) =>
      pluginIssues(ctx, 'rule', ref.name, ref.config, {
        name: [...ref.path, 'name'],
        config: [...ref.path, 'config'],
      }),
    ),
  ]);
}

function deliveryIssues(doc: DeliveryDoc, ctx: ConfigContext): ConfigIssue[] {
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
  // Removing what a live rule uses would make its deliveries fail; change the rule first.
  for (const r of ctx.rules?.rules ?? []) {
    if (!doc.channels[r.channel]) {
      issues.push({
        path: ['channels', r.channel],
        message: `removed, but rule "${r.id}" uses it`,
      });
    }
    if (!doc.formatters[r.formatter]) {
      issues.push({
        path: ['formatters', r.formatter],
        message: `removed, but rule "${r.id}" uses it`,
      });
    }
  }
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
 * Checks a schema-valid document against the rest of the configuration and the loaded
 * plugins. Paths use the same form as the schema's issues.
 */
export function crossCheck(
  kind: DeliveryConfigKind,
  doc: unknown,
  ctx: ConfigContext,
): ConfigIssue[] {
  switch (kind) {
    case 'rules':
      return rulesIssues(doc as DeliveryRulesDoc, ctx);
    case 'delivery':
      return deliveryIssues(doc as DeliveryDoc, ctx);
    case 'sources':
      return sourcesIssues(doc as DataSourcesDoc, ctx);
  }
}
