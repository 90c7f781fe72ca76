import { ApiError } from '../api.js';
import { LineChart } from '../charts.js';
import { h, mount } from '../dom.js';
import { duration, num, pct, time } from '../format.js';
import { datasetRefLink, generationLink, hrefs, modelLink } from '../links.js';
import { formatLogLine } from '../logline.js';
import { Disposer, type PageFactory } from '../page.js';
import type { EpochPoint, Generation, LiveEvent, SessionRecord } from '../types.js';
import { action, badge, errorBox, pageHeader } from './common.js';
import { describeEvent, eventItem } from './event-text.js';
import { notFoundView } from './notfound.js';
import { paramsTable } from './params.js';
import { rerunForm } from './rerun.js';

const TERMINAL = new Set(['succeeded', 'failed', 'stopped']);
/** epoch fields the loss and accuracy charts and the progress line show */
const BUILT_IN = new Set([
  'epoch',
  'epochs',
  'loss',
  'valLoss',
  'trainAccuracy',
  'valAccuracy',
  'samplesPerSec',
]);

/** Log lines as readable rows: level, message and fields instead of raw pino JSON. */
function renderLogs(el: HTMLElement, lines: string[]): void {
  mount(
    el,
    lines.length === 0
      ? h('li', { class: 'muted' }, 'No log lines yet: they appear while the worker runs.')
      : lines.map((l) => {
          const f = formatLogLine(l);
          return h('li', { class: `log-line${f.level ? ` lvl-${f.level}` : ''}` }, f.text);
        }),
  );
}

/** A Stop button that asks first: one click shows the question, a second one stops. */
function stopControl(onStop: () => Promise<unknown>): HTMLElement {
  const box = h('div', { class: 'confirm' });
  const out = h('span');
  const stop = h('button', { type: 'button', class: 'danger' }, 'Stop session');
  const ask = () => {
    const yes = h('button', { type: 'button', class: 'danger' }, 'Yes, stop it');
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    no.addEventListener('click', () => mount(box, stop, out));
    yes.addEventListener('click', () => action(yes, out, onStop));
    mount(
      box,
      h('span', { role: 'alert' }, 'Stop this session? The worker is ended and its progress lost.'),
      yes,
      no,
      out,
    );
    yes.focus();
  };
  stop.addEventListener('click', ask);
  mount(box, stop, out);
  return box;
}

