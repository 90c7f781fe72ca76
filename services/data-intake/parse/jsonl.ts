import { lineError } from './bad-input.js';
import { createLabelCollector } from './labels.js';
import { parseNumberText } from './numbers.js';
import { createBlockSpill } from './spill.js';
import { spillLines, tabularResult } from './tabular-result.js';
import { createTabularRowWriter } from './tabular-spill.js';
import type { ParseContext, ParsedDataset } from './types.js';

/** How rows are written, fixed by the first row. */
type Shape =
  | { kind: 'array'; width: number; labelCol: number }
  | { kind: 'vector'; key: string; labelKey: string; width: number }
  | { kind: 'object'; names: string[]; labelKey: string };

const LABEL_KEYS = ['label', 'y', 'target'];
const VECTOR_KEYS = ['features', 'x'];

/**
 * JSON lines, one sample per line, in one of three shapes (fixed by the first row):
 * `[f1, ..., label]`, `{"features": [...], "label": v}` (also `x`/`y`), or a flat object
 * `{"a": 1, "b": 2, "label": "cat"}` whose keys, minus the label, name the features.
 * `null` or an absent key is a missing value (NaN).
 */
export async function parseJsonl(
  source: AsyncIterable<Buffer>,
  ctx: ParseContext,
): Promise<ParsedDataset> {
  const o = ctx.opts;
  const spill = createBlockSpill({ dir: ctx.tmpDir, memoryLimitBytes: o.memoryLimitBytes });
  const writer = createTabularRowWriter(spill);
  const labels = createLabelCollector({ kind: o.labelKind });
  let shape: Shape | null = null;
  let values = new Float32Array(0);

  const feature = (v: unknown, line: number, what: string): number => {
    if (v === null || v === undefined) return NaN;
    if (typeof v !== 'number') throw lineError(line, 1, `expected a number for ${what}`);
    const f = Math.fround(v);
    if (!Number.isFinite(f)) throw lineError(line, 1, `value out of float32 range for ${what}`);
    return f;
  };

  const label = (v: unknown, line: number): void => {
    if (v === null || v === undefined || v === '') throw lineError(line, 1, 'label missing');
    let text: string;
    let value: number;
    if (typeof v === 'number') [text, value] = [String(v), v];
    else if (typeof v === 'string') [text, value] = [v, parseNumberText(v)];
    else if (typeof v === 'boolean') [text, value] = [String(v), NaN];
    else throw lineError(line, 1, 'label must be a number, string or boolean');
    if (o.labelKind === 'regression' && Number.isNaN(value)) {
      throw lineError(line, 1, 'regression label must be a number');
    }
    const id = labels.add(text, value);
    if (id < 0) throw lineError(line, 1, 'too many distinct text labels');
    writer.addDense(value, id, values, values.length);
  };

  const onLine = (buf: Buffer, start: number, end: number, line: number): void => {
    const text = buf.toString('utf8', start, end).trim();
    if (text === '') return;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (err) {
      const at = /position (\d+)/.exec(String(err))?.[1];
      throw lineError(line, at === undefined ? 1 : Number(at) + 1, 'invalid JSON');
    }
    shape ??= shapeOf(row, line, o.labelColumn);
    values = values.length === width(shape) ? values : new Float32Array(width(shape));
    if (shape.kind === 'array') {
      if (!Array.isArray(row) || row.length !== shape.width) {
        throw lineError(line, 1, `expected an array of ${shape.width} values`);
      }
      let k = 0;
      for (let c = 0; c < shape.width; c++) {
        if (c !== shape.labelCol) values[k++] = feature(row[c], line, `column ${c}`);
      }
      label(row[shape.labelCol], line);
      return;
    }
    if (!isObject(row)) throw lineError(line, 1, 'expected a JSON object');
    if (shape.kind === 'vector') {
      const vec = row[shape.key];
      if (!Array.isArray(vec) || vec.length !== shape.width) {
        throw lineError(
          line,
          1,
          `expected "${shape.key}" to be an array of ${shape.width} numbers`,
        );
      }
      for (let c = 0; c < shape.width; c++) values[c] = feature(vec[c], line, `${shape.key}[${c}]`);
      label(row[shape.labelKey], line);
      return;
    }
    const { names, labelKey } = shape;
    for (const key of Object.keys(row)) {
      if (key !== labelKey && !names.includes(key))
        throw lineError(line, 1, `unknown feature "${key}"`);
    }
    for (let c = 0; c < names.length; c++) values[c] = feature(row[names[c]!], line, names[c]!);
    label(row[labelKey], line);
  };

  try {
    await spillLines(source, onLine, spill);
    const s = shape as Shape | null;
    return tabularResult({
      ctx,
      format: 'jsonl',
      spill,
      writer,
      labels,
      dim: s ? width(s) : 0,
      ...(s?.kind === 'object' ? { featureNames: s.names } : {}),
    });
  } catch (err) {
    await spill.close();
    throw err;
  }
}

function shapeOf(row: unknown, line: number, labelColumn: string | number | undefined): Shape {
  if (Array.isArray(row)) {
    const w = row.length;
    const i =
      typeof labelColumn === 'number' ? (labelColumn < 0 ? w + labelColumn : labelColumn) : w - 1;
    if (w < 2 || i < 0 || i >= w)
      throw lineError(line, 1, 'an array row needs features and a label');
    return { kind: 'array', width: w, labelCol: i };
  }
  if (!isObject(row)) throw lineError(line, 1, 'expected a JSON object or array');
  const labelKey = typeof labelColumn === 'string' ? labelColumn : LABEL_KEYS.find((k) => k in row);
  if (labelKey === undefined || !(labelKey in row)) throw lineError(line, 1, 'label missing');
  const key = VECTOR_KEYS.find((k) => Array.isArray(row[k]));
  if (key !== undefined) {
    return { kind: 'vector', key, labelKey, width: (row[key] as unknown[]).length };
  }
  return { kind: 'object', names: Object.keys(row).filter((k) => k !== labelKey), labelKey };
}

function width(s: Shape): number {
  if (s.kind === 'array') return s.width - 1;
  if (s.kind === 'vector') return s.width;
  return s.names.length;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
