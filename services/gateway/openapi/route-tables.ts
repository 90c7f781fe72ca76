import type { Permission } from '../../../shared/index.js';
import { errorStatuses, openapiPath, type RouteSpec } from './route-spec.js';

/** The smallest role that has a permission. */
const ROLE: Record<Permission | 'public', string> = {
  public: 'none',
  read: 'viewer',
  predict: 'client',
  write: 'operator',
  admin: 'admin',
};

const cell = (s: string) => s.replace(/\|/g, '\\|');

/**
 * The route tables of docs/api.md, one per tag in declaration order: what a reader scans
 * before opening the OpenAPI document. A test keeps docs/api.md equal to this.
 */
export function renderRouteTables(routes: readonly RouteSpec[]): string {
  const tags = [...new Set(routes.map((r) => r.tag))];
  return tags
    .map((tag) => {
      const rows = routes
        .filter((r) => r.tag === tag)
        .map((r) => {
          const ok = [r.status ?? 200, ...Object.keys(r.otherSuccess ?? {}).map(Number)];
          const answers = [ok.join(', '), [...errorStatuses(r).keys()].join(', ')].filter(Boolean);
          return `| \`${r.method.toUpperCase()} ${openapiPath(r.path)}\` | ${ROLE[r.permission]} | ${answers.join('; ')} | ${cell(r.summary)} |`;
        });
      return [
        `### ${tag}`,
        '',
        '| route | role | answers | what |',
        '|---|---|---|---|',
        ...rows,
      ].join('\n');
    })
    .join('\n\n');
}
