import { LineChart } from '../charts.js';
import { h, mount } from '../dom.js';
import { num } from '../format.js';
import { sessionLink } from '../links.js';
import { directionOverrides, higherIsBetter, verdict } from '../metric-direction.js';
import { Disposer, type PageFactory } from '../page.js';
import type { LiveEvent, SessionRecord } from '../types.js';
import { errorBox, pageHeader } from './common.js';
import { flattenParams, paramText } from './params.js';

const COLORS = [
  '#1f5fbf',
  '#b3261e',
  '#1e6b30',
  '#8a5a00',
  '#6a1b9a',
  '#00695c',
  '#ad1457',
  '#37474f',
];
/** epoch fields that are not curves */
const NOT_METRICS = new Set(['epoch', 'epochs', 'samplesPerSec']);

interface Run {
  s: SessionRecord;
  /** metric → value per epoch (index = epoch − 1) */
  curves: Map<string, Map<number, number>>;
}

/** Exponential moving average: smoothing 0 keeps the values, 0.9 follows slowly. */
function smooth(ys: (number | null)[], a: number): (number | null)[] {
  if (a <= 0) return ys;
  let last: number | null = null;
  return ys.map((y) => {
    if (y === null) return null;
    last = last === null ? y : a * last + (1 - a) * y;
    return last;
  });
}

function runOf(s: SessionRecord, events: LiveEvent[]): Run {
  const curves = new Map<string, Map<number, number>>();
  for (const e of events) {
    if (e.kind !== 'epoch') continue;
    const p = (e.payload ?? {}) as Record<string, unknown>;
    const epoch = Number(p.epoch);
    for (const [k, v] of Object.entries(p)) {
      if (NOT_METRICS.has(k) || typeof v !== 'number' || !Number.isFinite(v)) continue;
      let c = curves.get(k);
      if (!c) curves.set(k, (c = new Map<number, number>()));
      c.set(epoch, v);
    }
  }
  return { s, curves };
}

/** What a run's request says, flattened: model, dataset, trainer and every parameter. */
function settings(r: Run): Record<string, unknown> {
  const q = r.s.request ?? {};
  return {
    model: q.model,
    dataset: q.dataset,
    trainer: q.trainer,
    ...flattenParams(q.params ?? {}),
  };
}

