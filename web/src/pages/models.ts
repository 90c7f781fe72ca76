import { debounce, h, mount } from '../dom.js';
import { bytes, num, time } from '../format.js';
import { Disposer, type PageFactory, type PageContext } from '../page.js';
import type { Generation, ModelInfo } from '../types.js';
import { action, badge, errorBox, pageHeader } from './common.js';
import { NewestOnly } from '../newest.js';
import { ApiError } from '../api.js';
import { datasetLink, generationLink, hrefs, sessionLink } from '../links.js';
import { directionOverrides, verdict } from '../metric-direction.js';
import { notFoundView } from './notfound.js';
import { paramsTable } from './params.js';

let overrides: Record<string, boolean> = {};

type ModelDetail = ModelInfo & { generationsList: Generation[] };

/** Metrics of two generations side by side, with B − A. */
function metricsDiff(a: Generation, b: Generation): HTMLElement {
  const keys = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])].sort();
  return h(
    'table',
    { class: 'diff', 'aria-label': `Metrics of generation ${a.gen} and ${b.gen}` },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'metric'),
        h('th', { scope: 'col' }, `gen ${a.gen}`),
        h('th', { scope: 'col' }, `gen ${b.gen}`),
        h('th', { scope: 'col' }, 'change'),
      ),
    ),
    h(
      'tbody',
      {},
      keys.map((k) => {
        const x = a.metrics[k];
        const y = b.metrics[k];
        const delta = x !== undefined && y !== undefined ? y - x : undefined;
        const v = verdict(k, x, y, overrides);
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, k),
          h('td', {}, num(x, 4)),
          h('td', {}, num(y, 4)),
          h(
            'td',
            { class: v ?? '', 'data-verdict': v },
            delta === undefined
              ? '–'
              : `${delta > 0 ? '+' : ''}${delta.toFixed(4)}${v && v !== 'same' ? ` (${v})` : ''}`,
          ),
        );
      }),
    ),
  );
}

function generationRow(
  ctx: PageContext,
  m: ModelDetail,
  g: Generation,
  refresh: () => void,
  pick: HTMLInputElement,
): HTMLElement {
  const out = h('span', { class: 'action-out' });
  const buttons: HTMLElement[] = [];
  if (ctx.can('admin') && g.status !== 'production') {
    const promote = h(
      'button',
      { type: 'button', 'aria-label': `Promote generation ${g.gen}` },
      'Promote',
    );
    promote.addEventListener('click', () =>
      action(promote, out, () =>
        ctx.api
          .post(
            `/models/${encodeURIComponent(m.name)}/generations/${g.gen}/promote${g.status === 'rejected' ? '?force=true' : ''}`,
          )
          .then(refresh),
      ),
    );
    buttons.push(promote);
  }
  if (ctx.can('admin') && g.status === 'candidate') {
    const reason = h('input', {
      type: 'text',
      'aria-label': `Reason to reject generation ${g.gen}`,
      placeholder: 'reason',
      value: 'rejected by hand',
    });
    const reject = h(
      'button',
      { type: 'button', class: 'danger', 'aria-label': `Reject generation ${g.gen}` },
      'Reject',
    );
    reject.addEventListener('click', () =>
      action(reject, out, () =>
        ctx.api
          .post(`/models/${encodeURIComponent(m.name)}/generations/${g.gen}/reject`, {
            reason: reason.value || 'rejected by hand',
          })
          .then(refresh),
      ),
    );
    buttons.push(reason, reject);
  }
  const metrics = Object.entries(g.metrics)
    .map(([k, v]) => `${k} ${num(v, 4)}`)
    .join(', ');
  return h(
    'tr',
    { 'data-gen': g.gen, 'data-status': g.status },
    h('td', {}, pick),
    h('th', { scope: 'row' }, generationLink(m.name, g.gen, `gen ${g.gen}`)),
    h('td', {}, badge(g.status)),
    h('td', {}, metrics || '–'),
    h('td', {}, g.lineage ? datasetLink(g.lineage.dataset, g.lineage.version) : '–'),
    h('td', {}, g.sessionId ? sessionLink(g.sessionId) : (g.trigger ?? '–')),
    h('td', {}, bytes(g.size)),
    h('td', {}, time(g.created)),
    h('td', {}, g.reason ?? ''),
    h('td', {}, buttons, out),
  );
}

