import { debounce, h, mount } from '../dom.js';
import { bytes, num, time } from '../format.js';
import { Disposer, type PageFactory, type PageContext } from '../page.js';
import type { Generation, ModelInfo } from '../types.js';
import { action, badge, errorBox, pageHeader } from './common.js';
import { NewestOnly } from '../newest.js';

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
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, k),
          h('td', {}, num(x, 4)),
          h('td', {}, num(y, 4)),
          h(
            'td',
            { class: delta === undefined ? '' : delta > 0 ? 'up' : delta < 0 ? 'down' : '' },
            delta === undefined ? '–' : `${delta > 0 ? '+' : ''}${delta.toFixed(4)}`,
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
    h('th', { scope: 'row' }, `gen ${g.gen}`),
    h('td', {}, badge(g.status)),
    h('td', {}, metrics || '–'),
    h('td', {}, g.lineage ? `${g.lineage.dataset}@v${g.lineage.version}` : '–'),
    h(
      'td',
      {},
      g.sessionId
        ? h('a', { href: `#/session/${encodeURIComponent(g.sessionId)}` }, g.sessionId.slice(0, 8))
        : (g.trigger ?? '–'),
    ),
    h('td', {}, bytes(g.size)),
    h('td', {}, time(g.created)),
    h('td', {}, g.reason ?? ''),
    h('td', {}, buttons, out),
  );
}

/** Models: the type → model → generation tree, manual promote/reject, a metrics diff. */
export const modelsPage: PageFactory = (ctx, [selected]) => {
  const d = new Disposer();
  const tree = h('nav', { class: 'tree', 'aria-label': 'Models by type' });
  const detail = h('div', { class: 'model-detail' });
  const err = h('div');
  let current = selected;
  let diffA: number | undefined;
  let diffB: number | undefined;

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
          gens.map((g) => generationRow(ctx, m, g, refresh)),
        ),
      ),
      gens.length > 0
        ? [
            h('h3', {}, 'Compare generations'),
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
      const { models } = await ctx.api.get<{ models: ModelInfo[] }>('/models');
      if (!latest()) return;
      current ??= models[0]?.name;
      renderTree(models);
      if (current) {
        const detail = await ctx.api.get<ModelDetail>(`/models/${encodeURIComponent(current)}`);
        if (!latest()) return;
        renderDetail(detail);
      }
      err.replaceChildren();
    } catch (e) {
      if (latest()) err.replaceChildren(errorBox(e));
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
