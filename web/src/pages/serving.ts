import { LineChart } from '../charts.js';
import { h, mount } from '../dom.js';
import { ms, num } from '../format.js';
import { Disposer, type PageFactory } from '../page.js';
import type { LiveEvent, ModelServingStats, ServingStats } from '../types.js';
import { errorBox, pageHeader } from './common.js';

const WINDOW = 120;

interface Card {
  el: HTMLElement;
  figures: HTMLElement;
  rate: LineChart;
  latency: LineChart;
  last?: { t: number; requests: number };
  drift: number | null;
}

function figure(label: string, value: string, cls: string): HTMLElement {
  return h('div', { class: `fig ${cls}` }, h('dt', {}, label), h('dd', { class: 'value' }, value));
}

/** Serving: per model requests/s, latency, batch size, errors, drift and restarts, live. */
export const servingPage: PageFactory = (ctx) => {
  const d = new Disposer();
  const cards = new Map<string, Card>();
  const grid = h('div', { class: 'cards' });
  const replicas = h('ul', { class: 'replicas', 'aria-label': 'Serving replicas' });
  const err = h('div');
  const updated = h('p', { class: 'muted', 'aria-live': 'off' });

  const card = (model: string): Card => {
    let c = cards.get(model);
    if (c) return c;
    const rate = new LineChart({
      title: 'requests/s',
      xLabel: 'time',
      time: true,
      maxPoints: WINDOW,
      width: 300,
      height: 140,
      series: [{ label: 'req/s', color: '#1f5fbf' }],
    });
    const latency = new LineChart({
      title: 'latency (ms)',
      xLabel: 'time',
      time: true,
      maxPoints: WINDOW,
      width: 300,
      height: 140,
      series: [
        { label: 'p50', color: '#1f5fbf' },
        { label: 'p99', color: '#b3261e', dash: [6, 4] },
      ],
    });
    const figures = h('dl', { class: 'figures' });
    const el = h(
      'article',
      { class: 'card', 'data-model': model },
      h('h2', {}, model),
      figures,
      h('div', { class: 'mini-charts' }, rate.el, latency.el),
    );
    c = { el, figures, rate, latency, drift: null };
    cards.set(model, c);
    d.add(() => {
      rate.destroy();
      latency.destroy();
    });
    grid.appendChild(el);
    return c;
  };

  let newestTime = -Infinity;
  const apply = (s: ServingStats) => {
    const t = Date.parse(s.time) / 1000;
    // The first REST read races the live pushes: a reading older than one shown is stale,
    // and the charts need their x values in order.
    if (!(t > newestTime)) return;
    newestTime = t;
    mount(
      replicas,
      s.replicas.map((r) =>
        h(
          'li',
          {},
          h('span', { class: `badge badge-${r.ok ? 'up' : 'down'}` }, r.ok ? 'up' : 'down'),
          ` ${r.url}`,
          r.error ? ` (${r.error})` : '',
        ),
      ),
    );
    for (const m of s.models) show(card(m.model), m, t);
    if (s.models.length === 0)
      mount(grid, h('p', { class: 'muted' }, 'No model has served a request yet.'));
    updated.textContent = `updated ${new Date(s.time).toLocaleTimeString('en-GB', { hour12: false })}`;
  };

  const show = (c: Card, m: ModelServingStats, t: number) => {
    const rate =
      c.last && t > c.last.t ? Math.max(0, (m.requests - c.last.requests) / (t - c.last.t)) : null;
    c.last = { t, requests: m.requests };
    if (rate !== null) c.rate.push(t, [rate]);
    c.latency.push(t, [m.p50Ms, m.p99Ms]);
    const drift = m.drift ?? c.drift;
    mount(
      c.figures,
      figure('requests', num(m.requests), 'requests'),
      figure('requests/s', rate === null ? '–' : num(rate, 1), 'rate'),
      figure('p50', ms(m.p50Ms), 'p50'),
      figure('p99', ms(m.p99Ms), 'p99'),
      figure('batch size', num(m.batchAvg, 1), 'batch'),
      figure('errors', num(m.errors), 'errors'),
      figure('restarts', num(m.restarts), 'restarts'),
      figure(
        'drift',
        drift === null ? 'none seen' : num(drift, 3),
        `drift${drift !== null && drift > 0 ? ' warn' : ''}`,
      ),
    );
  };

  const onEvent = (e: LiveEvent) => {
    if (e.kind === 'serving.stats') apply(e.payload as ServingStats);
    if (e.kind === 'serving.drift') {
      const p = e.payload as { model?: string; score?: number; drift?: number };
      if (p.model) {
        const c = card(p.model);
        c.drift = p.score ?? p.drift ?? 1;
        c.el.classList.add('drifting');
      }
    }
  };

  void ctx.api
    .get<ServingStats>('/serving/stats')
    .then(apply)
    .catch((e: unknown) => err.replaceChildren(errorBox(e)));
  d.add(ctx.live.subscribe({ topics: ['metrics'], onEvent }));

  const el = h(
    'section',
    { class: 'page', 'data-page': 'serving' },
    pageHeader('Serving', updated),
    err,
    h('h2', { class: 'sr-only' }, 'Replicas'),
    replicas,
    grid,
  );
  return { el, dispose: () => d.dispose() };
};
