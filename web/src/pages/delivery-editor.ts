import { ApiError, type Api } from '../api.js';
import { h, mount } from '../dom.js';
import { errorBox } from './common.js';
import {
  DOCUMENT_OF,
  SINGULAR,
  isList,
  withEntry,
  withoutEntry,
  type Collection,
  type ConfigVersion,
  type Entry,
} from './delivery-doc.js';

type AnyDoc = Record<string, unknown>;
const docOf = (cfg: ConfigVersion<object>) => cfg.doc as AnyDoc | null;

/** What an entry's editor needs: where it saves, and what it edits. */
export interface EditTarget {
  api: Api;
  cfg: ConfigVersion<object>;
  collection: Collection;
  /** the entry's name (a map key or a list entry's id); undefined adds a new one */
  name: string | undefined;
  entry: Entry;
  /** shown above the fields, such as why a change may be refused */
  note?: string | undefined;
  /** called after a save or a cancel; `saved` says which */
  done: (saved: boolean) => void;
}

let nextId = 0;
const uid = (what: string) => `delivery-${what}-${++nextId}`;

/**
 * Stores `doc` as the next version, only over the version the page read (a 409 otherwise,
 * so that two people editing at once cannot silently undo each other).
 */
export function saveDocument(
  api: Api,
  c: Collection,
  cfg: ConfigVersion<object>,
  doc: object,
): Promise<unknown> {
  return api.put(`/config/${DOCUMENT_OF[c]}?ifVersion=${cfg.version}`, doc);
}

/**
 * An API refusal as the person can act on it: the gateway's message, then each problem the
 * 400 listed at its path (relative to the entry being edited where it lies inside it), then
 * what to do for the refusals that have a standard answer.
 */
export function refusal(err: unknown, prefix = ''): HTMLElement {
  if (!(err instanceof ApiError)) return errorBox(err);
  const issues = err.issues();
  const at = (path: string) => {
    if (prefix && `${path}.`.startsWith(prefix))
      return path.length < prefix.length ? '(the whole entry)' : path.slice(prefix.length);
    return path || '(the document)';
  };
  const hint =
    err.status === 403
      ? 'An entry that holds a credential (shown as ***) can be kept as it is or deleted; changing it takes an admin.'
      : err.status === 409
        ? 'Someone saved the configuration meanwhile: cancel and edit again from the current version.'
        : '';
  return h(
    'div',
    { class: 'error refusal', role: 'alert', 'data-status': err.status },
    h('p', {}, `${err.message} (${err.code}, HTTP ${err.status})`),
    issues.length > 0
      ? h(
          'ul',
          { class: 'issues' },
          issues.map((i) => h('li', {}, h('code', {}, at(i.path)), ': ', i.message)),
        )
      : null,
    hint ? h('p', {}, hint) : null,
  );
}

/**
 * A form editing one entry as JSON (or adding one). Saving stores a new version of the whole
 * document; the API validates it and keeps masked secrets, and its refusals show in the form.
 */
