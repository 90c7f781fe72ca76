import { BadInput } from '../../../shared/index.js';

/** Above this many distinct labels an all-integer label column is treated as regression. */
export const MAX_CLASSES = 1000;

export type LabelKind = 'class' | 'regression';

/** How stored raw labels become the labels of emitted batches. */
export interface LabelMapping {
  kind: LabelKind;
  /** Class names, index = class id. */
  names?: string[];
  /** `value` is the raw numeric label (NaN for text), `textId` what `LabelCollector.add` returned. */
  map: (value: number, textId: number) => number;
}

export interface LabelCollector {
  /**
   * Records one label. `text` is the label as written (null where labels are always numbers,
   * as in libsvm); `value` is its number or NaN. Returns the id to store with the row, or -1
   * when a text label arrives after more than MAX_CLASSES distinct texts (the caller reports it).
   */
  add(text: string | null, value: number): number;
  /** Decides the label kind and mapping once every label has been seen. */
  resolve(): LabelMapping;
}

/**
 * Collects labels during the first pass. Class ids are assigned in sorted order (numbers
 * numerically, text by code unit), not by first appearance, so the same data always gets
 * the same ids whatever its row order.
 */
export function createLabelCollector(
  opts: { kind?: LabelKind | 'auto'; names?: readonly string[] } = {},
): LabelCollector {
  const want = opts.kind ?? 'auto';
  let texts: Map<string, number> | null = new Map();
  let anyText = false;
  let allIntegers = true;
  let distinct: Set<number> | null = new Set();
  return {
    add(text, value) {
      if (Number.isNaN(value)) anyText = true;
      else {
        if (!Number.isInteger(value)) allIntegers = false;
        if (distinct) {
          distinct.add(Math.fround(value));
          if (distinct.size > MAX_CLASSES && want !== 'class') distinct = null;
        }
      }
      if (text === null) return 0;
      if (!texts) return anyText ? -1 : 0;
      let id = texts.get(text);
      if (id === undefined) {
        id = texts.size;
        texts.set(text, id);
        if (texts.size > MAX_CLASSES) {
          texts = null;
          return anyText ? -1 : 0;
        }
      }
      return id;
    },
    resolve() {
      if (opts.names) {
        const names = [...opts.names];
        return { kind: 'class', names, map: (v) => v };
      }
      if (anyText) {
        if (want === 'regression') throw new BadInput('regression labels must be numbers');
        if (!texts) throw new BadInput(`more than ${MAX_CLASSES} distinct text labels`);
        const names = [...texts.keys()].sort();
        const ids = new Int32Array(texts.size);
        names.forEach((name, rank) => (ids[texts!.get(name)!] = rank));
        return { kind: 'class', names, map: (_v, textId) => ids[textId]! };
      }
      const isClass = want === 'class' || (want === 'auto' && allIntegers && distinct !== null);
      if (!isClass) return { kind: 'regression', map: (v) => v };
      if (!allIntegers) throw new BadInput('class labels must be integers or text');
      const sorted = [...distinct!].sort((a, b) => a - b);
      const ids = new Map(sorted.map((v, i) => [v, i]));
      return { kind: 'class', names: sorted.map(String), map: (v) => ids.get(v)! };
    },
  };
}
