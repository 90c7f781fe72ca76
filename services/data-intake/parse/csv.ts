import { BadInput } from '../../../shared/index.js';
import { lineError } from './bad-input.js';
import { guessDelimiter, isMissingText, splitFields, type Fields } from './csv-fields.js';
import { createLabelCollector } from './labels.js';
import { parseNumberText, scanned, scanNumber } from './numbers.js';
import { createBlockSpill } from './spill.js';
import { spillLines, tabularResult } from './tabular-result.js';
import { createTabularRowWriter } from './tabular-spill.js';
import type { ParseContext, ParsedDataset, ParseOptions } from './types.js';

interface Layout {
  width: number;
  labelCol: number;
  featureNames?: string[];
  /** Class names from an sklearn-style first line; the label column then holds ids. */
  presetNames?: string[];
}

const QUOTE = 34;
const SPACE = 32;

/**
 * CSV with numeric features and one label column (numbers or text). Whether the first line is
 * a header is decided from the first two lines (see `decideLayout`); rows with quotes take a
 * slower string path, all others are scanned as bytes.
 */
export async function parseCsv(
  source: AsyncIterable<Buffer>,
  ctx: ParseContext,
): Promise<ParsedDataset> {
  const o = ctx.opts;
  const skip = o.skipLines ?? 0;
  let delim = o.delimiter === undefined ? -1 : o.delimiter.charCodeAt(0);
  const spill = createBlockSpill({ dir: ctx.tmpDir, memoryLimitBytes: o.memoryLimitBytes });
  const writer = createTabularRowWriter(spill);
  let layout: Layout | null = null;
  let first: { fields: Fields; line: number } | null = null;
  let labels = createLabelCollector({ kind: o.labelKind });
  let values = new Float32Array(0);

  const addRow = (labelText: string, line: number, col: number): void => {
    const l = layout!;
    if (isMissingText(labelText)) throw lineError(line, col, 'label missing');
    const value = parseNumberText(labelText);
    if (l.presetNames) {
      if (!Number.isInteger(value) || value < 0 || value >= l.presetNames.length) {
        throw lineError(line, col, `label must be a class id 0..${l.presetNames.length - 1}`);
      }
    } else if (o.labelKind === 'regression' && Number.isNaN(value)) {
      throw lineError(line, col, 'regression label must be a number');
    }
    const id = labels.add(labelText, value);
    if (id < 0) throw lineError(line, col, 'too many distinct text labels');
    writer.addDense(value, id, values, values.length);
  };

  const rowFromFields = (f: Fields, line: number): void => {
    const l = layout!;
    if (f.texts.length !== l.width) {
      throw lineError(line, 1, `expected ${l.width} columns, found ${f.texts.length}`);
    }
    let k = 0;
    for (let c = 0; c < l.width; c++) {
      if (c === l.labelCol) continue;
      const t = f.texts[c]!;
      const v = isMissingText(t) ? NaN : parseNumberText(t);
      if (Number.isNaN(v) && !isMissingText(t)) throw notANumber(line, f.cols[c]!, c, t);
      values[k++] = checkedFloat(v, line, f.cols[c]!);
    }
    addRow(f.texts[l.labelCol]!, line, f.cols[l.labelCol]!);
  };

  /** The fast path; returns false, having stored nothing, when it meets a quoted field. */
  const rowFromBytes = (buf: Buffer, start: number, end: number, line: number): boolean => {
    const l = layout!;
    const pad = delim === SPACE ? -1 : SPACE; // spaces around fields, unless they separate them
    let p = start;
    let k = 0;
    let labelText = '';
    let labelCol = 1;
    for (let c = 0; c < l.width; c++) {
      if (c > 0) {
        if (p >= end)
          throw lineError(line, p - start + 1, `expected ${l.width} columns, found ${c}`);
        p++; // the delimiter
      }
      const fieldStart = p;
      while (p < end && buf[p] === pad) p++;
      if (buf[p] === QUOTE) return false;
      if (c === l.labelCol) {
        let q = p;
        while (q < end && buf[q] !== delim) q++;
        labelText = buf.toString('utf8', p, q).trim();
        labelCol = fieldStart - start + 1;
        p = q;
        continue;
      }
      let v: number;
      if (p === end || buf[p] === delim) v = NaN;
      else if (isMissingToken(buf, p, end, delim)) {
        v = NaN;
        while (p < end && buf[p] !== delim) p++;
      } else {
        const q = scanNumber(buf, p, end);
        if (q === p) throw notANumber(line, p - start + 1, c, fieldText(buf, p, end, delim));
        v = checkedFloat(scanned.value, line, p - start + 1);
        const from = p;
        p = q;
        while (p < end && buf[p] === pad) p++;
        if (p < end && buf[p] !== delim) {
          throw notANumber(line, from - start + 1, c, fieldText(buf, from, end, delim));
        }
      }
      values[k++] = v;
    }
    if (p < end) throw lineError(line, p - start + 1, `expected ${l.width} columns, found more`);
    addRow(labelText, line, labelCol);
    return true;
  };

  /**
   * A feature field that is not a number. Text in the first or last column is most often a
   * label column the file did not put where the parser looked, so the error says which
   * `labelColumn` would read it.
   */
  const notANumber = (line: number, col: number, c: number, text: string): BadInput => {
    if (/^[-+]?(nan|inf)/i.test(text)) return lineError(line, col, 'NaN or Inf value');
    const shown = `'${text.length > 40 ? `${text.slice(0, 40)}...` : text}'`;
    const reason = `expected a number, found ${shown}`;
    const l = layout!;
    const edge = c === 0 ? '0' : c === l.width - 1 ? '-1' : null;
    if (edge === null || /^[-+.\d]/.test(text)) return lineError(line, col, reason);
    return lineError(line, col, reason, {
      hint: `column ${c} holds text, as labels do: if it is the label column, set labelColumn=${edge}`,
      suggest: { labelColumn: edge },
    });
  };

  const setLayout = (next: Layout): void => {
    layout = next;
    values = new Float32Array(next.width - 1);
    labels = createLabelCollector({ kind: o.labelKind, names: next.presetNames });
  };

  const onLine = (buf: Buffer, start: number, end: number, line: number): void => {
    if (line <= skip || isBlank(buf, start, end)) return;
    if (delim < 0) delim = guessDelimiter(buf, start, end);
    if (layout === null) {
      const fields = splitFields(buf, start, end, delim, line);
      if (first === null) {
        first = { fields, line };
        return;
      }
      const { layout: next, firstIsData } = decideLayout(o, first.fields.texts, fields.texts);
      setLayout(next);
      if (firstIsData) rowFromFields(first.fields, first.line);
      first = null;
    }
    if (!rowFromBytes(buf, start, end, line)) {
      rowFromFields(splitFields(buf, start, end, delim, line), line);
    }
  };

  try {
    await spillLines(source, onLine, spill);
    const pending = first as { fields: Fields; line: number } | null;
    if (layout === null && pending !== null) {
      const { layout: next, firstIsData } = decideLayout(o, pending.fields.texts, null);
      setLayout(next);
      if (firstIsData) rowFromFields(pending.fields, pending.line);
    }
    const l = layout as Layout | null;
    return tabularResult({
      ctx,
      format: 'csv',
      spill,
      writer,
      labels,
      dim: l ? l.width - 1 : 0,
      ...(l?.featureNames ? { featureNames: l.featureNames } : {}),
    });
  } catch (err) {
    await spill.close();
    throw err;
  }
}

