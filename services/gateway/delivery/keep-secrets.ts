import { isDeepStrictEqual } from 'node:util';
import { REDACTED, holdsSecret, redactUrl, SECRET_KEYS } from './redact-secrets.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The item of `current` that `item` stands for: same `id` when both have one, else same index. */
function counterpart(item: unknown, i: number, current: unknown[]): unknown {
  const id = isObj(item) && typeof item.id === 'string' ? item.id : undefined;
  if (id !== undefined) return current.find((c) => isObj(c) && c.id === id);
  return current[i];
}

/**
 * `next` with every masked secret (`***`, or `***` as a URL's password) put back from the
 * stored document at the same place, so a document read below admin can be edited and saved.
 */
export function restoreSecrets(next: unknown, current: unknown): unknown {
  if (typeof next === 'string') {
    return typeof current === 'string' && next !== current && redactUrl(current) === next
      ? current
      : next;
  }
  if (Array.isArray(next)) {
    const cur = Array.isArray(current) ? current : [];
    return next.map((x, i) => restoreSecrets(x, counterpart(x, i, cur)));
  }
  if (!isObj(next)) return next;
  const cur = isObj(current) ? current : {};
  return Object.fromEntries(
    Object.entries(next).map(([k, v]) => [
      k,
      SECRET_KEYS.has(k) && isDeepStrictEqual(v, REDACTED) && k in cur
        ? cur[k]
        : restoreSecrets(v, cur[k]),
    ]),
  );
}

/**
 * Paths (`channels.hook`, `sources.3`) of the entries (each channel, formatter, rule or
 * source: the children of the document's top-level collections) that hold a credential and
 * differ from the stored entry. Below admin these may not change: a channel that keeps its
 * secret while its URL changes would hand that secret to whoever runs the new URL.
 */
export function changedSecretHolders(next: unknown, current: unknown): string[] {
  if (!isObj(next)) return [];
  const cur = isObj(current) ? current : {};
  const out: string[] = [];
  for (const [coll, items] of Object.entries(next)) {
    const stored = cur[coll];
    if (Array.isArray(items)) {
      const s = Array.isArray(stored) ? stored : [];
      items.forEach((x, i) => {
        if (holdsSecret(x) && !isDeepStrictEqual(x, counterpart(x, i, s)))
          out.push(`${coll}.${isObj(x) && typeof x.id === 'string' ? x.id : i}`);
      });
    } else if (isObj(items)) {
      const s = isObj(stored) ? stored : {};
      for (const [k, x] of Object.entries(items))
        if (holdsSecret(x) && !isDeepStrictEqual(x, s[k])) out.push(`${coll}.${k}`);
    } else if (holdsSecret(items) && !isDeepStrictEqual(items, stored)) out.push(coll);
  }
  return out;
}
