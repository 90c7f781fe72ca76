import { debounce, esc, h, mount } from '../dom.js';
import { duration, time } from '../format.js';
import { Disposer, type PageFactory } from '../page.js';
import type { SessionRecord } from '../types.js';
import { errorBox, pageHeader } from './common.js';
import { NewestOnly } from '../newest.js';
import { hrefs, parseDatasetRef } from '../links.js';
import { matchesQuery, parseQuery } from '../query.js';
import { flattenParams, paramText } from './params.js';
import type { Generation, ModelInfo } from '../types.js';

const COLS_KEY = 'swarmml.sessionColumns';
/** final metrics per session id, from the generations its sessions registered */
type Finals = Map<string, Record<string, number>>;

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
    [p.backend, p.node, p.warm ? 'warm spare' : '', p.workerId ?? s.workerId]
      .filter(Boolean)
      .join(' · ') ||
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
  {
    key: 'model',
    label: 'Model',
    value: (s) => s.request?.model ?? '',
    cell: (s) =>
      s.request?.model
        ? `<a href="${esc(hrefs.model(s.request.model))}">${esc(s.request.model)}</a>`
        : '',
  },
  {
    key: 'dataset',
    label: 'Dataset@version',
    value: (s) => s.request?.dataset ?? '',
    cell: (s) => {
      if (!s.request?.dataset) return '';
      const { name, version } = parseDatasetRef(s.request.dataset);
      return `<a href="${esc(hrefs.dataset(name, version))}">${esc(s.request.dataset)}</a>`;
    },
  },
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

const BASE_TEMPLATE = [
  '2.5em',
  '7em',
  '7.5em',
  '5em',
  'minmax(6em,1fr)',
  'minmax(8em,1fr)',
  '12em',
  '13em',
  '7em',
  '5em',
  'minmax(4em,1fr)',
];