/**
 * Reads the file's shape from its first two lines. In `auto` mode the first line is:
 * sklearn's `count,features,name...` when two integers are followed by non-numeric names,
 * the next line has features+1 columns and its last field is a class id; a header when one of its fields is text where the
 * next line has a number (or when it is all text); otherwise data.
 */
export function decideLayout(
  o: ParseOptions,
  f1: string[],
  f2: string[] | null,
): { layout: Layout; firstIsData: boolean } {
  const mode = o.header ?? 'auto';
  if (mode === 'auto' && f2 && isSklearnHeader(f1, f2)) {
    const width = f2.length;
    const names = f1.slice(2);
    return {
      layout: {
        width,
        labelCol: labelIndex(o.labelColumn, o.columns, width),
        ...(o.columns ? { featureNames: withoutLabel(o.columns, o.labelColumn, width) } : {}),
        ...(names.length > 0 ? { presetNames: names } : {}),
      },
      firstIsData: false,
    };
  }
  const header = mode === 'auto' ? looksLikeHeader(f1, f2) : mode;
  const names = o.columns ?? (header ? f1 : undefined);
  const width = names?.length ?? f1.length;
  if (width < 2) throw new BadInput('a CSV dataset needs at least one feature and a label column');
  return {
    layout: {
      width,
      labelCol: labelIndex(o.labelColumn, names, width),
      ...(names ? { featureNames: withoutLabel(names, o.labelColumn, width) } : {}),
    },
    firstIsData: !header,
  };
}

