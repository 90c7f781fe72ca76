import { LineChart } from '../charts.js';
import { h, mount } from '../dom.js';
import { duration, num, pct, time } from '../format.js';
import { Disposer, type PageFactory } from '../page.js';
import type { EpochPoint, LiveEvent, SessionRecord } from '../types.js';
import { action, badge, errorBox, pageHeader } from './common.js';

const TERMINAL = new Set(['succeeded', 'failed', 'stopped']);

/** Payload values as text (payloads are untyped JSON). */
const str = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
    ? String(v)
    : v == null
      ? ''
      : JSON.stringify(v);

/** One line about an event for the log: decisions say what was decided and why. */
function describe(e: LiveEvent): string {
  const p = (e.payload ?? {}) as Record<string, unknown>;
  switch (e.kind) {
    case 'epoch':
      return `epoch ${str(p.epoch)}/${str(p.epochs)} loss ${num(p.loss as number, 4)}, val acc ${pct(p.valAccuracy as number | undefined)}`;
    case 'decision':
      return `${str(p.action)}${p.gen ? ` generation ${str(p.gen)}` : ''}: ${str(p.reason)}${p.rule ? ` (rule ${str(p.rule)})` : ''}`;
    case 'session.state':
      return `state → ${str(p.state)}`;
    case 'session.finished':
      return `finished ${str(p.state)}, exit code ${str(p.exitCode ?? '–')}${p.reason ? `: ${str(p.reason)}` : ''}`;
    case 'generation.candidate':
      return `candidate generation ${str(p.gen)} of ${str(p.model)}`;
    case 'generation.promoted':
    case 'generation.rejected':
      return `generation ${str(p.gen)} ${e.kind.slice(11)}${p.reason ? `: ${str(p.reason)}` : ''}`;
    case 'worker.flagged':
      return `flagged: ${str(p.flag ?? p.reason ?? '')}`;
    case 'log':
      return `${(p.lines as string[] | undefined)?.length ?? 0} log lines`;
    default:
      return JSON.stringify(p).slice(0, 200);
  }
}

