/** "Re-run with changes": a session's request as a prefilled form that starts a new session. */
import { h, mount } from '../dom.js';
import { hrefs } from '../links.js';
import type { PageContext } from '../page.js';
import type { SessionRecord } from '../types.js';
import { action } from './common.js';
import { flattenParams, paramText, txt } from './params.js';

/** Request fields a new session may take again (the stored request may hold more). */
const KEEP = ['kind', 'device', 'priority', 'timeBudgetS', 'generation', 'container'] as const;

/** A typed value back from its text: JSON where it parses (numbers, booleans, arrays), else the string. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Dotted keys back into nested objects. */
function unflatten(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) {
    const parts = k.split('.');
    let o = out;
    for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[parts.at(-1)!] = v;
  }
  return out;
}

let seq = 0;

export function rerunForm(ctx: PageContext, s: SessionRecord): HTMLElement {
  const n = ++seq;
  const req = (s.request ?? {}) as Record<string, unknown>;
  const field = (name: string, label: string, value: string) => {
    const id = `rerun-${n}-${name}`;
    const input = h('input', { id, name, type: 'text', value });
    return { input, row: h('div', { class: 'form-row' }, h('label', { for: id }, label), input) };
  };
  const model = field('model', 'Model', txt(req.model));
  const dataset = field('dataset', 'Dataset', txt(req.dataset));
  const trainer = field('trainer', 'Trainer', txt(req.trainer, 'mlp'));
  const flat = flattenParams((req.params as Record<string, unknown> | undefined) ?? {});
  const params = Object.keys(flat)
    .sort()
    .map((k) => ({ key: k, ...field(`param-${k}`, k, paramText(flat[k])) }));
  const moreId = `rerun-${n}-more`;
  const more = h('textarea', { id: moreId, rows: 2, class: 'mono' }, '{}');
  const out = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, 'Start the new session');
  const form = h(
    'form',
    { class: 'rerun', 'aria-label': 'Re-run with changes' },
    h('h2', {}, 'Re-run with changes'),
    model.row,
    dataset.row,
    trainer.row,
    params.length
      ? h(
          'fieldset',
          {},
          h('legend', {}, 'Parameters'),
          params.map((p) => p.row),
        )
      : null,
    h(
      'div',
      { class: 'form-row' },
      h('label', { for: moreId }, 'More parameters (JSON object)'),
      more,
    ),
    h('div', {}, submit),
    out,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    action(submit, out, async () => {
      const extra = parseValue(more.value || '{}');
      if (!extra || typeof extra !== 'object' || Array.isArray(extra))
        throw new Error('More parameters must be a JSON object, such as {"epochs": 20}');
      const p: Record<string, unknown> = {};
      for (const x of params) if (x.input.value !== '') p[x.key] = parseValue(x.input.value);
      const body: Record<string, unknown> = {
        ...Object.fromEntries(KEEP.filter((k) => req[k] !== undefined).map((k) => [k, req[k]])),
        model: model.input.value,
        dataset: dataset.input.value,
        trainer: trainer.input.value,
        params: { ...unflatten(p), ...(extra as Record<string, unknown>) },
      };
      const created = await ctx.api.post<{ id: string }>('/sessions', body);
      mount(out, h('p', {}, 'Started: ', h('a', { href: hrefs.session(created.id) }, created.id)));
      location.hash = hrefs.session(created.id);
    });
  });
  return form;
}