function savedColumns(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(COLS_KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Sessions: every session in a sortable table with parameter and metric columns and a query filter, live. */
export const sessionsPage: PageFactory = (ctx) => {
  const d = new Disposer();
  let items: SessionRecord[] = [];
  let total = 0;
  let sortKey = 'started';
  let sortDir: 1 | -1 = -1;
  let finals: Finals = new Map();
  /** extra columns: `param:<key>` or `metric:<key>` */
  let extra = savedColumns();
  const selected = new Set<string>();

  const stateSel = h(
    'select',
    { id: 'state-filter' },
    h('option', { value: '' }, 'all'),
    STATES.map((s) => h('option', { value: s }, s)),
  );
  const textIn = h('input', {
    id: 'text-filter',
    type: 'search',
    placeholder: 'valAccuracy > 0.9 trainer = mlp',
    'aria-describedby': 'filter-help',
  });
  const help = h(
    'p',
    { id: 'filter-help', class: 'muted small' },
    'Terms: key op value (= != > < >= <= ~), all must hold; a plain word matches any text. Keys: state, kind, model, dataset, trainer, any parameter or final metric.',
  );
  const count = h('p', { class: 'count', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const compare = h(
    'a',
    { class: 'button-link', 'aria-disabled': 'true', href: '#/sessions' },
    'Compare selected',
  );
  const chooser = h('details', { class: 'columns' }, h('summary', {}, 'Columns'));
  const thead = h('thead', { role: 'rowgroup' });
  const tbody = h('tbody', { role: 'rowgroup' });
  const table = h(
    'table',
    { class: 'sessions', role: 'table', 'aria-label': 'Sessions' },
    thead,
    tbody,
  );
  const err = h('div');

  const paramsOf = (s: SessionRecord) => flattenParams(s.request?.params ?? {});
  const extraCols = (): Column[] =>
    extra.map((c) => {
      const [kind, ...rest] = c.split(':');
      const key = rest.join(':');
      if (kind === 'metric')
        return {
          key: c,
          label: key,
          value: (s: SessionRecord) => finals.get(s.id)?.[key] ?? -Infinity,
          cell: (s: SessionRecord) => {
            const v = finals.get(s.id)?.[key];
            return v === undefined ? '–' : esc(Number(v.toPrecision(4)));
          },
        };
      return {
        key: c,
        label: key,
        value: (s: SessionRecord) => {
          const v = paramsOf(s)[key];
          return typeof v === 'number' ? v : v === undefined ? '' : paramText(v);
        },
        cell: (s: SessionRecord) => esc(paramText(paramsOf(s)[key])),
      };
    });

  const renderHead = () => {
    const cols = [...COLUMNS, ...extraCols()];
    table.style.setProperty(
      '--cols',
      [...BASE_TEMPLATE, ...extra.map(() => 'minmax(6em,1fr)')].join(' '),
    );
    table.style.minWidth = `${1100 + extra.length * 96}px`;
    mount(
      thead,
      h(
        'tr',
        { role: 'row' },
        h('th', { scope: 'col', role: 'columnheader' }, h('span', { class: 'sr-only' }, 'Select')),
        cols.map((c) =>
          h(
            'th',
            {
              scope: 'col',
              role: 'columnheader',
              'data-key': c.key,
              'aria-sort':
                c.key === sortKey ? (sortDir === 1 ? 'ascending' : 'descending') : 'none',
            },
            h('button', { type: 'button', class: 'sort', 'data-key': c.key }, c.label),
          ),
        ),
      ),
    );
  };

  const renderChooser = () => {
    const params = new Set<string>();
    const metrics = new Set<string>();
    for (const s of items) for (const k of Object.keys(paramsOf(s))) params.add(k);
    for (const m of finals.values()) for (const k of Object.keys(m)) metrics.add(k);
    const box = (id: string, label: string) => {
      const input = h('input', { type: 'checkbox', id: `col-${id}`, checked: extra.includes(id) });
      input.addEventListener('change', () => {
        extra = input.checked ? [...extra, id] : extra.filter((x) => x !== id);
        localStorage.setItem(COLS_KEY, JSON.stringify(extra));
        render();
      });
      return h('label', { class: 'check' }, input, ' ', label);
    };
    mount(
      chooser,
      h('summary', {}, `Columns (${extra.length} extra)`),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Final metrics'),
        metrics.size
          ? [...metrics].sort().map((k) => box(`metric:${k}`, k))
          : h('span', { class: 'muted' }, 'none registered yet'),
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Parameters'),
        params.size
          ? [...params].sort().map((k) => box(`param:${k}`, k))
          : h('span', { class: 'muted' }, 'no session set any'),
      ),
    );
    chooser.open = chooser.open || false;
  };

  const field =
    (s: SessionRecord) =>
    (key: string): unknown => {
      switch (key) {
        case 'state':
          return s.state;
        case 'kind':
          return s.kind;
        case 'model':
          return s.request?.model;
        case 'dataset':
          return s.request?.dataset;
        case 'trainer':
          return s.request?.trainer;
        case 'id':
          return s.id;
        case 'exit':
        case 'exitCode':
          return s.exitCode;
      }
      const m = finals.get(s.id);
      if (m && key in m) return m[key];
      const p = paramsOf(s);
      return p[key] ?? p[key.replace(/^params\./, '')];
    };

  const renderCompare = () => {
    const ids = [...selected];
    compare.textContent = `Compare selected (${ids.length})`;
    if (ids.length >= 2) {
      compare.setAttribute('href', hrefs.compare(ids));
      compare.removeAttribute('aria-disabled');
    } else {
      compare.setAttribute('href', '#/sessions');
      compare.setAttribute('aria-disabled', 'true');
    }
  };

  const render = () => {
    const now = Date.now();
    renderHead();
    const cols = [...COLUMNS, ...extraCols()];
    const terms = parseQuery(textIn.value.trim());
    const col = cols.find((c) => c.key === sortKey) ?? COLUMNS[0]!;
    const rows = (
      terms.length
        ? items.filter((s) =>
            matchesQuery(
              terms,
              field(s),
              `${s.id} ${s.request?.model ?? ''} ${s.request?.dataset ?? ''} ${s.request?.trainer ?? ''} ${s.kind} ${s.state} ${s.flags.join(' ')}`,
            ),
          )
        : items
    )
      .map((s) => ({ s, k: col.value(s, now) }))
      .sort((a, b) => (a.k < b.k ? -sortDir : a.k > b.k ? sortDir : 0));
    // One HTML string for all rows: a thousand rows cost one parse instead of ten thousand nodes built by hand.
    tbody.innerHTML = rows.length
      ? rows
          .map(
            ({ s }) =>
              `<tr role="row" data-id="${esc(s.id)}" data-state="${esc(s.state)}"><td role="cell"><input type="checkbox" data-select="${esc(s.id)}" aria-label="Select session ${esc(s.id.slice(0, 8))}"${selected.has(s.id) ? ' checked' : ''}></td>${cols.map((c) => `<td role="cell">${c.cell ? c.cell(s, now) : esc(c.value(s, now))}</td>`).join('')}</tr>`,
          )
          .join('')
      : `<tr role="row" class="empty-row"><td role="cell" class="muted">${
          items.length === 0
            ? 'No sessions yet. Start one with <code>swarmml train --model NAME --dataset NAME</code> or POST /api/v1/sessions; it appears here at once.'
            : 'No session matches this filter. Clear it, or try a looser term (such as <code>valAccuracy &gt; 0.5</code>).'
        }</td></tr>`;
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
      renderChooser();
    } catch (e) {
      if (latest()) err.replaceChildren(errorBox(e));
    }
  };
  // Final metrics come from the generations sessions registered (read after the rows: the
  // table shows first, the metric columns fill in).
  const loadFinals = async () => {
    try {
      const { models } = await ctx.api.get<{ models: ModelInfo[] }>('/models');
      const details = await Promise.all(
        models.map((m) =>
          ctx.api
            .get<{ generationsList: Generation[] }>(`/models/${encodeURIComponent(m.name)}`)
            .catch(() => ({ generationsList: [] as Generation[] })),
        ),
      );
      const next: Finals = new Map();
      for (const dm of details)
        for (const g of dm.generationsList)
          if (g.sessionId) {
            const measured = (g.evaluation as { metrics?: Record<string, number> } | undefined)
              ?.metrics;
            next.set(g.sessionId, { ...g.metrics, ...(measured ?? {}) });
          }
      finals = next;
      render();
      renderChooser();
    } catch {
      /* metric columns stay empty; the rows are what matters */
    }
  };
  const reload = debounce(() => {
    void load();
    void loadFinals();
  }, 250);
  d.add(() => reload.cancel());

  thead.addEventListener('click', (e) => {
    const key = (e.target as HTMLElement).closest('button')?.getAttribute('data-key');
    if (!key) return;
    if (key === sortKey) sortDir = sortDir === 1 ? -1 : 1;
    else {
      sortKey = key;
      sortDir = 1;
    }
    render();
  });
  tbody.addEventListener('change', (e) => {
    const t = e.target as HTMLInputElement;
    const id = t.getAttribute('data-select');
    if (!id) return;
    if (t.checked) selected.add(id);
    else selected.delete(id);
    renderCompare();
  });
  stateSel.addEventListener('change', () => void load());
  textIn.addEventListener('input', render);
  more.addEventListener('click', () => void load(true));

  d.add(ctx.live.subscribe({ topics: ['sessions'], onEvent: reload, resync: reload }));
  void load();
  void loadFinals();
  renderCompare();

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
      compare,
    ),
    help,
    chooser,
    count,
    err,
    h('div', { class: 'table-wrap' }, table),
    more,
  );
  return { el, dispose: () => d.dispose() };
};