/** Session: live curves per epoch, the event log with decisions, exit code, last log lines, Stop. */
export const sessionPage: PageFactory = (ctx, [id = '']) => {
  const d = new Disposer();
  const loss = new LineChart({
    title: 'Loss',
    xLabel: 'epoch',
    series: [
      { label: 'train loss', color: '#1f5fbf' },
      { label: 'validation loss', color: '#b3261e', dash: [6, 4] },
    ],
  });
  const acc = new LineChart({
    title: 'Accuracy',
    xLabel: 'epoch',
    series: [
      { label: 'train accuracy', color: '#1f5fbf' },
      { label: 'validation accuracy', color: '#b3261e', dash: [6, 4] },
    ],
  });
  d.add(() => loss.destroy());
  d.add(() => acc.destroy());
  loss.el.setAttribute('data-testid', 'loss-chart');
  acc.el.setAttribute('data-testid', 'accuracy-chart');

  const summary = h('dl', { class: 'facts' });
  const progress = h('p', { class: 'progress', 'aria-live': 'polite' });
  const log = h('ol', { class: 'event-log', 'aria-label': 'Event log', reversed: true });
  const lastLogs = h(
    'pre',
    { class: 'last-logs', tabindex: 0, 'aria-label': 'Last log lines of the worker' },
    '(no log lines yet)',
  );
  const controls = h('div', { class: 'controls' });
  const err = h('div');
  let rec: SessionRecord | undefined;
  const logLines: string[] = [];

  const renderSummary = () => {
    if (!rec) return;
    const r = rec;
    const t0 = r.started ? Date.parse(r.started) : null;
    const facts: [string, Node | string][] = [
      ['State', badge(r.state)],
      ['Kind', r.kind],
      ['Model', r.request?.model ?? '–'],
      ['Dataset', r.request?.dataset ?? '–'],
      ['Trainer', r.request?.trainer ?? '–'],
      [
        'Placement',
        [r.placement?.backend, r.placement?.node, r.workerId].filter(Boolean).join(' · ') || '–',
      ],
      ['Started', time(r.started)],
      ['Duration', t0 === null ? '–' : duration((r.ended ? Date.parse(r.ended) : Date.now()) - t0)],
      ['Exit code', h('span', { 'data-testid': 'exit-code' }, String(r.exitCode ?? '–'))],
      ['Flags', r.flags.length ? r.flags.join(', ') : '–'],
      ['Reason', r.reason ?? '–'],
    ];
    mount(
      summary,
      facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    );
    summary.setAttribute('data-state', r.state);
    const stop = h('button', { type: 'button', class: 'danger' }, 'Stop session');
    const out = h('span');
    stop.addEventListener('click', () =>
      action(stop, out, () => ctx.api.post(`/sessions/${encodeURIComponent(r.id)}/stop`)),
    );
    mount(controls, ctx.can('write') && !TERMINAL.has(r.state) ? [stop, out] : []);
    if (logLines.length === 0 && r.lastLogs?.length) lastLogs.textContent = r.lastLogs.join('\n');
  };

  const onEvent = (e: LiveEvent) => {
    const p = (e.payload ?? {}) as Record<string, unknown>;
    if (e.kind === 'epoch') {
      const ep = p as unknown as EpochPoint;
      loss.push(ep.epoch, [ep.loss, ep.valLoss]);
      acc.push(ep.epoch, [ep.trainAccuracy, ep.valAccuracy]);
      progress.textContent = `epoch ${ep.epoch} of ${ep.epochs}${ep.samplesPerSec ? `, ${num(ep.samplesPerSec, 0)} samples/s` : ''}`;
    }
    if (rec) {
      if (e.kind === 'session.state' && typeof p.state === 'string') {
        rec = { ...rec, ...(p as Partial<SessionRecord>), state: p.state };
        if (p.state === 'running') rec.started ??= e.time;
      }
      if (e.kind === 'session.finished') {
        rec = {
          ...rec,
          state: str(p.state),
          exitCode: (p.exitCode as number | null) ?? null,
          ended: rec.ended ?? e.time,
          ...(p.reason ? { reason: str(p.reason) } : {}),
        };
        const lines = p.lastLogs as string[] | undefined;
        if (lines?.length) lastLogs.textContent = lines.join('\n');
      }
      if (e.kind === 'worker.flagged' && typeof p.flag === 'string' && !rec.flags.includes(p.flag))
        rec.flags = [...rec.flags, p.flag];
      renderSummary();
    }
    if (e.kind === 'log') {
      logLines.push(...((p.lines as string[] | undefined) ?? []));
      lastLogs.textContent = logLines.slice(-50).join('\n');
    }
    const item = h(
      'li',
      { class: `ev ev-${e.kind.replace(/\./g, '-')}`, 'data-kind': e.kind },
      h('time', { datetime: e.time }, time(e.time)),
      ' ',
      h('strong', {}, e.kind),
      ' ',
      describe(e),
    );
    log.prepend(item);
  };

  void (async () => {
    try {
      const r = await ctx.api.get<SessionRecord & { events: LiveEvent[] }>(
        `/sessions/${encodeURIComponent(id)}`,
      );
      const { events, ...record } = r;
      rec = record;
      for (const e of events) onEvent(e);
      renderSummary();
      // Resume from the last archived event read: nothing between the read and the subscription is missed.
      const since = events.at(-1)?.id;
      d.add(
        ctx.live.subscribe({ topics: [`session:${id}`], onEvent, ...(since ? { since } : {}) }),
      );
    } catch (e) {
      err.replaceChildren(errorBox(e));
    }
  })();

  const el = h(
    'section',
    { class: 'page', 'data-page': 'session' },
    pageHeader(`Session ${id.slice(0, 8)}`, h('span', { class: 'muted' }, id)),
    err,
    h('div', { class: 'session-top' }, summary, controls),
    progress,
    h('div', { class: 'charts' }, loss.el, acc.el),
    h('h2', {}, 'Event log'),
    log,
    h('h2', {}, 'Last log lines'),
    lastLogs,
  );
  return { el, dispose: () => d.dispose() };
};
