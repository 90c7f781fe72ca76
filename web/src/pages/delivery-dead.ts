import { ApiError } from '../api.js';
import { h, mount } from '../dom.js';
import { num, time } from '../format.js';
import type { PageContext } from '../page.js';
import { action, errorBox } from './common.js';
import { plainTable } from './plain-table.js';

interface Dead {
  id: string;
  job: { ruleId?: string; channel?: string; predictionId?: string };
  failedReason?: string;
  attempts?: number;
  failedAt?: number;
}

const OPERATORS_ONLY = 'Dead deliveries are shown to operators and admins.';

/**
 * Fills `el` with the dead letters, each with Retry and Drop (operators and admins only);
 * `changed` runs after each, so the page's queue counts follow at once.
 */
export async function loadDeadLetters(
  ctx: PageContext,
  el: HTMLElement,
  changed: () => void = () => {},
): Promise<void> {
  // The API shows dead deliveries to operators and admins only: a viewer is told, not refused.
  if (!ctx.can('write')) return mount(el, h('p', { class: 'muted' }, OPERATORS_ONLY));
  const reload = () => {
    changed();
    return loadDeadLetters(ctx, el, changed);
  };
  try {
    const r = await ctx.api.get<{ dead: Dead[]; total: number }>('/deliveries/dead?limit=100');
    const rows = r.dead.map((x) => {
      const out = h('span');
      const retry = h('button', { type: 'button', 'aria-label': `Retry ${x.id}` }, 'Retry');
      retry.addEventListener('click', () =>
        action(retry, out, () =>
          ctx.api.post('/deliveries/dead/replay', { ids: [x.id] }).then(reload),
        ),
      );
      const drop = h(
        'button',
        { type: 'button', class: 'danger', 'aria-label': `Drop ${x.id}` },
        'Drop',
      );
      drop.addEventListener('click', () =>
        action(drop, out, () =>
          ctx.api.post('/deliveries/dead/drop', { ids: [x.id] }).then(reload),
        ),
      );
      return [
        x.id,
        x.job.ruleId ?? '–',
        x.job.channel ?? '–',
        x.failedReason ?? '–',
        String(x.attempts ?? '–'),
        x.failedAt ? time(new Date(x.failedAt).toISOString()) : '–',
        h('span', { 'data-dead': x.id }, retry, ' ', drop, out),
      ];
    });
    mount(
      el,
      h(
        'p',
        { class: 'muted' },
        `${num(r.total)} dead deliveries (retries used up), oldest first.`,
      ),
      plainTable(
        'Dead deliveries',
        ['Delivery', 'Rule', 'Channel', 'Failure', 'Attempts', 'Failed', 'Actions'],
        rows,
        'No dead deliveries: every delivery went through or is still being retried.',
      ),
    );
  } catch (e) {
    if (e instanceof ApiError && e.status === 403)
      mount(el, h('p', { class: 'muted' }, OPERATORS_ONLY));
    else mount(el, errorBox(e));
  }
}
