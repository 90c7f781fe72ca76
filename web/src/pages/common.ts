import { ApiError } from '../api.js';
import { h } from '../dom.js';

/** A status word as a coloured badge (colour is never the only signal: the word is there). */
export function badge(state: string): HTMLElement {
  return h('span', { class: `badge badge-${state.replace(/[^a-z-]/g, '')}` }, state);
}

export function errorBox(err: unknown): HTMLElement {
  const msg = err instanceof ApiError ? `${err.message} (${err.code})` : (err as Error).message;
  return h('p', { class: 'error', role: 'alert' }, msg);
}

/** Runs an async action from a button, showing a failure next to it. */
export function action(
  button: HTMLButtonElement,
  out: HTMLElement,
  fn: () => Promise<unknown>,
): void {
  button.disabled = true;
  out.textContent = '';
  fn()
    .catch((err: unknown) => out.replaceChildren(errorBox(err)))
    .finally(() => {
      button.disabled = false;
    });
}

export function pageHeader(title: string, ...extra: (Node | string)[]): HTMLElement {
  return h('header', { class: 'page-header' }, h('h1', {}, title), ...extra);
}
