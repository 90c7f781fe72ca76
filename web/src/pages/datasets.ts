import { debounce, h, mount } from '../dom.js';
import { bytes, num, sig, time } from '../format.js';
import { ApiError } from '../api.js';
import { generationLink, sessionLink } from '../links.js';
import { notFoundView } from './notfound.js';
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
const SAMPLE_ROWS = 500;
const BINS = 12;
const THUMBS = 16;

interface Usage {
  generations: { model: string; gen: number; status: string; sessionId?: string }[];
  sessions: { id: string; state: string; model: string | null }[];
}
interface RowsSample {
  values?: number[][];
  pixels?: number[][];
  labels: number[];
  imageShape?: { height: number; width: number; channels: number };
}

/** Counts of a column's sample values in equal bins between min and max. */
function bins(values: number[], min: number, max: number): number[] {
  const out = new Array<number>(BINS).fill(0);
  const w = max - min || 1;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    out[Math.min(BINS - 1, Math.max(0, Math.floor(((v - min) / w) * BINS)))]!++;
  }
  return out;
}

/** A small bar histogram; its label says what it shows for screen readers. */
function spark(counts: number[], label: string): HTMLElement {
  const max = Math.max(1, ...counts);
  return h(
    'span',
    { class: 'spark', role: 'img', 'aria-label': label },
    counts.map((c) => h('span', { style: `height:${Math.max(1, Math.round((c / max) * 24))}px` })),
  );
}

/** The first rows of an image dataset drawn small, with their labels. */
function thumbnails(sample: RowsSample, labelNames?: string[]): HTMLElement | null {
  const shape = sample.imageShape;
  if (!shape || !sample.pixels?.length) return null;
  const { height, width, channels } = shape;
  return h(
    'div',
    { class: 'thumbs', 'data-testid': 'thumbnails' },
    sample.pixels.slice(0, THUMBS).map((px, i) => {
      const canvas = h('canvas', {
        width,
        height,
        style: `width:${width * 2}px;height:${height * 2}px`,
        role: 'img',
        'aria-label': `sample ${i + 1}, label ${labelNames?.[sample.labels[i]!] ?? sample.labels[i]}`,
      });
      const c2d = canvas.getContext('2d');
      if (c2d) {
        const img = c2d.createImageData(width, height);
        const peak = Math.max(...px);
        const scale = peak <= 1 ? 255 : 1;
        for (let p = 0; p < width * height; p++) {
          // channels last (height × width × channels), as the intake stores images
          const r = px[p * channels]! * scale;
          const g = channels >= 3 ? px[p * channels + 1]! * scale : r;
          const b = channels >= 3 ? px[p * channels + 2]! * scale : r;
          img.data.set([r, g, b, 255], p * 4);
        }
        c2d.putImageData(img, 0, 0);
      }
      return h(
        'figure',
        {},
        canvas,
        h('figcaption', {}, labelNames?.[sample.labels[i]!] ?? String(sample.labels[i])),
      );
    }),
  );
}

