import { h } from '../dom.js';
import type { Page } from '../page.js';

/** A page of its own for an unknown route or id: what was asked for and where to go instead. */
export function notFoundView(what: string, back: { href: string; label: string }): HTMLElement {
  return h(
    'div',
    { class: 'not-found', 'data-testid': 'not-found', role: 'alert' },
    h('h1', {}, 'Not found'),
    h('p', {}, what),
    h('p', {}, h('a', { href: back.href }, back.label)),
  );
}

export function notFoundPage(route: string): Page {
  const el = h(
    'section',
    { class: 'page', 'data-page': 'not-found' },
    notFoundView(`There is no page “${route}”.`, { href: '#/sessions', label: 'Go to Sessions' }),
  );
  return { el, dispose: () => {} };
}
