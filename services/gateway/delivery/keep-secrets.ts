import { isDeepStrictEqual } from 'node:util';
import { REDACTED, holdsSecret, redactSecrets, redactUrl, SECRET_KEYS } from './redact-secrets.js';

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

/** Each entry of the document's top-level collections, with its path and its stored counterpart. */
function entries(doc: unknown, current: unknown): { path: string; x: unknown; stored: unknown }[] {
  if (!isObj(doc)) return [];
  const cur = isObj(current) ? current : {};
  return Object.entries(doc).flatMap(([coll, items]) => {
    const stored = cur[coll];
    if (Array.isArray(items)) {
      const s = Array.isArray(stored) ? stored : [];
      return items.map((x: unknown, i) => ({
        path: `${coll}.${isObj(x) && typeof x.id === 'string' ? x.id : i}`,
        x,
        stored: counterpart(x, i, s),
      }));
    }
    if (isObj(items)) {
      const s = isObj(stored) ? stored : {};
      return Object.entries(items).map(([k, x]) => ({ path: `${coll}.${k}`, x, stored: s[k] }));
    }
    return [{ path: coll, x: items, stored }];
  });
}

/**
 * A document saved below admin: masked secrets put back from the stored one, and the paths
 * (`channels.hook`, `sources.plant`) of the entries (each channel, formatter, rule or source)
 * that may not be saved so. Below admin an entry that holds a credential must come as it was
 * read, masked, and stay as stored:
 * - a channel that keeps its secret while its URL changes would hand the secret (or its
 *   signature and headers) to whoever runs the new URL;
 * - a secret sent in clear would be refused only when it differs from the stored one, which
 *   would let a caller test guesses of it.
 */
export function keepMaskedSecrets(
  next: unknown,
  current: unknown,
): { doc: unknown; refused: string[] } {
  const doc = restoreSecrets(next, current);
  const sent = new Map(entries(next, current).map((e) => [e.path, e.x]));
  const refused = entries(doc, current)
    .filter(({ path, x, stored }) => {
      if (!holdsSecret(x)) return false;
      const raw = sent.get(path);
      return !isDeepStrictEqual(redactSecrets(raw), raw) || !isDeepStrictEqual(x, stored);
    })
    .map((e) => e.path);
  return { doc, refused };
}