function usageList(u: Usage): HTMLElement {
  return h(
    'div',
    { class: 'usage', 'data-testid': 'usage' },
    h('h4', {}, 'Used by'),
    u.generations.length === 0 && u.sessions.length === 0
      ? h('p', { class: 'muted' }, 'No session or generation has used this version yet.')
      : h(
          'ul',
          {},
          u.generations.map((g) =>
            h('li', {}, 'generation ', generationLink(g.model, g.gen), ` (${g.status})`),
          ),
          u.sessions.map((s) =>
            h('li', {}, 'session ', sessionLink(s.id), ` ${s.model ?? ''} (${s.state})`),
          ),
        ),
  );
}

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
  const total = hist.reduce((a, b) => a + b, 0) || 1;
  const nonzero = hist.filter((n) => n > 0);
  const minN = nonzero.length ? Math.min(...nonzero) : 0;
  return h(
    'figure',
    { class: 'histogram', 'data-testid': 'label-histogram' },
    h('figcaption', {}, 'Label balance'),
    h(
      'p',
      { class: 'muted', 'data-testid': 'label-balance' },
      `${hist.length} classes; the smallest has ${((minN / max) * 100).toFixed(0)}% of the largest's rows${minN / max < 0.5 ? ' (imbalanced: consider class weights or more rows)' : ''}.`,
    ),
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
            h('td', { class: 'num' }, `${((n / total) * 100).toFixed(1)}%`),
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
  sample?: number[][],
): HTMLElement | null {
  if (!c) return null;
  const n = Math.min(c.mean.length, FEATURE_ROWS);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'stats', 'aria-label': title },
      h('caption', {}, c.mean.length > n ? `${title} (first ${n} of ${c.mean.length})` : title),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [
            'column',
            'mean',
            'std',
            'min',
            'max',
            'missing',
            sample ? `histogram (${sample.length} rows)` : null,
          ]
            .filter((x): x is string => x !== null)
            .map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      h(
        'tbody',
        {},
        Array.from({ length: n }, (_, i) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, names?.[i] ?? `feature ${i}`),
            h('td', { class: 'num' }, sig(c.mean[i])),
            h('td', { class: 'num' }, sig(c.std[i])),
            h('td', { class: 'num' }, sig(c.min[i])),
            h('td', { class: 'num' }, sig(c.max[i])),
            h('td', { class: 'num' }, sig(c.missing[i])),
            sample
              ? h(
                  'td',
                  {},
                  spark(
                    bins(
                      sample.map((r) => r[i]!),
                      c.min[i] ?? 0,
                      c.max[i] ?? 1,
                    ),
                    `histogram of ${names?.[i] ?? `feature ${i}`}`,
                  ),
                )
              : null,
          ),
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
    const base = `/datasets/${encodeURIComponent(name)}/versions/${v}`;
    let ver: DatasetVersion;
    try {
      ver = await ctx.api.get<DatasetVersion>(base);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404 && latest())
        return mount(
          stats,
          notFoundView(`${name} has no version “${v}”.`, {
            href: `#/datasets/${encodeURIComponent(name)}`,
            label: `See the versions of ${name}`,
          }),
        );
      throw e;
    }
    const [usage, sample] = await Promise.all([
      ctx.api.get<Usage>(`${base}/usage`).catch(() => null),
      ctx.api
        .get<RowsSample>(
          `${base}/rows?format=json&count=${ver.kind === 'image' ? THUMBS : SAMPLE_ROWS}`,
        )
        .catch(() => null),
    ]);
    if (!latest()) return;
    const s = ver.stats;
    const names = ver.featureNames;
    mount(
      stats,
      h('h3', {}, `${name}@v${v}`),
      h(
        'p',
        {},
        `${num(ver.count)} rows, ${ver.kind} (${ver.format}), ${ver.features ?? '–'} features, ${bytes(ver.bytes)} in ${ver.shardCount} shards${ver.split ? `; split ${num(ver.split.trainCount)} train / ${num(ver.split.validationCount)} validation` : ''}`,
      ),
      usage ? usageList(usage) : null,
      sample && ver.kind === 'image'
        ? [h('h4', {}, 'Sample images'), thumbnails(sample, ver.labelNames)]
        : null,
      s
        ? [
            labelHistogram(ver, s),
            columnTable('Feature statistics', s.features, names, sample?.values),
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
      if (!current) {
        mount(
          detail,
          h(
            'p',
            { class: 'muted empty' },
            'No datasets yet: upload one with `swarmml dataset upload NAME FILE` (CSV, libsvm, ARFF, JSON lines, IDX or an image archive).',
          ),
        );
        return;
      }
      let ds: DatasetDetail;
      try {
        ds = await ctx.api.get<DatasetDetail>(`/datasets/${encodeURIComponent(current)}`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404 && latest()) {
          mount(
            detail,
            notFoundView(`There is no dataset “${current}”.`, {
              href: '#/datasets',
              label: 'See every dataset',
            }),
          );
          mount(stats);
          return;
        }
        throw e;
      }
      if (!latest()) return;
      const name = ds.name;
      mount(
        detail,
        h('h2', {}, name),
        h(
          'div',
          { class: 'table-wrap' },
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
