import { ApiError } from '../api.js';
import { h, mount } from '../dom.js';
import { num, time } from '../format.js';
import { Disposer, type PageFactory } from '../page.js';
import { errorBox, pageHeader } from './common.js';
import { loadDeadLetters } from './delivery-dead.js';
import {
  DOCUMENT_OF,
  SINGULAR,
  entriesOf,
  holdsMaskedSecret,
  maskUrl,
  newEntryTemplate,
  type Collection,
  type ConfigVersion,
  type DeliveryDoc,
  type Entry,
  type SourcesDoc,
} from './delivery-doc.js';
import { deleteControl, entryEditor } from './delivery-editor.js';
import { rulesTable } from './delivery-rules.js';
import { plainTable } from './plain-table.js';
import { txt } from './params.js';

const POLL_MS = 2000;

type Cell = Node | string;

/** What a document is before its first version: empty, so the first entry can be added. */
const EMPTY = {
  delivery: { channels: {}, formatters: {}, rules: [] } as DeliveryDoc,
  sources: { sources: [] } as SourcesDoc,
};

/** Where a channel sends to, with any password in its URL masked (admins read them in clear). */
function target(c: Entry): string {
  return [c.url, c.topic, c.routingKey, c.exchange]
    .filter((x): x is string => typeof x === 'string')
    .map(maskUrl)
    .join(' · ');
}

/** A formatter's shape in a few words: its template's keys, its columns, or its plugin. */
function shape(f: Entry): string {
  if (f.template && typeof f.template === 'object') return Object.keys(f.template).join(', ');
  if (Array.isArray(f.columns)) return f.columns.map(String).join(', ');
  return txt(f.plugin, '–');
}