/** Session: live curves per epoch, parameters, the event log with decisions, exit code, last log lines, Stop. */
export const sessionPage: PageFactory = (ctx, [id = '']) => {
  const d = new Disposer();
  const body = h('div', { class: 'session-body' });
  const err = h('div');
  const el = h(
    'section',
    { class: 'page', 'data-page': 'session' },
    pageHeader(`Session ${id.slice(0, 8)}`, h('span', { class: 'muted mono wrap' }, id)),
    err,
    body,
  );

  let epochs: number | undefined;
  const build = () => {
    const loss = new LineChart({
      title: 'Loss',
      xLabel: 'epoch',
      yLabel: 'loss',
      epochs: () => epochs,
      series: [
        { label: 'train loss', color: '#1f5fbf' },
        { label: 'validation loss', color: '#b3261e', dash: [6, 4] },
      ],
    });
    const acc = new LineChart({
      title: 'Accuracy',
      xLabel: 'epoch',
      yLabel: 'accuracy',
      epochs: () => epochs,
      format: (v) => pct(v),
      series: [
        { label: 'train accuracy', color: '#1f5fbf' },
        { label: 'validation accuracy', color: '#b3261e', dash: [6, 4] },
      ],
    });
    d.add(() => loss.destroy());
    d.add(() => acc.destroy());
    loss.el.setAttribute('data-testid', 'loss-chart');
    acc.el.setAttribute('data-testid', 'accuracy-chart');
    return { loss, acc };
  };

  const summary = h('dl', { class: 'facts' });
  const params = h('div', { class: 'params' });
  const progress = h('p', { class: 'progress', 'aria-live': 'polite' });
  const log = h('ol', { class: 'event-log', 'aria-label': 'Event log', reversed: true });
  const lastLogs = h('ol', {
    class: 'last-logs',
    tabindex: 0,
    'aria-label': 'Last log lines of the worker',
  });
  const controls = h('div', { class: 'controls' });
  const rerun = h('div');
  /**
   * Metrics beyond the built-in ones (an SDK trainer's `macroF1`, `rmse`, …), a chart each,
   * made when a metric first has a number.
   */
  const customCharts = h('div', { class: 'charts custom-charts' });
  const custom = new Map<string, LineChart>();
  const plotCustom = (p: Record<string, unknown>, epoch: number) => {
    for (const [k, v] of Object.entries(p)) {
      if (BUILT_IN.has(k) || (v !== null && typeof v !== 'number')) continue;
      let chart = custom.get(k);
      if (!chart) {
        if (typeof v !== 'number' || !Number.isFinite(v)) continue;
        chart = new LineChart({
          title: k,
          xLabel: 'epoch',
          yLabel: k,
          epochs: () => epochs,
          series: [{ label: k, color: '#6a1b9a' }],
        });
        chart.el.setAttribute('data-testid', 'metric-chart');
        chart.el.setAttribute('data-metric', k);
        custom.set(k, chart);
        const c = chart;
        d.add(() => c.destroy());
        customCharts.append(chart.el);
      }
      chart.push(epoch, [v]);
    }
  };
  let rec: SessionRecord | undefined;
  const logLines: string[] = [];
  /** generations this session produced, from its generation.* and decision events */
  const produced = new Map<string, { model: string; gen: number }>();

  const renderSummary = () => {
    if (!rec) return;
    const r = rec;
    const t0 = r.started ? Date.parse(r.started) : null;
    const facts: [string, Node | string | (Node | string)[]][] = [
      ['State', badge(r.state)],
      ['Kind', r.kind],
      ['Model', r.request?.model ? modelLink(r.request.model) : '–'],
      ['Dataset', r.request?.dataset ? datasetRefLink(r.request.dataset) : '–'],
      ['Trainer', r.request?.trainer ?? '–'],
      [
        'Generation',
        produced.size === 0
          ? h('span', { class: 'muted' }, r.state === 'succeeded' ? 'none registered' : 'none yet')
          : [...produced.values()].flatMap((g, i) => [
              i ? ', ' : '',
              generationLink(g.model, g.gen),
            ]),
      ],
      [
        'Placement',
        [r.placement?.backend, r.placement?.node, r.placement?.warm ? 'warm spare' : '', r.workerId]
          .filter(Boolean)
          .join(' · ') || '–',
      ],
      ['Started', time(r.started)],
      ['Duration', t0 === null ? '–' : duration((r.ended ? Date.parse(r.ended) : Date.now()) - t0)],
      ['Exit code', h('span', { 'data-testid': 'exit-code' }, String(r.exitCode ?? '–'))],
      ['Flags', r.flags.length ? r.flags.join(', ') : '–'],
      ['Reason', r.reason ?? '–'],
      ['Events', h('a', { href: hrefs.events({ session: r.id }) }, 'on the Events page')],
    ];
    mount(
      summary,
      facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    );
    summary.setAttribute('data-state', r.state);
    mount(
      controls,
      ctx.can('write') && !TERMINAL.has(r.state)
        ? stopControl(() => ctx.api.post(`/sessions/${encodeURIComponent(r.id)}/stop`))
        : [],
    );
    if (logLines.length === 0 && r.lastLogs?.length) renderLogs(lastLogs, r.lastLogs);
  };

  const start = (record: SessionRecord, events: LiveEvent[]) => {
    rec = record;
    const { loss, acc } = build();
    mount(params, h('h2', {}, 'Parameters'), paramsTable(record.request?.params ?? {}));
    if (ctx.can('write') && record.request) {
      const open = h('button', { type: 'button', class: 'secondary' }, 'Re-run with changes');
      open.addEventListener('click', () => mount(rerun, rerunForm(ctx, record)));
      mount(rerun, open);
    }
    renderLogs(lastLogs, record.lastLogs ?? []);
    const onEvent = (e: LiveEvent) => {
      const p = (e.payload ?? {}) as Record<string, unknown>;
      if (e.kind === 'epoch') {
        const ep = p as unknown as EpochPoint;
        epochs = ep.epochs;
        loss.push(ep.epoch, [ep.loss, ep.valLoss]);
        acc.push(ep.epoch, [ep.trainAccuracy, ep.valAccuracy]);
        plotCustom(p, ep.epoch);
        progress.textContent = `epoch ${ep.epoch} of ${ep.epochs}${ep.samplesPerSec ? `, ${num(ep.samplesPerSec, 0)} samples/s` : ''}`;
      }
      if (
        (e.kind.startsWith('generation.') || e.kind === 'decision') &&
        typeof p.gen === 'number' &&
        typeof (p.model ?? rec?.request?.model) === 'string'
      ) {
        const model = (p.model as string | undefined) ?? rec!.request!.model!;
        produced.set(`${model}/${p.gen}`, { model, gen: p.gen });
      }
      if (rec) {
        if (e.kind === 'session.state' && typeof p.state === 'string') {
          rec = { ...rec, ...(p as Partial<SessionRecord>), state: p.state };
          if (p.state === 'running') rec.started ??= e.time;
        }
        if (e.kind === 'session.finished') {
          rec = {
            ...rec,
            state: typeof p.state === 'string' ? p.state : rec.state,
            exitCode: (p.exitCode as number | null) ?? null,
            ended: rec.ended ?? e.time,
            ...(typeof p.reason === 'string' ? { reason: p.reason } : {}),
          };
          const lines = p.lastLogs as string[] | undefined;
          if (lines?.length) renderLogs(lastLogs, lines);
        }
        if (
          e.kind === 'worker.flagged' &&
          typeof p.flag === 'string' &&
          !rec.flags.includes(p.flag)
        )
          rec.flags = [...rec.flags, p.flag];
        renderSummary();
      }
      if (e.kind === 'log') {
        logLines.push(...((p.lines as string[] | undefined) ?? []));
        renderLogs(lastLogs, logLines.slice(-50));
      }
      if (e.kind !== 'epoch' || log.childElementCount < 400)
        log.prepend(eventItem(e, describeEvent));
    };
    for (const e of events) onEvent(e);
    renderSummary();
    // Generations name the session that registered them: found even when no event says so.
    const model = record.request?.model;
    if (model)
      void ctx.api
        .get<{ generationsList: Generation[] }>(`/models/${encodeURIComponent(model)}`)
        .then((m) => {
          for (const g of m.generationsList)
            if (g.sessionId === record.id) produced.set(`${model}/${g.gen}`, { model, gen: g.gen });
          renderSummary();
        })
        .catch(() => {
          /* no model yet: nothing registered */
        });
    mount(
      body,
      h('div', { class: 'session-top' }, summary, h('div', {}, controls, rerun)),
      progress,
      h('div', { class: 'charts' }, loss.el, acc.el),
      customCharts,
      params,
      h('h2', {}, 'Event log'),
      log,
      h('h2', {}, 'Last log lines'),
      lastLogs,
    );
    return onEvent;
  };

  void (async () => {
    try {
      const r = await ctx.api.get<SessionRecord & { events: LiveEvent[] }>(
        `/sessions/${encodeURIComponent(id)}`,
      );
      const { events, ...record } = r;
      const onEvent = start(record, events);
      // Resume from the last archived event read: nothing between the read and the subscription is missed.
      const since = events.at(-1)?.id;
      d.add(
        ctx.live.subscribe({ topics: [`session:${id}`], onEvent, ...(since ? { since } : {}) }),
      );
    } catch (e) {
      // An unknown id is a page of its own, with no empty charts under it.
      if (e instanceof ApiError && e.status === 404)
        mount(
          body,
          notFoundView(`No session has the id “${id}”.`, {
            href: '#/sessions',
            label: 'See every session',
          }),
        );
      else err.replaceChildren(errorBox(e));
    }
  })();

  return { el, dispose: () => d.dispose() };
};
