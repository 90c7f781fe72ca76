import { h, mount } from '../dom.js';
import { Disposer, type PageFactory } from '../page.js';
import type { LiveEvent } from '../types.js';
import { errorBox, pageHeader } from './common.js';
import { eventItem } from './event-text.js';
import { NewestOnly } from '../newest.js';

/** Kind filters: a value ending in `.` or `*` matches every kind that starts with it. */
const KINDS: [string, string][] = [
  ['', 'every kind but epochs and logs'],
  ['decision', 'decisions'],
  ['serving.drift', 'drift'],
  ['security.denied', 'security denials'],
  ['generation.*', 'generations'],
  ['session.*', 'session changes'],
  ['dataset.*', 'datasets'],
  ['retrain.*', 'retraining'],
  ['epoch', 'epochs'],
  ['log', 'log lines'],
  ['*', 'everything'],
];
const NOISY = new Set(['epoch', 'log']);
const LIMIT = 300;

function matches(kind: string, e: LiveEvent): boolean {
  if (kind === '*') return true;
  if (kind === '') return !NOISY.has(e.kind);
  return kind.endsWith('*') ? e.kind.startsWith(kind.slice(0, -1)) : e.kind === kind;
}

/** `datetime-local` value → ISO, or undefined when empty or malformed. */
function iso(v: string): string | undefined {
  if (!v) return undefined;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** Events: the archive, newest first, filtered by kind, model, session and time, live. */
export const eventsPage: PageFactory = (ctx, _params, query) => {
  const d = new Disposer();
  const kind = h(
    'select',
    { id: 'ev-kind' },
    KINDS.map(([v, label]) =>
      h('option', { value: v, selected: v === (query.get('kind') ?? '') }, label),
    ),
  );
  const model = h('input', {
    id: 'ev-model',
    type: 'search',
    value: query.get('model') ?? '',
    placeholder: 'any model',
  });
  const session = h('input', {
    id: 'ev-session',
    type: 'search',
    value: query.get('session') ?? '',
    placeholder: 'any session id',
  });
  const from = h('input', { id: 'ev-from', type: 'datetime-local', step: 1 });
  const to = h('input', { id: 'ev-to', type: 'datetime-local', step: 1 });
  const list = h('ol', {
    class: 'event-log events-page',
    'aria-label': 'Events',
    'aria-live': 'polite',
  });
  const count = h('p', { class: 'count' });
  const err = h('div');
  let unsubscribe: (() => void) | undefined;
  d.add(() => unsubscribe?.());

  const filters = () => ({
    kind: kind.value,
    model: model.value.trim(),
    session: session.value.trim(),
    from: iso(from.value),
    to: iso(to.value),
  });
  const keep = (e: LiveEvent, f = filters()) => {
    const p = (e.payload ?? {}) as { model?: unknown };
    if (!matches(f.kind, e)) return false;
    if (f.model && p.model !== f.model) return false;
    if (f.session && !(e.sessionId ?? '').startsWith(f.session)) return false;
    if (f.from && e.time < f.from) return false;
    if (f.to && e.time > f.to) return false;
    return true;
  };
  const show = (e: LiveEvent) => {
    list.prepend(eventItem(e, undefined, true));
    while (list.childElementCount > LIMIT) list.lastElementChild?.remove();
    count.textContent = `${list.childElementCount} events shown, newest first`;
  };

  const newest = new NewestOnly();
  const load = async () => {
    const latest = newest.begin();
    const startedAt = Date.now();
    const f = filters();
    // The address keeps the filters (no hashchange: the page is not rebuilt).
    const q = new URLSearchParams(
      Object.entries({ kind: f.kind, model: f.model, session: f.session }).filter(([, v]) => v),
    ).toString();
    history.replaceState(null, '', `#/events${q ? `?${q}` : ''}`);
    const params = new URLSearchParams({ limit: String(LIMIT) });
    if (f.kind === '')
      params.set(
        'kind',
        KINDS.slice(1, 8)
          .map(([k]) => k)
          .join(','),
      );
    else if (f.kind !== '*') params.set('kind', f.kind);
    if (f.model) params.set('model', f.model);
    if (f.session && f.session.length >= 36) params.set('session', f.session);
    if (f.from) params.set('from', f.from);
    if (f.to) params.set('to', f.to);
    try {
      const r = await ctx.api.get<{ events: LiveEvent[]; truncated: boolean }>(
        `/events?${params.toString()}`,
      );
      if (!latest()) return;
      err.replaceChildren();
      const shown = r.events.filter((e) => keep(e, f));
      mount(list);
      for (const e of [...shown].reverse()) show(e);
      if (shown.length === 0)
        mount(
          list,
          h(
            'li',
            { class: 'muted empty' },
            'No events match these filters. Widen them (kind “everything”, no model or session), or wait: new events appear here as they are archived.',
          ),
        );
      count.textContent = `${shown.length} events shown, newest first${r.truncated ? ' (older ones not searched: narrow the time)' : ''}`;
      unsubscribe?.();
      // Resume after the newest event read; with none, from just before the read began, so an
      // event archived while the subscription travels is replayed rather than missed.
      const since = r.events[0]?.id ?? `${startedAt - 2000}-0`;
      unsubscribe = ctx.live.subscribe({
        topics: ['events'],
        since,
        onEvent: (e) => {
          if (!keep(e)) return;
          list.querySelector('.empty')?.remove();
          show(e);
        },
        resync: () => void load(),
      });
    } catch (e) {
      if (latest()) err.replaceChildren(errorBox(e));
    }
  };
  for (const el of [kind, from, to]) el.addEventListener('change', () => void load());
  for (const el of [model, session]) el.addEventListener('change', () => void load());
  void load();

  const el = h(
    'section',
    { class: 'page', 'data-page': 'events' },
    pageHeader('Events'),
    h(
      'div',
      { class: 'filters' },
      h('label', { for: 'ev-kind' }, 'Kind'),
      kind,
      h('label', { for: 'ev-model' }, 'Model'),
      model,
      h('label', { for: 'ev-session' }, 'Session'),
      session,
      h('label', { for: 'ev-from' }, 'From'),
      from,
      h('label', { for: 'ev-to' }, 'To'),
      to,
    ),
    count,
    err,
    list,
  );
  return { el, dispose: () => d.dispose() };
};