/** Delivery: queue counts, rules, channels, formatters, sources and dead letters; operators edit. */
export const deliveryPage: PageFactory = (ctx) => {
  const d = new Disposer();
  const counts = h('dl', { class: 'figures', 'aria-label': 'Delivery queue counts' });
  const config = h('div');
  const dead = h('div');
  const err = h('div');
  // As in the API: operators edit the documents (the server keeps masked secrets), viewers read.
  const canEdit = ctx.can('write');
  const isAdmin = ctx.can('admin');
  const cfgs: { delivery?: ConfigVersion<DeliveryDoc>; sources?: ConfigVersion<SourcesDoc> } = {};
  let status: Record<string, Entry> = {};
  /** the entry whose form is open (`name` undefined: a new one) */
  let editing: { c: Collection; name: string | undefined } | undefined;

  const cfgOf = (c: Collection): ConfigVersion<object> | undefined => {
    const v = cfgs[DOCUMENT_OF[c]];
    return v && { ...v, doc: v.doc ?? EMPTY[DOCUMENT_OF[c]] };
  };
  const done = (saved: boolean) => {
    editing = undefined;
    if (saved) void Promise.all([loadConfig(), loadSourceStatus()]);
    else render();
  };
  const open = (c: Collection, name: string | undefined) => {
    editing = { c, name };
    render();
  };

  /** Edit and Delete for one entry, or nothing for those who may not. */
  const actions = (c: Collection, name: string): Cell => {
    const cfg = cfgOf(c);
    if (!canEdit || !cfg) return '';
    const what = SINGULAR[c];
    const edit = h('button', { type: 'button', 'aria-label': `Edit ${what} ${name}` }, 'Edit');
    edit.addEventListener('click', () => open(c, name));
    return h(
      'span',
      { class: 'actions' },
      edit,
      ' ',
      deleteControl({ api: ctx.api, cfg, collection: c, name, done }),
    );
  };

  /** Below a collection's table: the open editor, or the Add button. */
  const editorOf = (c: Collection): HTMLElement | string => {
    const cfg = cfgOf(c);
    if (!canEdit || !cfg) return '';
    const what = SINGULAR[c];
    // A rule opens its own form in place; the editor here adds rules.
    if (editing?.c === c && (c !== 'rules' || editing.name === undefined)) {
      const entry =
        editing.name === undefined
          ? newEntryTemplate(c, cfgs.delivery?.doc ?? null)
          : (entriesOf(cfg.doc as Record<string, unknown>, c).find(
              ([k]) => k === editing!.name,
            )?.[1] ?? {});
      const note =
        !isAdmin && holdsMaskedSecret(entry)
          ? `This ${what} holds a credential (shown as ***): an operator may keep it as it is or delete it; changing it takes an admin.`
          : isAdmin
            ? 'Admins read secrets in clear: what the form holds is what is stored.'
            : 'Masked values (***) stand for the stored secrets and are kept when left as they are.';
      return entryEditor({
        api: ctx.api,
        cfg,
        collection: c,
        name: editing.name,
        entry,
        note,
        done,
      });
    }
    const add = h('button', { type: 'button', class: 'secondary' }, `Add ${what}`);
    add.addEventListener('click', () => open(c, undefined));
    return h('p', { class: 'add' }, add);
  };

  const rowNamed =
    (c: Collection, names: string[]) =>
    (i: number): Record<string, string> => ({ [`data-${SINGULAR[c]}`]: names[i] ?? '' });

  const channelsTable = () => {
    const list = entriesOf(cfgs.delivery?.doc as Record<string, unknown> | null, 'channels');
    return plainTable(
      'Channels',
      ['Channel', 'Type', 'Sends to', 'Timeout', ...(canEdit ? ['Actions'] : [])],
      list.map(([k, c]) => [
        k,
        txt(c.type),
        target(c),
        typeof c.timeoutMs === 'number' ? `${num(c.timeoutMs)} ms` : '–',
        ...(canEdit ? [actions('channels', k)] : []),
      ]),
      'No channels configured.',
      {
        rowAttr: rowNamed(
          'channels',
          list.map(([k]) => k),
        ),
      },
    );
  };

  const formattersTable = () => {
    const list = entriesOf(cfgs.delivery?.doc as Record<string, unknown> | null, 'formatters');
    return plainTable(
      'Formatters',
      ['Formatter', 'Type', 'Shape', ...(canEdit ? ['Actions'] : [])],
      list.map(([k, f]) => [
        k,
        txt(f.type),
        h('span', { class: 'mono' }, shape(f)),
        ...(canEdit ? [actions('formatters', k)] : []),
      ]),
      'No formatters configured.',
      {
        rowAttr: rowNamed(
          'formatters',
          list.map(([k]) => k),
        ),
      },
    );
  };

  /** The configured sources with their running state; a running source not configured is shown too. */
  const sourcesTable = () => {
    const list = entriesOf(cfgs.sources?.doc as Record<string, unknown> | null, 'sources');
    const configured = new Set(list.map(([k]) => k));
    const rows: [string, Entry, boolean][] = [
      ...list.map(([k, s]): [string, Entry, boolean] => [k, { ...s, ...status[k] }, true]),
      ...Object.entries(status)
        .filter(([k]) => !configured.has(k))
        .map(([k, s]): [string, Entry, boolean] => [k, s, false]),
    ];
    return plainTable(
      'Sources',
      [
        'Source',
        'Type',
        'Dataset',
        'State',
        'Received',
        'Appended',
        'Rejected',
        'Last error',
        ...(canEdit ? ['Actions'] : []),
      ],
      rows.map(([k, s, inDoc]) => [
        k,
        txt(s.type),
        txt(s.dataset),
        txt(s.state, s.enabled === false ? 'disabled' : '–'),
        num(s.received as number),
        num(s.appended as number),
        num(s.rejected as number),
        txt(s.lastError, '–'),
        ...(canEdit ? [inDoc ? actions('sources', k) : ''] : []),
      ]),
      canEdit
        ? 'No live sources: add one below.'
        : 'No live sources: an operator adds them here or with `swarmml source apply FILE`.',
      { rowAttr: (i) => ({ 'data-source': rows[i]?.[0] ?? '' }) },
    );
  };

  const versionLine = () => {
    const v = cfgs.delivery;
    return h(
      'p',
      { class: 'muted' },
      v && v.version > 0
        ? `Configuration version ${v.version}${v.author ? ` by ${v.author}` : ''}${v.updatedAt ? `, ${time(new Date(v.updatedAt).toISOString())}` : ''}.`
        : 'No delivery configuration yet.',
      canEdit
        ? ''
        : ' Read only: editing the delivery configuration takes an operator token, as in the API.',
    );
  };

  const render = () => {
    mount(
      config,
      versionLine(),
      h('h2', {}, 'Rules'),
      rulesTable({
        ctx,
        cfg: cfgs.delivery,
        canEdit,
        editing: editing?.c === 'rules' ? editing.name : undefined,
        edit: (id) => open('rules', id),
        done,
      }),
      editorOf('rules'),
      h('h2', {}, 'Channels'),
      channelsTable(),
      editorOf('channels'),
      h('h2', {}, 'Formatters'),
      formattersTable(),
      editorOf('formatters'),
      h('h2', {}, 'Sources'),
      sourcesTable(),
      editorOf('sources'),
    );
  };

  const loadDoc = async <D>(kind: 'delivery' | 'sources'): Promise<ConfigVersion<D>> => {
    try {
      return await ctx.api.get<ConfigVersion<D>>(`/config/${kind}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return { version: 0, doc: null };
      throw e;
    }
  };
  const loadConfig = async () => {
    try {
      const [delivery, sources] = await Promise.all([
        loadDoc<DeliveryDoc>('delivery'),
        loadDoc<SourcesDoc>('sources'),
      ]);
      cfgs.delivery = delivery;
      cfgs.sources = sources;
      mount(err);
    } catch (e) {
      mount(err, errorBox(e));
    }
    render();
  };
  const loadSourceStatus = async () => {
    try {
      const r = await ctx.api.get<{ sources: Entry[] }>('/sources');
      status = Object.fromEntries(r.sources.map((s) => [txt(s.id), s]));
    } catch (e) {
      mount(err, errorBox(e));
    }
    render();
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
  void loadSourceStatus();
  void loadCounts();
  void loadDeadLetters(ctx, dead, () => void loadCounts());
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
    h('h2', {}, 'Dead letters'),
    dead,
  );
  return { el, dispose: () => d.dispose() };
};
