import { debounce, esc, h } from '../dom.js';
import { duration, time } from '../format.js';
import { Disposer, type PageFactory } from '../page.js';
import type { SessionRecord } from '../types.js';
import { errorBox, pageHeader } from './common.js';
import { NewestOnly } from '../newest.js';

const STATES = ['queued', 'placing', 'starting', 'running', 'succeeded', 'failed', 'stopped'];
const PAGE = 1000;
/** the most rows the API answers at once (its `limit` maximum) */
const MAX_ROWS = 5000;

interface Column {
  key: string;
  label: string;
  value(s: SessionRecord, now: number): string | number;
  /** rendered cell HTML (escaped); defaults to the value */
  cell?(s: SessionRecord, now: number): string;
}

const started = (s: SessionRecord) => (s.started ? Date.parse(s.started) : null);
const durationMs = (s: SessionRecord, now: number) => {
  const t0 = started(s);
  return t0 === null ? -1 : (s.ended ? Date.parse(s.ended) : now) - t0;
};
const placement = (s: SessionRecord) => {
  const p = s.placement;
  if (!p) return '';
  return (
    [p.backend, p.node, p.workerId ?? s.workerId].filter(Boolean).join(' · ') ||
    (p.pendingReason ?? '')
  );
};

const COLUMNS: Column[] = [
  {
    key: 'id',
    label: 'Session',
    value: (s) => s.id,
    cell: (s) =>
      `<a href="#/session/${esc(encodeURIComponent(s.id))}">${esc(s.id.slice(0, 8))}</a>`,
  },
  {
    key: 'state',
    label: 'State',
    value: (s) => s.state,
    cell: (s) => `<span class="badge badge-${esc(s.state)}">${esc(s.state)}</span>`,
  },
  { key: 'kind', label: 'Kind', value: (s) => s.kind },
  { key: 'model', label: 'Model', value: (s) => s.request?.model ?? '' },
  { key: 'dataset', label: 'Dataset@version', value: (s) => s.request?.dataset ?? '' },
  { key: 'placement', label: 'Placement', value: placement },
  {
    key: 'started',
    label: 'Started',
    value: (s) => s.started ?? s.created,
    cell: (s) => esc(time(s.started ?? s.created)),
  },
  {
    key: 'duration',
    label: 'Duration',
    value: durationMs,
    cell: (s, now) => esc(duration(started(s) === null ? null : durationMs(s, now))),
  },
  {
    key: 'exit',
    label: 'Exit code',
    value: (s) => s.exitCode ?? -1,
    cell: (s) => esc(s.exitCode ?? '–'),
  },
  {
    key: 'flags',
    label: 'Flags',
    value: (s) => s.flags.join(' '),
    cell: (s) => s.flags.map((f) => `<span class="flag">${esc(f)}</span>`).join(' '),
  },
];

/** Sessions: every session in a sortable, filterable table, refreshed by session events. */
export const sessionsPage: PageFactory = (ctx) => {
  const d = new Disposer();
  let items: SessionRecord[] = [];
  let total = 0;
  let sortKey = 'started';
  let sortDir: 1 | -1 = -1;

  const stateSel = h(
    'select',
    { id: 'state-filter' },
    h('option', { value: '' }, 'all'),
    STATES.map((s) => h('option', { value: s }, s)),
  );
  const textIn = h('input', {
    id: 'text-filter',
    type: 'search',
    placeholder: 'model, dataset, id…',
  });
  const count = h('p', { class: 'count', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const tbody = h('tbody', { role: 'rowgroup' });
  const heads = COLUMNS.map((c) =>
    h(
      'th',
      { scope: 'col', role: 'columnheader', 'data-key': c.key },
      h('button', { type: 'button', class: 'sort', 'data-key': c.key }, c.label),
    ),
  );
  const table = h(
    'table',
    { class: 'sessions', role: 'table', 'aria-label': 'Sessions' },
    h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, heads)),
    tbody,
  );
  const err = h('div');

  const render = () => {
    const now = Date.now();
    const q = textIn.value.trim().toLowerCase();
    const col = COLUMNS.find((c) => c.key === sortKey) ?? COLUMNS[0]!;
    const rows = (
      q
        ? items.filter((s) =>
            `${s.id} ${s.request?.model ?? ''} ${s.request?.dataset ?? ''} ${s.kind} ${s.flags.join(' ')}`
              .toLowerCase()
              .includes(q),
          )
        : items
    )
      .map((s) => ({ s, k: col.value(s, now) }))
      .sort((a, b) => (a.k < b.k ? -sortDir : a.k > b.k ? sortDir : 0));
    // One HTML string for all rows: a thousand rows cost one parse instead of ten thousand nodes built by hand.
    tbody.innerHTML = rows
      .map(
        ({ s }) =>
          `<tr role="row" data-id="${esc(s.id)}" data-state="${esc(s.state)}">${COLUMNS.map((c) => `<td role="cell">${c.cell ? c.cell(s, now) : esc(c.value(s, now))}</td>`).join('')}</tr>`,
      )
      .join('');
    for (const th of heads) {
      const k = th.getAttribute('data-key');
      th.setAttribute(
        'aria-sort',
        k === sortKey ? (sortDir === 1 ? 'ascending' : 'descending') : 'none',
      );
    }
    count.textContent = `${rows.length} shown of ${total} sessions`;
    more.hidden = items.length >= Math.min(total, MAX_ROWS);
  };

  const newest = new NewestOnly();
  // How many rows the person asked to see: More raises it. Every load reads that many from
  // the top, so a live refresh that overtakes a More keeps the extra rows instead of dropping them.
  let wanted = PAGE;
  const load = async (more = false) => {
    if (more) wanted = Math.min(MAX_ROWS, items.length + PAGE);
    const latest = newest.begin();
    const state = stateSel.value;
    try {
      const r = await ctx.api.get<{ items: SessionRecord[]; total: number }>(
        `/sessions?limit=${wanted}&offset=0${state ? `&state=${state}` : ''}`,
      );
      if (!latest()) return;
      items = r.items;
      total = r.total;
      err.replaceChildren();
      render();
    } catch (e) {
      if (latest()) err.replaceChildren(errorBox(e));
    }
  };
  const reload = debounce(() => void load(), 250);
  d.add(() => reload.cancel());

  table.querySelector('thead')?.addEventListener('click', (e) => {
    const key = (e.target as HTMLElement).closest('button')?.getAttribute('data-key');
    if (!key) return;
    if (key === sortKey) sortDir = sortDir === 1 ? -1 : 1;
    else {
      sortKey = key;
      sortDir = 1;
    }
    render();
  });
  stateSel.addEventListener('change', () => void load());
  textIn.addEventListener('input', render);
  more.addEventListener('click', () => void load(true));

  d.add(ctx.live.subscribe({ topics: ['sessions'], onEvent: reload, resync: reload }));
  void load();

  const el = h(
    'section',
    { class: 'page', 'data-page': 'sessions' },
    pageHeader('Sessions'),
    h(
      'div',
      { class: 'filters' },
      h('label', { for: 'state-filter' }, 'State'),
      stateSel,
      h('label', { for: 'text-filter' }, 'Filter'),
      textIn,
    ),
    count,
    err,
    h('div', { class: 'table-wrap' }, table),
    more,
  );
  return { el, dispose: () => d.dispose() };
};
