import { ApiError } from '../api.js';
import { h, mount } from '../dom.js';
import { num, time } from '../format.js';
import { modelLink } from '../links.js';
import { Disposer, type PageContext, type PageFactory } from '../page.js';
import { action, errorBox, pageHeader } from './common.js';
import { txt } from './params.js';

interface Rule {
  id: string;
  enabled?: boolean;
  model: string;
  when?: unknown;
  sample?: number;
  channel: string;
  formatter: string;
}
interface DeliveryDoc {
  channels?: Record<string, Record<string, unknown>>;
  formatters?: Record<string, Record<string, unknown>>;
  rules?: Rule[];
}
interface ConfigVersion {
  version: number;
  doc: DeliveryDoc | null;
  updatedAt?: number;
  author?: string;
}
interface Dead {
  id: string;
  job: { ruleId?: string; channel?: string; predictionId?: string };
  failedReason?: string;
  attempts?: number;
  failedAt?: number;
}

const POLL_MS = 2000;

function table(
  label: string,
  cols: string[],
  rows: (Node | string)[][],
  empty: string,
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
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((c) => h('td', {}, c)),
          ),
        ),
      ),
    ),
  );
}

/** Where a channel sends to, without its secrets. */
function target(c: Record<string, unknown>): string {
  return [c.url, c.topic, c.routingKey, c.exchange]
    .filter((x) => typeof x === 'string')
    .join(' · ');
}

/** An editing form for one rule; saving stores a new version of the whole document. */
function ruleForm(
  ctx: PageContext,
  cfg: ConfigVersion,
  index: number,
  done: () => void,
): HTMLElement {
  const doc = cfg.doc!;
  const rule = doc.rules![index]!;
  const id = (f: string) => `rule-${rule.id}-${f}`;
  const sel = (f: string, options: string[], value: string) =>
    h(
      'select',
      { id: id(f) },
      options.map((o) => h('option', { value: o, selected: o === value }, o)),
    );
  const model = h('input', { id: id('model'), type: 'text', value: rule.model });
  const channel = sel('channel', Object.keys(doc.channels ?? {}), rule.channel);
  const formatter = sel('formatter', Object.keys(doc.formatters ?? {}), rule.formatter);
  const sample = h('input', {
    id: id('sample'),
    type: 'number',
    min: 0,
    max: 1,
    step: 0.01,
    value: rule.sample ?? 1,
  });
  const enabled = h('input', {
    id: id('enabled'),
    type: 'checkbox',
    checked: rule.enabled !== false,
  });
  const when = h(
    'textarea',
    { id: id('when'), rows: 3, class: 'mono' },
    rule.when === undefined ? '' : JSON.stringify(rule.when),
  );
  const out = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit' }, `Save rule ${rule.id}`);
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  cancel.addEventListener('click', done);
  const row = (f: string, label: string, input: HTMLElement) =>
    h('div', { class: 'form-row' }, h('label', { for: id(f) }, label), input);
  const form = h(
    'form',
    { class: 'rule-form', 'aria-label': `Edit rule ${rule.id}` },
    row('model', 'Model', model),
    row('channel', 'Channel', channel),
    row('formatter', 'Formatter', formatter),
    row('sample', 'Sample (0–1)', sample),
    row('enabled', 'Enabled', enabled),
    row('when', 'When (JSON condition, empty: every prediction)', when),
    h('div', {}, save, ' ', cancel),
    out,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    action(save, out, async () => {
      let cond: unknown;
      if (when.value.trim()) {
        try {
          cond = JSON.parse(when.value) as unknown;
        } catch {
          throw new Error('When must be JSON, such as {"maxScoreOver": 0.9}');
        }
      }
      const next: Rule = {
        ...rule,
        model: model.value.trim(),
        channel: channel.value,
        formatter: formatter.value,
        sample: Number(sample.value),
        enabled: enabled.checked,
      };
      if (cond === undefined) delete next.when;
      else next.when = cond;
      const rules = doc.rules!.map((r, i) => (i === index ? next : r));
      await ctx.api.put(`/config/delivery?ifVersion=${cfg.version}`, { ...doc, rules });
      done();
    });
  });
  return form;
}

