import { ApiError } from '../api.js';
import { h } from '../dom.js';

/** The login form. `check` answers the role behind a token or throws; `message` explains a bounce. */
export function loginView(check: (token: string) => Promise<void>, message?: string): HTMLElement {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    'aria-describedby': 'token-help',
  });
  const out = h(
    'p',
    { id: 'login-error', class: 'error', role: 'alert', hidden: !message },
    message ?? '',
  );
  const submit = h('button', { type: 'submit' }, 'Log in');
  const form = h(
    'form',
    { class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'swarmml'),
    h('label', { for: 'token' }, 'API token'),
    input,
    h(
      'p',
      { id: 'token-help', class: 'muted' },
      'Kept in this tab only (session storage). Create tokens with `swarmml token create`.',
    ),
    submit,
    out,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    submit.disabled = true;
    out.hidden = true;
    check(token)
      .catch((err: unknown) => {
        out.textContent =
          err instanceof ApiError && err.status === 401
            ? `That token was not accepted: ${err.message}. Check it and try again.`
            : err instanceof ApiError && err.status === 0
              ? `${err.message}. Is the gateway running?`
              : `Login failed: ${(err as Error).message}`;
        out.hidden = false;
        input.focus();
        input.select();
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  queueMicrotask(() => input.focus());
  return h('main', { class: 'login-page' }, form);
}
