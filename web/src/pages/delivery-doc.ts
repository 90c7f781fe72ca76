/**
 * The two live documents behind the Delivery page (`delivery`: channels, formatters, rules;
 * `sources`: the sources) and the edits the page makes to them. Each edit builds the whole
 * next document: the API stores documents, not entries.
 */

export type Entry = Record<string, unknown>;

export interface Rule {
  id: string;
  enabled?: boolean;
  model: string;
  when?: unknown;
  sample?: number;
  channel: string;
  formatter: string;
}

export interface DeliveryDoc {
  channels?: Record<string, Entry>;
  formatters?: Record<string, Entry>;
  rules?: Rule[];
}

export interface SourcesDoc {
  sources?: Entry[];
}

export interface ConfigVersion<D> {
  version: number;
  doc: D | null;
  updatedAt?: number;
  author?: string;
}

/** An editable collection: its document, and whether entries are named by key or by `id`. */
export type Collection = 'channels' | 'formatters' | 'rules' | 'sources';
export const DOCUMENT_OF: Record<Collection, 'delivery' | 'sources'> = {
  channels: 'delivery',
  formatters: 'delivery',
  rules: 'delivery',
  sources: 'sources',
};
/** `rules` and `sources` are lists of entries with an `id`; channels and formatters are maps. */
export const isList = (c: Collection): c is 'rules' | 'sources' => c === 'rules' || c === 'sources';
export const SINGULAR: Record<Collection, string> = {
  channels: 'channel',
  formatters: 'formatter',
  rules: 'rule',
  sources: 'source',
};

type AnyDoc = Record<string, unknown>;

/** The entries of a collection as `[name, entry]`, in document order. */
export function entriesOf(doc: AnyDoc | null, c: Collection): [string, Entry][] {
  const v = doc?.[c];
  if (Array.isArray(v))
    return (v as Entry[]).map((e, i) => [typeof e.id === 'string' ? e.id : String(i), e]);
  if (v && typeof v === 'object') return Object.entries(v as Record<string, Entry>);
  return [];
}

/**
 * `doc` with the entry `name` replaced by `entry` (or added when `name` is undefined), and
 * the path prefix of that entry in the result, as the API names problems in it
 * (`channels.hook.`, `sources.2.`). A list entry's name is its `id`; a map entry is stored
 * under `newName`.
 */
export function withEntry(
  doc: AnyDoc | null,
  c: Collection,
  name: string | undefined,
  entry: Entry,
  newName: string,
): { doc: AnyDoc; prefix: string } {
  const base = { ...(doc ?? {}) };
  if (isList(c)) {
    const list = Array.isArray(base[c]) ? [...(base[c] as Entry[])] : [];
    const at = name === undefined ? -1 : list.findIndex((e) => e.id === name);
    const index = at < 0 ? list.length : at;
    list[index] = entry;
    return { doc: { ...base, [c]: list }, prefix: `${c}.${index}.` };
  }
  const map = (base[c] ?? {}) as Record<string, Entry>;
  // Rebuilt in order so an edited entry keeps its place.
  const next: Record<string, Entry> = {};
  for (const [k, v] of Object.entries(map)) next[k === name ? newName : k] = k === name ? entry : v;
  if (name === undefined || !(name in map)) next[newName] = entry;
  return { doc: { ...base, [c]: next }, prefix: `${c}.${newName}.` };
}

/** `doc` without the entry `name`. */
export function withoutEntry(doc: AnyDoc | null, c: Collection, name: string): AnyDoc {
  const base = { ...(doc ?? {}) };
  if (isList(c)) return { ...base, [c]: ((base[c] ?? []) as Entry[]).filter((e) => e.id !== name) };
  const { [name]: _gone, ...rest } = (base[c] ?? {}) as Record<string, Entry>;
  return { ...base, [c]: rest };
}

/**
 * Whether the API masked a credential in this entry (`***`, or `***` as a URL's password):
 * below admin such an entry may be kept or removed, not changed.
 */
export function holdsMaskedSecret(entry: unknown): boolean {
  return JSON.stringify(entry ?? null).includes('***');
}

/** A URL as text with any password in it shown as `***` (admins read them in clear). */
export function maskUrl(u: string): string {
  return u.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*:)[^/@]*@/i, '$1***@');
}

/** What a new entry starts as: a valid example of the collection, given names already used. */
export function newEntryTemplate(c: Collection, doc: DeliveryDoc | null): Entry {
  switch (c) {
    case 'channels':
      return { type: 'ws', topic: 'alerts' };
    case 'formatters':
      return { type: 'json' };
    case 'rules':
      return {
        id: 'new-rule',
        model: '*',
        sample: 1,
        channel: Object.keys(doc?.channels ?? {})[0] ?? 'CHANNEL',
        formatter: Object.keys(doc?.formatters ?? {})[0] ?? 'FORMATTER',
      };
    case 'sources':
      return {
        id: 'new-source',
        type: 'http',
        dataset: 'DATASET',
        mapping: { format: 'json', features: ['x'], label: 'y' },
      };
  }
}
