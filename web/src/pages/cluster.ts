import { debounce, h, mount } from '../dom.js';
import { Disposer, type PageFactory } from '../page.js';
import { badge, errorBox, pageHeader } from './common.js';
import type { ClusterView } from '../types.js';
import { NewestOnly } from '../newest.js';
import { plainTable } from './plain-table.js';

/** Cluster: swarm nodes and services, or the local processes; and the session workers. */
export const clusterPage: PageFactory = (ctx) => {
  const d = new Disposer();
  const body = h('div');
  const err = h('div');
  const refreshBtn = h('button', { type: 'button' }, 'Check again');

  const newest = new NewestOnly();
  const load = async () => {
    const latest = newest.begin();
    try {
      const c = await ctx.api.get<ClusterView>('/cluster');
      if (!latest()) return;
      const nodes = c.swarm?.nodes ?? [];
      const services = c.swarm?.services ?? [];
      mount(
        body,
        h('p', {}, `Mode: ${c.mode}`),
        c.mode === 'swarm' && nodes.length > 0
          ? [
              h('h2', {}, 'Nodes'),
              plainTable(
                'Swarm nodes',
                ['Node', 'Role', 'State', 'Availability', 'Labels'],
                nodes.map((n) => [
                  n.hostname ?? n.id ?? '?',
                  n.role ?? '',
                  n.state ?? '',
                  n.availability ?? '',
                  Object.entries(n.labels ?? {})
                    .map(([k, v]) => `${k}=${v}`)
                    .join(', '),
                ]),
                'No node is listed.',
              ),
              h('h2', {}, 'Services'),
              plainTable(
                'Swarm services',
                ['Service', 'Image', 'Replicas'],
                services.map((s) => [
                  s.name ?? '',
                  s.image ?? '',
                  `${s.running ?? '?'} / ${s.replicas ?? '?'}`,
                ]),
                'No service of this install runs.',
              ),
            ]
          : null,
        h('h2', {}, c.mode === 'swarm' ? 'Platform endpoints' : 'Local processes'),
        plainTable(
          'Processes',
          ['Process', 'Address', 'Status', 'Answer time'],
          c.processes.map((p) => [
            p.name,
            p.url,
            badge(p.up ? 'up' : 'down'),
            p.up ? `${p.latencyMs ?? 0} ms` : (p.error ?? ''),
          ]),
          'No process is known.',
        ),
        h('h2', {}, 'Session workers'),
        plainTable(
          'Session workers',
          ['Session', 'State', 'Model', 'Backend', 'Worker', 'Node'],
          c.workers.map((w) => [
            h(
              'a',
              { href: `#/session/${encodeURIComponent(w.sessionId)}` },
              w.sessionId.slice(0, 8),
            ),
            badge(w.state),
            w.model ?? '',
            w.backend ?? '',
            w.workerId ?? '',
            w.node ?? '',
          ]),
          'No session is running.',
        ),
      );
      err.replaceChildren();
    } catch (e) {
      if (latest()) err.replaceChildren(errorBox(e));
    }
  };
  // Workers come and go with session events; process health is re-checked on request.
  const refresh = debounce(() => void load(), 300);
  d.add(() => refresh.cancel());
  d.add(ctx.live.subscribe({ topics: ['sessions'], onEvent: refresh, resync: refresh }));
  refreshBtn.addEventListener('click', () => void load());
  void load();

  const el = h(
    'section',
    { class: 'page', 'data-page': 'cluster' },
    pageHeader('Cluster', refreshBtn),
    err,
    body,
  );
  return { el, dispose: () => d.dispose() };
};