/** Models: the type → model → generation tree, manual promote/reject, a metrics diff. */
/** One generation in full: where it came from (session, dataset version, parent) and its parameters. */
function generationCard(m: ModelDetail, g: Generation): HTMLElement {
  const ev = g.evaluation as { metrics?: Record<string, number> } | undefined;
  const facts: [string, Node | string][] = [
    ['Status', badge(g.status)],
    [
      'Served',
      g.status === 'production' ? h('a', { href: hrefs.serving() }, 'yes: see Serving') : 'no',
    ],
    ['Dataset', g.lineage ? datasetLink(g.lineage.dataset, g.lineage.version) : '–'],
    ['Session', g.sessionId ? sessionLink(g.sessionId) : (g.trigger ?? '–')],
    ['Parent', g.parent ? generationLink(m.name, g.parent, `gen ${g.parent}`) : '–'],
    ['Created', time(g.created)],
    ['Size', bytes(g.size)],
    ['sha256', h('span', { class: 'mono' }, g.sha256.slice(0, 16))],
    [
      'Reported',
      Object.entries(g.metrics)
        .map(([k, v]) => `${k} ${num(v, 4)}`)
        .join(', ') || '–',
    ],
    [
      'Measured',
      Object.entries(ev?.metrics ?? {})
        .map(([k, v]) => `${k} ${num(v, 4)}`)
        .join(', ') || '–',
    ],
    ['Reason', g.reason ?? '–'],
    ['Events', h('a', { href: hrefs.events({ model: m.name }) }, `events of ${m.name}`)],
  ];
  return h(
    'article',
    { class: 'generation-card', 'data-testid': 'generation', 'data-gen': g.gen },
    h('h3', {}, `${m.name} generation ${g.gen}`),
    h(
      'dl',
      { class: 'facts' },
      facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
    h('h4', {}, 'Parameters'),
    paramsTable(g.params ?? {}),
  );
}

export const modelsPage: PageFactory = (ctx, [selected, selectedGen]) => {
  const d = new Disposer();
  const tree = h('nav', { class: 'tree', 'aria-label': 'Models by type' });
  const detail = h('div', { class: 'model-detail' });
  const err = h('div');
  let current = selected;
  let diffA: number | undefined;
  let diffB: number | undefined;
  /** generations ticked for the comparison page; kept across live refreshes */
  const picked = new Set<number>();

  const renderTree = (models: ModelInfo[]) => {
    const byType = new Map<string, ModelInfo[]>();
    for (const m of models) byType.set(m.type, [...(byType.get(m.type) ?? []), m]);
    mount(
      tree,
      models.length === 0 ? h('p', { class: 'muted' }, 'No models yet.') : null,
      h(
        'ul',
        {},
        [...byType.entries()].map(([type, ms]) =>
          h(
            'li',
            {},
            h('span', { class: 'tree-type' }, type),
            h(
              'ul',
              {},
              ms.map((m) =>
                h(
                  'li',
                  { 'data-model': m.name },
                  h(
                    'a',
                    {
                      href: `#/models/${encodeURIComponent(m.name)}`,
                      'aria-current': m.name === current ? 'page' : undefined,
                    },
                    m.name,
                  ),
                  ` · ${m.generations} gen`,
                  m.production === null ? '' : `, production ${m.production}`,
                ),
              ),
            ),
          ),
        ),
      ),
    );
  };

  const renderDetail = (m: ModelDetail) => {
    const gens = [...m.generationsList].sort((a, b) => b.gen - a.gen);
    diffB ??= gens[0]?.gen;
    diffA ??= gens[1]?.gen ?? gens[0]?.gen;
    const pick = (label: string, value: number | undefined, set: (g: number) => void) => {
      const id = `diff-${label}`;
      const sel = h(
        'select',
        { id },
        gens.map((g) =>
          h('option', { value: g.gen, selected: g.gen === value }, `gen ${g.gen} (${g.status})`),
        ),
      );
      sel.addEventListener('change', () => {
        set(Number(sel.value));
        renderDetail(m);
      });
      return [h('label', { for: id }, label), sel];
    };
    const a = gens.find((g) => g.gen === diffA);
    const b = gens.find((g) => g.gen === diffB);
    const compare = h('a', { class: 'button-link' });
    const renderCompare = () => {
      const chosen = [...picked].sort((x, y) => x - y);
      compare.textContent = `Compare selected (${chosen.length})`;
      if (chosen.length >= 2) {
        compare.setAttribute('href', hrefs.compareGenerations(m.name, chosen));
        compare.removeAttribute('aria-disabled');
      } else {
        compare.setAttribute('href', hrefs.model(m.name));
        compare.setAttribute('aria-disabled', 'true');
      }
    };
    renderCompare();
    const pickBox = (g: Generation) => {
      const box = h('input', {
        type: 'checkbox',
        'aria-label': `Select generation ${g.gen}`,
        checked: picked.has(g.gen),
      });
      box.addEventListener('change', () => {
        if (box.checked) picked.add(g.gen);
        else picked.delete(g.gen);
        renderCompare();
      });
      return box;
    };
    mount(
      detail,
      h(
        'h2',
        {},
        m.name,
        ' ',
        h(
          'span',
          { class: 'muted' },
          `${m.type}${m.production === null ? ', no production generation' : `, production: gen ${m.production}`}`,
        ),
      ),
      m.description ? h('p', {}, m.description) : null,
      selectedGen === undefined
        ? null
        : (() => {
            const g = gens.find((x) => String(x.gen) === selectedGen);
            return g
              ? generationCard(m, g)
              : notFoundView(`${m.name} has no generation “${selectedGen}”.`, {
                  href: hrefs.model(m.name),
                  label: `See the generations of ${m.name}`,
                });
          })(),
      gens.length === 0
        ? h(
            'p',
            { class: 'muted empty' },
            'No generations yet: a training session that succeeds registers one.',
          )
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'generations', 'aria-label': `Generations of ${m.name}` },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  [
                    h('span', { class: 'sr-only' }, 'Select'),
                    'Generation',
                    'Status',
                    'Metrics',
                    'Lineage',
                    'Session',
                    'Size',
                    'Created',
                    'Reason',
                    'Actions',
                  ].map((c) => h('th', { scope: 'col' }, c)),
                ),
              ),
              h(
                'tbody',
                {},
                gens.map((g) => generationRow(ctx, m, g, refresh, pickBox(g))),
              ),
            ),
          ),
      gens.length > 0
        ? [
            h('h3', {}, 'Compare generations'),
            h(
              'p',
              {},
              'Tick two or more generations above for their curves, parameters and metrics side by side: ',
              compare,
            ),
            h('p', { class: 'muted' }, 'Or the metrics of two, with the change:'),
            h(
              'div',
              { class: 'filters' },
              pick('A', diffA, (g) => (diffA = g)),
              pick('B', diffB, (g) => (diffB = g)),
            ),
            a && b ? metricsDiff(a, b) : null,
          ]
        : null,
    );
  };

  const newest = new NewestOnly();
  const load = async () => {
    const latest = newest.begin();
    try {
      const [{ models }, rules] = await Promise.all([
        ctx.api.get<{ models: ModelInfo[] }>('/models'),
        ctx.api.get<unknown>('/rules').catch(() => null),
      ]);
      if (!latest()) return;
      overrides = directionOverrides(rules);
      current ??= models[0]?.name;
      renderTree(models);
      if (current) {
        const detail = await ctx.api.get<ModelDetail>(`/models/${encodeURIComponent(current)}`);
        if (!latest()) return;
        renderDetail(detail);
      } else {
        mount(
          detail,
          h(
            'p',
            { class: 'muted empty' },
            'No models yet: start a training session (swarmml train, or POST /api/v1/sessions) and its model appears here.',
          ),
        );
      }
      err.replaceChildren();
    } catch (e) {
      if (latest() && e instanceof ApiError && e.status === 404 && current)
        mount(
          detail,
          notFoundView(`There is no model “${current}”.`, {
            href: '#/models',
            label: 'See every model',
          }),
        );
      else if (latest()) err.replaceChildren(errorBox(e));
    }
  };
  const refresh = debounce(() => void load(), 150);
  d.add(() => refresh.cancel());
  d.add(ctx.live.subscribe({ topics: ['models'], onEvent: refresh, resync: refresh }));
  void load();

  const el = h(
    'section',
    { class: 'page', 'data-page': 'models' },
    pageHeader('Models'),
    err,
    h('div', { class: 'split' }, tree, detail),
  );
  return { el, dispose: () => d.dispose() };
};