export function entryEditor(t: EditTarget): HTMLElement {
  const what = SINGULAR[t.collection];
  const adding = t.name === undefined;
  const title = adding ? `New ${what}` : `Edit ${what} ${t.name}`;
  // Map entries are named by a key outside the JSON; list entries carry their `id` inside.
  const nameInput =
    adding && !isList(t.collection)
      ? h('input', { id: uid('name'), type: 'text', required: true, autocomplete: 'off' })
      : undefined;
  const jsonId = uid('json');
  const json = h(
    'textarea',
    { id: jsonId, class: 'mono json-edit', rows: 8, spellcheck: 'false' },
    JSON.stringify(t.entry, null, 2),
  );
  const out = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit' }, adding ? `Add ${what}` : `Save ${what} ${t.name}`);
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  cancel.addEventListener('click', () => t.done(false));
  const form = h(
    'form',
    { class: 'entry-form', 'aria-label': title, 'data-editing': `${t.collection}:${t.name ?? ''}` },
    h('h3', {}, title),
    t.note ? h('p', { class: 'muted note' }, t.note) : null,
    nameInput
      ? h(
          'div',
          { class: 'form-row' },
          h('label', { for: nameInput.id }, `Name of the new ${what}`),
          nameInput,
        )
      : null,
    h(
      'div',
      { class: 'form-row wide' },
      h(
        'label',
        { for: jsonId },
        adding ? `New ${what} (JSON)` : `${capital(what)} ${t.name} (JSON)`,
      ),
      json,
    ),
    h('div', { class: 'buttons' }, save, cancel),
    out,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    let prefix = '';
    void runSave(
      save,
      out,
      async () => {
        let entry: Entry;
        try {
          entry = JSON.parse(json.value) as Entry;
        } catch (err) {
          throw new Error(`Not JSON: ${(err as Error).message}`, { cause: err });
        }
        if (!entry || typeof entry !== 'object' || Array.isArray(entry))
          throw new Error(`A ${what} is a JSON object: { … }`);
        const name = isList(t.collection) ? entry.id : (t.name ?? nameInput?.value.trim());
        if (typeof name !== 'string' || name === '')
          throw new Error(isList(t.collection) ? `A ${what} needs an "id"` : `Name the ${what}`);
        if (adding && existing(t, name))
          throw new Error(`There is a ${what} named ${name} already`);
        const next = withEntry(docOf(t.cfg), t.collection, t.name, entry, name);
        prefix = next.prefix;
        await saveDocument(t.api, t.collection, t.cfg, next.doc);
        t.done(true);
      },
      () => prefix,
    );
  });
  queueMicrotask(() => (nameInput ?? json).focus());
  return form;
}

/** A Delete button that asks first: one click shows the question, a second one deletes. */
export function deleteControl(
  t: Omit<EditTarget, 'entry' | 'note'> & { name: string },
): HTMLElement {
  const what = SINGULAR[t.collection];
  const box = h('span', { class: 'confirm' });
  const out = h('span');
  const del = h(
    'button',
    { type: 'button', class: 'danger', 'aria-label': `Delete ${what} ${t.name}` },
    'Delete',
  );
  const ask = () => {
    const yes = h(
      'button',
      { type: 'button', class: 'danger', 'aria-label': `Yes, delete ${what} ${t.name}` },
      'Yes, delete',
    );
    const no = h(
      'button',
      { type: 'button', class: 'secondary', 'aria-label': `Keep ${what} ${t.name}` },
      'Keep',
    );
    no.addEventListener('click', () => mount(box, del, out));
    yes.addEventListener('click', () => {
      void runSave(yes, out, async () => {
        await saveDocument(
          t.api,
          t.collection,
          t.cfg,
          withoutEntry(docOf(t.cfg), t.collection, t.name),
        );
        t.done(true);
      });
    });
    mount(box, h('span', {}, `Delete ${what} ${t.name}?`), yes, no, out);
    yes.focus();
  };
  del.addEventListener('click', ask);
  mount(box, del, out);
  return box;
}

/**
 * Runs a save from a button: the button is disabled meanwhile, and a refusal shows in `out`
 * with its problems relative to the entry (`prefix()` is read after the failure, as the
 * entry's place is known only once the next document is built).
 */
export async function runSave(
  b: HTMLButtonElement,
  out: HTMLElement,
  fn: () => Promise<void>,
  prefix: () => string = () => '',
): Promise<void> {
  b.disabled = true;
  out.replaceChildren();
  try {
    await fn();
  } catch (err) {
    mount(out, refusal(err, prefix()));
  } finally {
    b.disabled = false;
  }
}

function existing(t: EditTarget, name: string): boolean {
  const v = docOf(t.cfg)?.[t.collection];
  if (Array.isArray(v)) return (v as Entry[]).some((e) => e.id === name);
  return !!v && typeof v === 'object' && name in v;
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