function isSklearnHeader(f1: string[], f2: string[]): boolean {
  if (f1.length < 2 || !/^\d+$/.test(f1[0]!) || !/^\d+$/.test(f1[1]!)) return false;
  if (Number(f1[1]) + 1 !== f2.length) return false;
  const names = f1.slice(2);
  if (!names.every((t) => Number.isNaN(parseNumberText(t)))) return false;
  // The next row's label must then be a class id: this tells `1,2,x` followed by `3,4,y` apart.
  const id = parseNumberText(f2.at(-1)!);
  return names.length === 0 || (Number.isInteger(id) && id >= 0 && id < names.length);
}

function looksLikeHeader(f1: string[], f2: string[] | null): boolean {
  const text = (t: string): boolean => !isMissingText(t) && Number.isNaN(parseNumberText(t));
  if (f1.every(text)) return true;
  if (!f2) return false;
  return f1.some((t, i) => text(t) && i < f2.length && !text(f2[i]!));
}

/** The label column's index among `width` columns (a name needs `names`); BadInput when absent. */
export function labelIndex(
  labelColumn: string | number | undefined,
  names: readonly string[] | undefined,
  width: number,
): number {
  if (labelColumn === undefined) return width - 1;
  if (typeof labelColumn === 'number') {
    const i = labelColumn < 0 ? width + labelColumn : labelColumn;
    if (!Number.isInteger(i) || i < 0 || i >= width) {
      throw new BadInput(`label column ${labelColumn} is outside 0..${width - 1}`);
    }
    return i;
  }
  const i = names?.indexOf(labelColumn) ?? -1;
  if (i < 0) {
    throw new BadInput(`label column '${labelColumn}' not found`, { columns: names ?? [] });
  }
  return i;
}

function withoutLabel(
  names: readonly string[],
  labelColumn: string | number | undefined,
  width: number,
): string[] {
  const li = labelIndex(labelColumn, names, width);
  return names.filter((_, i) => i !== li);
}

/** The field at `p`, up to the delimiter, for an error message. */
function fieldText(buf: Buffer, p: number, end: number, delim: number): string {
  let q = p;
  while (q < end && buf[q] !== delim && q - p < 64) q++;
  return buf.toString('utf8', p, q).trim();
}

function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c !== SPACE && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** `NA` or `?` as a whole field. */
function isMissingToken(buf: Buffer, p: number, end: number, delim: number): boolean {
  const stop = (i: number): boolean => i >= end || buf[i] === delim || buf[i] === SPACE;
  if (buf[p] === 63) return stop(p + 1);
  return buf[p] === 78 && buf[p + 1] === 65 && stop(p + 2);
}

function checkedFloat(v: number, line: number, col: number): number {
  const f = Math.fround(v);
  if (!Number.isFinite(f) && !Number.isNaN(v))
    throw lineError(line, col, 'value out of float32 range');
  return f;
}
