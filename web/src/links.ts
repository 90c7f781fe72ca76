/** Hash links between pages: every id the dashboard shows goes through one of these. */
import { h } from './dom.js';

const enc = encodeURIComponent;

export const hrefs = {
  session: (id: string) => `#/session/${enc(id)}`,
  model: (name: string) => `#/models/${enc(name)}`,
  generation: (model: string, gen: number) => `#/models/${enc(model)}/${gen}`,
  dataset: (name: string, version?: number | null) =>
    `#/datasets/${enc(name)}${version ? `/${version}` : ''}`,
  events: (filter: { session?: string; model?: string; kind?: string } = {}) => {
    const q = new URLSearchParams(
      Object.entries(filter).filter((e): e is [string, string] => Boolean(e[1])),
    ).toString();
    return `#/events${q ? `?${q}` : ''}`;
  },
  serving: () => '#/serving',
  compare: (ids: string[]) => `#/compare/${ids.map(enc).join(',')}`,
  compareGenerations: (model: string, gens: number[]) =>
    `#/compare/${enc(model)}/${gens.join(',')}`,
};

/** A dataset reference as sessions carry it: `name`, `name@3` or `name@v3`. */
export function parseDatasetRef(ref: string): { name: string; version: number | null } {
  const m = /^(.*?)@v?(\d+)$/.exec(ref);
  return m ? { name: m[1]!, version: Number(m[2]) } : { name: ref, version: null };
}

export function sessionLink(id: string, text = id.slice(0, 8)): HTMLAnchorElement {
  return h('a', { href: hrefs.session(id), 'data-link': 'session', title: id }, text);
}

export function generationLink(model: string, gen: number, text?: string): HTMLAnchorElement {
  return h(
    'a',
    { href: hrefs.generation(model, gen), 'data-link': 'generation' },
    text ?? `${model} gen ${gen}`,
  );
}

export function modelLink(name: string): HTMLAnchorElement {
  return h('a', { href: hrefs.model(name), 'data-link': 'model' }, name);
}

/** `name@vN` linked to that version (or to the dataset when no version is pinned). */
export function datasetLink(name: string, version?: number | null): HTMLAnchorElement {
  return h(
    'a',
    { href: hrefs.dataset(name, version), 'data-link': 'dataset' },
    version ? `${name}@v${version}` : name,
  );
}

export function datasetRefLink(ref: string): HTMLAnchorElement {
  const { name, version } = parseDatasetRef(ref);
  return datasetLink(name, version);
}
