import { debounce, h, mount } from '../dom.js';
import { bytes, num, time } from '../format.js';
import { Disposer, type PageFactory } from '../page.js';
import type { DatasetStats, DatasetSummary, DatasetVersion } from '../types.js';
import { errorBox, pageHeader } from './common.js';
import { NewestOnly } from '../newest.js';

type DatasetDetail = {
  name: string;
  latest: number | null;
  created: string;
  versions: DatasetVersion[];
};

const FEATURE_ROWS = 16;

function labelHistogram(v: DatasetVersion, stats: DatasetStats): HTMLElement | null {
  if (stats.labels.kind !== 'class') {
    const l = stats.labels;
    return h(
      'p',
      {},
      `labels (regression): mean ${num(l.mean)}, std ${num(l.std)}, min ${num(l.min)}, max ${num(l.max)}`,
    );
  }
  const hist = stats.labels.histogram;
  const max = Math.max(1, ...hist);
  return h(
    'figure',
    { class: 'histogram', 'data-testid': 'label-histogram' },
    h('figcaption', {}, 'Label histogram'),
    h(
      'table',
      {},
      h(
        'tbody',
        {},
        hist.map((n, i) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, v.labelNames?.[i] ?? String(i)),
            h(
              'td',
              { class: 'bar-cell' },
              h('span', { class: 'bar', style: `width:${((n / max) * 100).toFixed(1)}%` }),
            ),
            h('td', { class: 'num' }, num(n)),
          ),
        ),
      ),
    ),
  );
}

function columnTable(
  title: string,
  c: DatasetStats['features'],
  names?: string[],
): HTMLElement | null {
  if (!c) return null;
  const n = Math.min(c.mean.length, FEATURE_ROWS);
  return h(
    'table',
    { class: 'stats', 'aria-label': title },
    h('caption', {}, c.mean.length > n ? `${title} (first ${n} of ${c.mean.length})` : title),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['column', 'mean', 'std', 'min', 'max', 'missing'].map((x) => h('th', { scope: 'col' }, x)),
      ),
    ),
    h(
      'tbody',
      {},
      Array.from({ length: n }, (_, i) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, names?.[i] ?? String(i)),
          h('td', {}, num(c.mean[i], 3)),
          h('td', {}, num(c.std[i], 3)),
          h('td', {}, num(c.min[i], 3)),
          h('td', {}, num(c.max[i], 3)),
          h('td', {}, num(c.missing[i])),
        ),
      ),
    ),
  );
}

/** Datasets: versions with sizes, then one version's statistics and label histogram. */
export const datasetsPage: PageFactory = (ctx, [selected, selectedVersion]) => {
  const d = new Disposer();
  const list = h('nav', { class: 'tree', 'aria-label': 'Datasets' });
  const detail = h('div');
  const stats = h('div', { class: 'dataset-stats' });
  const err = h('div');
  let current = selected;

  const showVersion = async (name: string, v: number, latest: () => boolean) => {
    const ver = await ctx.api.get<DatasetVersion>(
      `/datasets/${encodeURIComponent(name)}/versions/${v}`,
    );
    if (!latest()) return;
    const s = ver.stats;
    mount(
      stats,
      h('h3', {}, `${name}@v${v}`),
      h(
        'p',
        {},
        `${num(ver.count)} rows, ${ver.kind} (${ver.format}), ${ver.features ?? '–'} features, ${bytes(ver.bytes)} in ${ver.shardCount} shards${ver.split ? `; split ${num(ver.split.trainCount)} train / ${num(ver.split.validationCount)} validation` : ''}`,
      ),
      s
        ? [
            labelHistogram(ver, s),
            columnTable('Feature statistics', s.features),
            columnTable('Channel statistics', s.channels),
          ]
        : h('p', { class: 'muted' }, 'No statistics stored for this version.'),
    );
  };

  const newest = new NewestOnly();
  const load = async () => {
    const latest = newest.begin();
    try {
      const all = await ctx.api.get<DatasetSummary[]>('/datasets');
      if (!latest()) return;
      current ??= all[0]?.name;
      mount(
        list,
        all.length === 0
          ? h('p', { class: 'muted' }, 'No datasets yet.')
          : h(
              'ul',
              {},
              all.map((s) =>
                h(
                  'li',
                  { 'data-dataset': s.name },
                  h(
                    'a',
                    {
                      href: `#/datasets/${encodeURIComponent(s.name)}`,
                      'aria-current': s.name === current ? 'page' : undefined,
                    },
                    s.name,
                  ),
                  ` · ${s.versions} versions`,
                ),
              ),
            ),
      );
      if (!current) return;
      const ds = await ctx.api.get<DatasetDetail>(`/datasets/${encodeURIComponent(current)}`);
      if (!latest()) return;
      const name = ds.name;
      mount(
        detail,
        h('h2', {}, name),
        h(
          'table',
          { class: 'versions', 'aria-label': `Versions of ${name}` },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              [
                'Version',
                'Format',
                'Kind',
                'Rows',
                'Features',
                'Size',
                'Shards',
                'Created',
                'sha256',
              ].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            [...ds.versions]
              .reverse()
              .map((v) =>
                h(
                  'tr',
                  { 'data-version': v.version },
                  h(
                    'th',
                    { scope: 'row' },
                    h(
                      'a',
                      { href: `#/datasets/${encodeURIComponent(name)}/${v.version}` },
                      `v${v.version}`,
                    ),
                  ),
                  h('td', {}, v.format),
                  h('td', {}, v.kind),
                  h('td', {}, num(v.count)),
                  h('td', {}, v.features ?? '–'),
                  h('td', {}, bytes(v.bytes)),
                  h('td', {}, v.shardCount),
                  h('td', {}, time(v.created)),
                  h('td', { class: 'mono' }, v.sha256.slice(0, 12)),
                ),
              ),
          ),
        ),
      );
      const v = selectedVersion ? Number(selectedVersion) : ds.latest;
      if (v) await showVersion(name, v, latest);
      if (latest()) err.replaceChildren();
    } catch (e) {
      if (latest()) err.replaceChildren(errorBox(e));
    }
  };
  const refresh = debounce(() => void load(), 200);
  d.add(() => refresh.cancel());
  d.add(ctx.live.subscribe({ topics: ['datasets'], onEvent: refresh, resync: refresh }));
  void load();

  const el = h(
    'section',
    { class: 'page', 'data-page': 'datasets' },
    pageHeader('Datasets'),
    err,
    h('div', { class: 'split' }, list, h('div', {}, detail, stats)),
  );
  return { el, dispose: () => d.dispose() };
};
