import { debounce, h, mount } from '../dom.js';
import { num, time } from '../format.js';
import { generationLink, hrefs, modelLink } from '../links.js';
import { Disposer, type PageContext, type PageFactory } from '../page.js';
import type { ModelInfo } from '../types.js';
import { action, badge, errorBox, pageHeader } from './common.js';
import { NewestOnly } from '../newest.js';

interface Reading {
  gate: string;
  value: number | null;
  threshold: number | null;
  passed: boolean | null;
}
interface Rollout {
  status: string;
  production: number | null;
  challenger: number;
  shadows: number[];
  phase: string;
  step: number;
  canaryPercent: number;
  startedAt: number;
  stepStartedAt: number;
  lastReadings: Reading[];
  reason: string | null;
  endedAt?: number;
  by?: string;
  policy: { mode?: string; canarySteps?: number[]; stepIntervalS?: number; minSamples?: number };
}
interface RolloutView {
  model: string;
  rollout: Rollout | null;
  labels: Record<string, number>;
  online: Record<string, Record<string, number>>;
}

const LIVE = new Set(['running', 'paused']);
const at = (ms: number | undefined) => (ms ? time(new Date(ms).toISOString()) : '–');

/** One model's rollout: challenger, traffic split, gates against thresholds, commands. */
function rolloutCard(ctx: PageContext, v: RolloutView, refresh: () => void): HTMLElement {
  const r = v.rollout!;
  const out = h('span', { 'aria-live': 'polite' });
  const cmd = (verb: string, label: string, danger = false) => {
    const b = h(
      'button',
      {
        type: 'button',
        class: danger ? 'danger' : '',
        'aria-label': `${label} the rollout of ${v.model}`,
      },
      label,
    );
    b.addEventListener('click', () =>
      action(b, out, () =>
        ctx.api.post(`/models/${encodeURIComponent(v.model)}/rollout/${verb}`, {}).then(refresh),
      ),
    );
    return b;
  };
  const buttons =
    ctx.can('write') && LIVE.has(r.status)
      ? [
          cmd('promote', 'Promote'),
          r.status === 'running' ? cmd('pause', 'Pause') : cmd('resume', 'Resume'),
          cmd('abort', 'Abort', true),
        ]
      : [];
  const online = (gen: number | null) => (gen === null ? undefined : v.online[String(gen)]);
  const traffic = r.phase === 'shadow' ? 0 : r.canaryPercent;
  return h(
    'article',
    { class: 'card rollout', 'data-model': v.model, 'data-status': r.status },
    h('h2', {}, modelLink(v.model), ' ', badge(r.status)),
    h(
      'dl',
      { class: 'facts' },
      [
        ['Challenger', generationLink(v.model, r.challenger)],
        ['Production', r.production === null ? 'none' : generationLink(v.model, r.production)],
        [
          'Traffic',
          `${num(100 - traffic, 0)}% production · ${num(traffic, 0)}% challenger${r.shadows.length ? ` · mirrored to gen ${r.shadows.join(', ')}` : ''}`,
        ],
        [
          'Phase',
          `${r.phase}${r.phase === 'canary' && r.policy.canarySteps ? `, step ${r.step + 1} of ${r.policy.canarySteps.length} (${r.policy.canarySteps.join(' → ')}%)` : ''}`,
        ],
        ['Started', at(r.startedAt)],
        ['Step since', at(r.stepStartedAt)],
        ['Ended', at(r.endedAt)],
        ['Reason', r.reason ?? '–'],
        [
          'Requests',
          `challenger ${num(online(r.challenger)?.requests ?? 0)}, production ${num(online(r.production)?.requests ?? 0)}`,
        ],
        [
          'Events',
          h('a', { href: hrefs.events({ model: v.model, kind: 'rollout.*' }) }, 'rollout events'),
        ],
      ].map(([k, val]) => [h('dt', {}, k as string), h('dd', {}, val as Node | string)]),
    ),
    h('h3', {}, 'Gates (last reading)'),
    r.lastReadings.length === 0
      ? h(
          'p',
          { class: 'muted' },
          'No gate read yet: the first reading comes after one step interval.',
        )
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { 'aria-label': `Gates of the rollout of ${v.model}` },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Gate', 'Reading', 'Threshold', 'Result'].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h(
              'tbody',
              {},
              r.lastReadings.map((g) =>
                h(
                  'tr',
                  { 'data-gate': g.gate },
                  h('th', { scope: 'row' }, g.gate),
                  h('td', { class: 'num' }, num(g.value, 4)),
                  h('td', { class: 'num' }, num(g.threshold, 4)),
                  h(
                    'td',
                    { class: g.passed === null ? '' : g.passed ? 'better' : 'worse' },
                    g.passed === null ? 'not enough samples' : g.passed ? 'passed' : 'failed',
                  ),
                ),
              ),
            ),
          ),
        ),
    h('div', { class: 'confirm' }, buttons, out),
  );
}

/** Rollouts: every model's current or last rollout, live from the models topic. */
export const rolloutsPage: PageFactory = (ctx) => {
  const d = new Disposer();
  const list = h('div', { class: 'cards' });
  const err = h('div');
  const newest = new NewestOnly();
  const load = async () => {
    const latest = newest.begin();
    try {
      const { models } = await ctx.api.get<{ models: ModelInfo[] }>('/models');
      const views = await Promise.all(
        models.map((m) =>
          ctx.api
            .get<RolloutView>(`/models/${encodeURIComponent(m.name)}/rollout`)
            .catch(() => null),
        ),
      );
      if (!latest()) return;
      const withRollout = views.filter((v): v is RolloutView => v?.rollout != null);
      withRollout.sort(
        (a, b) =>
          Number(LIVE.has(b.rollout!.status)) - Number(LIVE.has(a.rollout!.status)) ||
          b.rollout!.startedAt - a.rollout!.startedAt,
      );
      mount(
        list,
        withRollout.length === 0
          ? h(
              'p',
              { class: 'muted empty' },
              'No rollouts yet. With a rollout policy in the rules (docs/rollout.md), an accepted candidate becomes a challenger here: shadowed, then given a share of traffic step by step.',
            )
          : withRollout.map((v) => rolloutCard(ctx, v, refresh)),
      );
      err.replaceChildren();
    } catch (e) {
      if (latest()) err.replaceChildren(errorBox(e));
    }
  };
  const refresh = debounce(() => void load(), 250);
  d.add(() => refresh.cancel());
  d.add(
    ctx.live.subscribe({
      topics: ['events'],
      onEvent: (e) => {
        if (e.kind.startsWith('rollout.') || e.kind.startsWith('generation.')) refresh();
      },
      resync: refresh,
    }),
  );
  // Gate readings are written into the state without an event each time: read again while open.
  const timer = setInterval(() => {
    if (!document.hidden) refresh();
  }, 5000);
  d.add(() => clearInterval(timer));
  void load();

  const el = h(
    'section',
    { class: 'page', 'data-page': 'rollouts' },
    pageHeader('Rollouts'),
    err,
    list,
  );
  return { el, dispose: () => d.dispose() };
};