/** Delivery: channels, formatters, rules, sources, dead letters and live queue counts. */
export const deliveryPage: PageFactory = (ctx) => {
  const d = new Disposer();
  const counts = h('dl', { class: 'figures', 'aria-label': 'Delivery queue counts' });
  const config = h('div');
  const sources = h('div');
  const dead = h('div');
  const err = h('div');
  // As in the API: operators edit the document (the server keeps masked secrets), viewers read.
  const canEdit = ctx.can('write');
  let editing: number | undefined;
  let cfg: ConfigVersion | undefined;

  const renderConfig = () => {
    const doc = cfg?.doc ?? {};
    const rules = doc.rules ?? [];
    mount(
      config,
      h(
        'p',
        { class: 'muted' },
        cfg && cfg.version > 0
          ? `Configuration version ${cfg.version}${cfg.author ? ` by ${cfg.author}` : ''}${cfg.updatedAt ? `, ${time(new Date(cfg.updatedAt).toISOString())}` : ''}.`
          : 'No delivery configuration yet.',
        canEdit
          ? ''
          : ' Read only: editing the delivery configuration takes an operator token, as in the API.',
      ),
      h('h2', {}, 'Rules'),
      rules.length === 0
        ? h(
            'p',
            { class: 'muted empty' },
            'No rules: predictions go nowhere. Add rules with `swarmml config set delivery FILE` (or PUT /api/v1/config/delivery).',
          )
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { 'aria-label': 'Delivery rules', class: 'rules' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Rule', 'Enabled', 'Model', 'When', 'Sample', 'Channel', 'Formatter', ''].map(
                    (c) => h('th', { scope: 'col' }, c),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                rules.map((r, i) => {
                  const edit = h(
                    'button',
                    { type: 'button', 'aria-label': `Edit rule ${r.id}` },
                    'Edit',
                  );
                  edit.addEventListener('click', () => {
                    editing = i;
                    renderConfig();
                  });
                  return [
                    h(
                      'tr',
                      { 'data-rule': r.id },
                      h('th', { scope: 'row' }, r.id),
                      h('td', {}, r.enabled === false ? 'no' : 'yes'),
                      h('td', {}, r.model === '*' ? 'every model' : modelLink(r.model)),
                      h(
                        'td',
                        { class: 'mono' },
                        r.when === undefined ? 'always' : JSON.stringify(r.when),
                      ),
                      h('td', {}, num(r.sample ?? 1, 2)),
                      h('td', {}, r.channel),
                      h('td', {}, r.formatter),
                      h('td', {}, canEdit ? edit : ''),
                    ),
                    editing === i && cfg
                      ? h(
                          'tr',
                          {},
                          h(
                            'td',
                            { colspan: 8 },
                            ruleForm(ctx, cfg, i, () => {
                              editing = undefined;
                              void loadConfig();
                            }),
                          ),
                        )
                      : null,
                  ];
                }),
              ),
            ),
          ),
      h('h2', {}, 'Channels'),
      table(
        'Channels',
        ['Channel', 'Type', 'Sends to'],
        Object.entries(doc.channels ?? {}).map(([k, c]) => [k, txt(c.type), target(c)]),
        'No channels configured.',
      ),
      h('h2', {}, 'Formatters'),
      table(
        'Formatters',
        ['Formatter', 'Type'],
        Object.entries(doc.formatters ?? {}).map(([k, f]) => [k, txt(f.type)]),
        'No formatters configured.',
      ),
    );
  };

  const loadConfig = async () => {
    try {
      cfg = await ctx.api.get<ConfigVersion>('/config/delivery');
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) cfg = { version: 0, doc: null };
      else return err.replaceChildren(errorBox(e));
    }
    renderConfig();
  };

  const loadDead = async () => {
    // The API shows dead deliveries to operators and admins only: a viewer is told, not refused.
    if (!ctx.can('write'))
      return mount(
        dead,
        h('p', { class: 'muted' }, 'Dead deliveries are shown to operators and admins.'),
      );
    try {
      const r = await ctx.api.get<{ dead: Dead[]; total: number }>('/deliveries/dead?limit=100');
      const rows = r.dead.map((x) => {
        const out = h('span');
        const retry = h('button', { type: 'button', 'aria-label': `Retry ${x.id}` }, 'Retry');
        retry.addEventListener('click', () =>
          action(retry, out, () =>
            ctx.api.post('/deliveries/dead/replay', { ids: [x.id] }).then(loadDead),
          ),
        );
        const drop = h(
          'button',
          { type: 'button', class: 'danger', 'aria-label': `Drop ${x.id}` },
          'Drop',
        );
        drop.addEventListener('click', () =>
          action(drop, out, () =>
            ctx.api.post('/deliveries/dead/drop', { ids: [x.id] }).then(loadDead),
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
        dead,
        h(
          'p',
          { class: 'muted' },
          `${num(r.total)} dead deliveries (retries used up), oldest first.`,
        ),
        table(
          'Dead deliveries',
          ['Delivery', 'Rule', 'Channel', 'Failure', 'Attempts', 'Failed', ''],
          rows,
          'No dead deliveries: every delivery went through or is still being retried.',
        ),
      );
    } catch (e) {
      if (e instanceof ApiError && e.status === 403)
        mount(
          dead,
          h('p', { class: 'muted' }, 'Dead deliveries are shown to operators and admins.'),
        );
      else mount(dead, errorBox(e));
    }
  };

  const loadSources = async () => {
    try {
      const r = await ctx.api.get<{ sources: Record<string, unknown>[] }>('/sources');
      mount(
        sources,
        table(
          'Sources',
          ['Source', 'Type', 'Dataset', 'State', 'Received', 'Appended', 'Rejected', 'Last error'],
          r.sources.map((s) => [
            txt(s.id),
            txt(s.type),
            txt(s.dataset),
            txt(s.state),
            num(s.received as number),
            num(s.appended as number),
            num(s.rejected as number),
            txt(s.lastError, '–'),
          ]),
          'No live sources: add some with `swarmml config set sources FILE`.',
        ),
      );
    } catch (e) {
      mount(sources, errorBox(e));
    }
  };

  const loadCounts = async () => {
    try {
      const r = await ctx.api.get<{ counts: Record<string, number> }>('/deliveries');
      mount(
        counts,
        Object.entries(r.counts).map(([k, v]) =>
          h(
            'div',
            { class: `fig count-${k}` },
            h('dt', {}, k),
            h('dd', { class: 'value' }, num(v)),
          ),
        ),
      );
    } catch (e) {
      mount(counts, errorBox(e));
    }
  };

  void loadConfig();
  void loadCounts();
  void loadSources();
  void loadDead();
  // Queue counts change with every prediction: polled while the page is open (no event carries them).
  const timer = setInterval(() => {
    if (!document.hidden) void loadCounts();
  }, POLL_MS);
  d.add(() => clearInterval(timer));
  const el = h(
    'section',
    { class: 'page', 'data-page': 'delivery' },
    pageHeader('Delivery'),
    err,
    h('h2', {}, 'Queue'),
    counts,
    config,
    h('h2', {}, 'Sources'),
    sources,
    h('h2', {}, 'Dead letters'),
    dead,
  );
  return { el, dispose: () => d.dispose() };
};
