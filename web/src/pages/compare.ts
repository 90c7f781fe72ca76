import { LineChart } from '../charts.js';
import { h, mount } from '../dom.js';
import { num } from '../format.js';
import { generationLink, hrefs, sessionLink } from '../links.js';
import { directionOverrides, higherIsBetter, verdict } from '../metric-direction.js';
import { Disposer, type PageFactory } from '../page.js';
import type { Generation, LiveEvent, SessionRecord } from '../types.js';
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

/** One column of the comparison: a session, or a generation (with its session's curves when it has one). */
interface Run {
  label: string;
  link: () => Node;
  /** metric → value per epoch */
  curves: Map<string, Map<number, number>>;
  /** model, dataset, trainer and every parameter, flattened */
  settings: Record<string, unknown>;
  /** the metrics compared better or worse */
  finals: Record<string, number>;
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

function curvesOf(events: LiveEvent[]): Map<string, Map<number, number>> {
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
  return curves;
}

/** Each curve's value at its last epoch. */
function lastValues(curves: Map<string, Map<number, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [m, c] of curves) {
    const last = [...c.keys()].sort((x, y) => x - y).at(-1);
    if (last !== undefined) out[m] = c.get(last)!;
  }
  return out;
}

/** What a session's request says, flattened: model, dataset, trainer and every parameter. */
function requestSettings(s: SessionRecord): Record<string, unknown> {
  const q = s.request ?? {};
  return {
    model: q.model,
    dataset: q.dataset,
    trainer: q.trainer,
    ...flattenParams(q.params ?? {}),
  };
}

type SessionWithEvents = SessionRecord & { events: LiveEvent[] };

function sessionRun({ events, ...s }: SessionWithEvents): Run {
  const curves = curvesOf(events);
  return {
    label: s.id.slice(0, 8),
    link: () => sessionLink(s.id),
    curves,
    settings: requestSettings(s),
    finals: lastValues(curves),
  };
}

/**
 * A generation: its parameters (else its session's), its lineage, and its metrics (measured
 * over reported, as the Sessions page ranks them); curves from the session that trained it.
 */
function generationRun(g: Generation, s: SessionWithEvents | null): Run {
  const measured = (g.evaluation as { metrics?: Record<string, number> } | undefined)?.metrics;
  const params = Object.keys(g.params ?? {}).length > 0 ? g.params : (s?.request?.params ?? {});
  return {
    label: `gen ${g.gen}`,
    link: () => generationLink(g.model, g.gen, `gen ${g.gen}`),
    curves: s ? curvesOf(s.events) : new Map<string, Map<number, number>>(),
    settings: {
      dataset: g.lineage ? `${g.lineage.dataset}@v${g.lineage.version}` : undefined,
      trainer: s?.request?.trainer,
      ...flattenParams(params),
    },
    finals: { ...g.metrics, ...measured },
  };
}

/**
 * Compare: curves overlaid per metric, the parameters that differ, final metrics better or
 * worse. `#/compare/<session>,<session>,…` compares sessions; `#/compare/<model>/<gen>,<gen>,…`
 * compares generations of one model.
 */
export const comparePage: PageFactory = (ctx, [first = '', second]) => {
  const d = new Disposer();
  const model = second === undefined ? undefined : first;
  const ids = (second ?? first).split(',').filter(Boolean);
  const what = model === undefined ? 'sessions' : 'generations';
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
        ? h(
            'p',
            { class: 'muted empty' },
            model === undefined
              ? 'None of these sessions reported an epoch yet.'
              : 'No curves: none of these generations came from a session with epochs.',
          )
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
                label: r.label,
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
    const sets = runs.map((r) => r.settings);
    const keys = [...new Set(sets.flatMap((x) => Object.keys(x)))].sort();
    const differing = keys.filter((k) => new Set(sets.map((x) => paramText(x[k]))).size > 1);
    const finals = runs.map((r) => r.finals);
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
          r.link(),
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
            `These ${what} have the same settings.`,
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
        `Each against the first (${runs[0]?.label ?? '–'}); green is better, red worse, by the metric's direction.`,
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

  const getSession = (id: string) =>
    ctx.api.get<SessionWithEvents>(`/sessions/${encodeURIComponent(id)}`);

  /** Generations of one model, each with the session that trained it (when it is still known). */
  const loadGenerations = async (name: string): Promise<Run[]> => {
    const m = await ctx.api.get<{ generationsList: Generation[] }>(
      `/models/${encodeURIComponent(name)}`,
    );
    const gens = ids.map((id) => {
      const g = m.generationsList.find((x) => String(x.gen) === id);
      if (!g) throw new Error(`${name} has no generation ${id}`);
      return g;
    });
    const sessions = new Map<string, Promise<SessionWithEvents | null>>();
    for (const g of gens)
      if (g.sessionId && !sessions.has(g.sessionId))
        sessions.set(
          g.sessionId,
          getSession(g.sessionId).catch(() => null), // expired or deleted: no curves
        );
    return Promise.all(
      gens.map(async (g) =>
        generationRun(g, g.sessionId ? await sessions.get(g.sessionId)! : null),
      ),
    );
  };

  void (async () => {
    if (ids.length < 2) {
      mount(
        body,
        h(
          'p',
          { class: 'muted empty' },
          model === undefined
            ? 'Pick two or more sessions on the Sessions page (the boxes in the first column), then Compare selected.'
            : 'Pick two or more generations on the model page (the boxes in the first column), then Compare selected.',
        ),
      );
      return;
    }
    try {
      const [got, rules] = await Promise.all([
        model === undefined
          ? Promise.all(ids.map(getSession)).then((all) => all.map(sessionRun))
          : loadGenerations(model),
        ctx.api.get<unknown>('/rules').catch(() => null),
      ]);
      runs = got;
      render(directionOverrides(rules));
    } catch (e) {
      err.replaceChildren(errorBox(e));
    }
  })();

  const el = h(
    'section',
    { class: 'page', 'data-page': 'compare' },
    pageHeader(
      `Compare ${ids.length} ${what}`,
      ...(model === undefined
        ? []
        : [h('a', { href: hrefs.model(model), 'data-link': 'model' }, `of ${model}`)]),
    ),
    err,
    body,
  );
  return { el, dispose: () => d.dispose() };
};
