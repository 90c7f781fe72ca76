import { h } from '../dom.js';

type Cell = Node | string;

/** A table with a label and column heads; `empty` says what to do when there are no rows. */
export function plainTable(
  label: string,
  cols: string[],
  rows: Cell[][],
  empty: string,
  opts: { rowAttr?: (i: number) => Record<string, string> } = {},
): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { 'aria-label': label },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          cols.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r, i) =>
          h(
            'tr',
            opts.rowAttr?.(i) ?? {},
            r.map((c, j) => (j === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c))),
          ),
        ),
      ),
    ),
  );
}