/** Compare: curves overlaid per metric, the parameters that differ, final metrics better or worse. */
export const comparePage: PageFactory = (ctx, [list = '']) => {
  const d = new Disposer();
  const ids = list.split(',').filter(Boolean);
  const body = h('div');
  const err = h('div');
  const smoothing = h('input', {
    id: 'cmp-smooth',
    type: 'range',
    min: 0,
    max: 0.95,
    step: 0.05,
    value: 0,
  });
  const smoothOut = h('output', { for: 'cmp-smooth' }, '0');
  const log = h('input', { id: 'cmp-log', type: 'checkbox' });
  const charts = h('div', { class: 'charts compare-charts' });
  let runs: Run[] = [];
  let chartList: LineChart[] = [];
  d.add(() => chartList.forEach((c) => c.destroy()));

  const drawCharts = () => {
    chartList.forEach((c) => c.destroy());
    chartList = [];
    const metrics = [...new Set(runs.flatMap((r) => [...r.curves.keys()]))].sort();
    const a = Number(smoothing.value);
    smoothOut.textContent = a.toFixed(2);
    mount(
      charts,
      metrics.length === 0
        ? h('p', { class: 'muted empty' }, 'None of these sessions reported an epoch yet.')
        : metrics.map((m) => {
            const epochs = [
              ...new Set(runs.flatMap((r) => [...(r.curves.get(m)?.keys() ?? [])])),
            ].sort((x, y) => x - y);
            const chart = new LineChart({
              title: m,
              xLabel: 'epoch',
              yLabel: m,
              log: log.checked,
              epochs: () => epochs.at(-1),
              series: runs.map((r, i) => ({
                label: r.s.id.slice(0, 8),
                color: COLORS[i % COLORS.length]!,
                ...(i >= COLORS.length ? { dash: [6, 4] } : {}),
              })),
            });
            chart.el.setAttribute('data-metric', m);
            chart.el.setAttribute('data-series', String(runs.length));
            chart.set(
              epochs,
              runs.map((r) =>
                smooth(
                  epochs.map((e) => r.curves.get(m)?.get(e) ?? null),
                  a,
                ),
              ),
            );
            chartList.push(chart);
            return chart.el;
          }),
    );
  };

  const render = (overrides: Record<string, boolean>) => {
    const sets = runs.map(settings);
    const keys = [...new Set(sets.flatMap((x) => Object.keys(x)))].sort();
    const differing = keys.filter((k) => new Set(sets.map((x) => paramText(x[k]))).size > 1);
    const finals = runs.map((r) => {
      const out: Record<string, number> = {};
      for (const [m, c] of r.curves) {
        const last = [...c.keys()].sort((x, y) => x - y).at(-1);
        if (last !== undefined) out[m] = c.get(last)!;
      }
      return out;
    });
    const metricKeys = [...new Set(finals.flatMap((f) => Object.keys(f)))].sort();
    const head = h(
      'tr',
      {},
      h('th', { scope: 'col' }, ''),
      runs.map((r, i) =>
        h(
          'th',
          { scope: 'col' },
          h('span', { class: 'swatch', style: `border-color:${COLORS[i % COLORS.length]}` }),
          sessionLink(r.s.id),
        ),
      ),
    );
    mount(
      body,
      h(
        'div',
        { class: 'filters' },
        h('label', { for: 'cmp-smooth' }, 'Smoothing'),
        smoothing,
        smoothOut,
        h('label', { for: 'cmp-log' }, 'Log scale'),
        log,
      ),
      charts,
      h('h2', {}, 'Parameters that differ'),
      differing.length === 0
        ? h(
            'p',
            { class: 'muted', 'data-testid': 'params-diff' },
            'These sessions ran with the same settings.',
          )
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              {
                class: 'params-diff',
                'aria-label': 'Parameters that differ',
                'data-testid': 'params-diff',
              },
              h('thead', {}, head.cloneNode(true)),
              h(
                'tbody',
                {},
                differing.map((k) =>
                  h(
                    'tr',
                    { 'data-param': k },
                    h('th', { scope: 'row' }, k),
                    sets.map((x) => h('td', { class: 'mono' }, paramText(x[k]))),
                  ),
                ),
              ),
            ),
          ),
      h('h2', {}, 'Final metrics'),
      h(
        'p',
        { class: 'muted' },
        `Each against the first session (${runs[0]?.s.id.slice(0, 8) ?? '–'}); green is better, red worse, by the metric's direction.`,
      ),
      metricKeys.length === 0
        ? h('p', { class: 'muted' }, 'No final metrics yet.')
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'final-metrics', 'aria-label': 'Final metrics' },
              h('thead', {}, head.cloneNode(true)),
              h(
                'tbody',
                {},
                metricKeys.map((m) =>
                  h(
                    'tr',
                    { 'data-metric': m },
                    h(
                      'th',
                      { scope: 'row' },
                      m,
                      h(
                        'span',
                        { class: 'muted' },
                        higherIsBetter(m, overrides) ? ' ↑ better' : ' ↓ better',
                      ),
                    ),
                    finals.map((f, i) => {
                      const v = i === 0 ? undefined : verdict(m, finals[0]![m], f[m], overrides);
                      return h(
                        'td',
                        { class: v ?? '', 'data-verdict': v },
                        num(f[m], 4),
                        v && v !== 'same' ? ` (${v})` : '',
                      );
                    }),
                  ),
                ),
              ),
            ),
          ),
    );
    drawCharts();
  };

  smoothing.addEventListener('input', drawCharts);
  log.addEventListener('change', drawCharts);

  void (async () => {
    if (ids.length < 2) {
      mount(
        body,
        h(
          'p',
          { class: 'muted empty' },
          'Pick two or more sessions on the Sessions page (the boxes in the first column), then Compare selected.',
        ),
      );
      return;
    }
    try {
      const [got, rules] = await Promise.all([
        Promise.all(
          ids.map((id) =>
            ctx.api.get<SessionRecord & { events: LiveEvent[] }>(
              `/sessions/${encodeURIComponent(id)}`,
            ),
          ),
        ),
        ctx.api.get<unknown>('/rules').catch(() => null),
      ]);
      runs = got.map(({ events, ...s }) => runOf(s, events));
      render(directionOverrides(rules));
    } catch (e) {
      err.replaceChildren(errorBox(e));
    }
  })();

  const el = h(
    'section',
    { class: 'page', 'data-page': 'compare' },
    pageHeader(`Compare ${ids.length} sessions`),
    err,
    body,
  );
  return { el, dispose: () => d.dispose() };
};
