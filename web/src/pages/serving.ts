import { LineChart } from '../charts.js';
import { h, mount } from '../dom.js';
import { ms, num } from '../format.js';
import { Disposer, type PageFactory } from '../page.js';
import type { LiveEvent, ModelServingStats, ServingStats } from '../types.js';
import { errorBox, pageHeader } from './common.js';
import { generationLink, modelLink } from '../links.js';
import type { ModelInfo } from '../types.js';

interface Sample {
  t: number;
  requests: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

const WINDOW = 120;

interface Card {
  el: HTMLElement;
  figures: HTMLElement;
  served: HTMLElement;
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
      title: 'Requests per second',
      xLabel: 'time',
      yLabel: 'requests/s',
      time: true,
      maxPoints: WINDOW,
      height: 220,
      series: [{ label: 'req/s', color: '#1f5fbf' }],
    });
    const latency = new LineChart({
      title: 'Latency measured at the serving replica (queue + inference, no network)',
      xLabel: 'time',
      yLabel: 'ms at replica',
      time: true,
      maxPoints: WINDOW,
      height: 220,
      format: (v) => ms(v),
      series: [
        { label: 'p50', color: '#1f5fbf' },
        { label: 'p99', color: '#b3261e', dash: [6, 4] },
      ],
    });
    const figures = h('dl', { class: 'figures' });
    const served = h('p', { class: 'served' }, 'Serving: –');
    const el = h(
      'article',
      { class: 'card', 'data-model': model },
      h('h2', {}, modelLink(model)),
      served,
      figures,
      h('div', { class: 'mini-charts' }, rate.el, latency.el),
    );
    c = { el, figures, served, rate, latency, drift: null };
    const prod = production.get(model);
    if (prod !== undefined) showServed(c, prod);
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
    if (s.models.length === 0 && cards.size === 0)
      mount(
        grid,
        h(
          'p',
          { class: 'muted empty' },
          'No model has served a request yet: promote a generation on Models, then send a request to /v2/models/<name>/infer.',
        ),
      );
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
      figure('p50 at replica', ms(m.p50Ms), 'p50'),
      figure('p99 at replica', ms(m.p99Ms), 'p99'),
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

  const production = new Map<string, number | null>();
  const showServed = (c: Card, gen: number | null) =>
    mount(
      c.served,
      'Serving: ',
      gen === null ? 'no production generation' : generationLink(c.el.dataset.model!, gen),
    );

  // History first (kept by the gateway in Redis), so a reload keeps the charts; then live.
  void (async () => {
    try {
      const [hist, models] = await Promise.all([
        ctx.api
          .get<{ models: Record<string, Sample[]> }>('/serving/history')
          .catch(() => ({ models: {} })),
        ctx.api.get<{ models: ModelInfo[] }>('/models').catch(() => ({ models: [] })),
      ]);
      for (const m of models.models) production.set(m.name, m.production);
      for (const [model, samples] of Object.entries(hist.models)) {
        const c = card(model);
        let prev: Sample | undefined;
        for (const s of samples) {
          const t = s.t / 1000;
          if (prev && t > prev.t / 1000)
            c.rate.push(t, [Math.max(0, (s.requests - prev.requests) / (t - prev.t / 1000))]);
          c.latency.push(t, [s.p50Ms, s.p99Ms]);
          prev = s;
        }
      }
      for (const [model, c] of cards) {
        const prod = production.get(model);
        if (prod !== undefined) showServed(c, prod);
      }
      apply(await ctx.api.get<ServingStats>('/serving/stats'));
    } catch (e) {
      err.replaceChildren(errorBox(e));
    }
  })();
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
