import { h } from '../dom.js';

/** Any JSON value as display text (objects as JSON, nullish as a fallback). */
export function txt(v: unknown, fallback = ''): string {
  if (v === undefined || v === null) return fallback;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A parameter value as one short text. */
export function paramText(v: unknown): string {
  if (v === undefined) return '–';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** Trainer parameters as a two-column table, keys sorted; nested objects flattened with dots. */
export function flattenParams(p: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v && typeof v === 'object' && !Array.isArray(v))
      Object.assign(out, flattenParams(v as Record<string, unknown>, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

export function paramsTable(params: Record<string, unknown>): HTMLElement {
  const flat = flattenParams(params);
  const keys = Object.keys(flat).sort();
  if (keys.length === 0)
    return h('p', { class: 'muted' }, 'No parameters were given: the trainer used its defaults.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'params-table', 'aria-label': 'Parameters' },
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col' }, 'parameter'), h('th', { scope: 'col' }, 'value')),
      ),
      h(
        'tbody',
        {},
        keys.map((k) =>
          h(
            'tr',
            { 'data-param': k },
            h('th', { scope: 'row' }, k),
            h('td', { class: 'mono' }, paramText(flat[k])),
          ),
        ),
      ),
    ),
  );
}
