import { h } from '../dom.js';
import { num } from '../format.js';
import { modelLink } from '../links.js';
import type { PageContext } from '../page.js';
import type { ConfigVersion, DeliveryDoc, Rule } from './delivery-doc.js';
import { deleteControl, runSave, saveDocument } from './delivery-editor.js';

/** What the rules table needs from the page. */
export interface RulesView {
  ctx: PageContext;
  cfg: ConfigVersion<DeliveryDoc> | undefined;
  canEdit: boolean;
  /** the id of the rule whose form is open */
  editing: string | undefined;
  edit: (id: string) => void;
  /** the form was closed; `saved` says whether a new version was stored */
  done: (saved: boolean) => void;
}

/** An editing form for one rule; saving stores a new version of the whole document. */
function ruleForm(v: RulesView, cfg: ConfigVersion<DeliveryDoc>, index: number): HTMLElement {
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
  cancel.addEventListener('click', () => v.done(false));
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
    h('div', { class: 'buttons' }, save, cancel),
    out,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void runSave(
      save,
      out,
      async () => {
        let cond: unknown;
        if (when.value.trim()) {
          try {
            cond = JSON.parse(when.value) as unknown;
          } catch (err) {
            throw new Error('When must be JSON, such as {"maxScoreOver": 0.9}', { cause: err });
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
        await saveDocument(v.ctx.api, 'rules', cfg, { ...doc, rules });
        v.done(true);
      },
      () => `rules.${index}.`,
    );
  });
  return form;
}

/** The rules table: each rule with Edit (a form in place) and Delete for those who may. */
export function rulesTable(v: RulesView): HTMLElement {
  const rules = v.cfg?.doc?.rules ?? [];
  if (rules.length === 0)
    return h(
      'p',
      { class: 'muted empty' },
      v.canEdit
        ? 'No rules: predictions go nowhere. Add one below.'
        : 'No rules: predictions go nowhere.',
    );
  const cols = ['Rule', 'Enabled', 'Model', 'When', 'Sample', 'Channel', 'Formatter'];
  if (v.canEdit) cols.push('Actions');
  return h(
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
          cols.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rules.map((r, i) => {
          const edit = h('button', { type: 'button', 'aria-label': `Edit rule ${r.id}` }, 'Edit');
          edit.addEventListener('click', () => v.edit(r.id));
          return [
            h(
              'tr',
              { 'data-rule': r.id },
              h('th', { scope: 'row' }, r.id),
              h('td', {}, r.enabled === false ? 'no' : 'yes'),
              h('td', {}, r.model === '*' ? 'every model' : modelLink(r.model)),
              h('td', { class: 'mono' }, r.when === undefined ? 'always' : JSON.stringify(r.when)),
              h('td', {}, num(r.sample ?? 1, 2)),
              h('td', {}, r.channel),
              h('td', {}, r.formatter),
              v.canEdit && v.cfg
                ? h(
                    'td',
                    { class: 'actions' },
                    edit,
                    ' ',
                    deleteControl({
                      api: v.ctx.api,
                      cfg: v.cfg,
                      collection: 'rules',
                      name: r.id,
                      done: v.done,
                    }),
                  )
                : null,
            ),
            v.editing === r.id && v.cfg
              ? h('tr', {}, h('td', { colspan: cols.length }, ruleForm(v, v.cfg, i)))
              : null,
          ];
        }),
      ),
    ),
  );
}
