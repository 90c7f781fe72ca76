/**
 * What one answer said, reduced to a number per row, so answers of two generations can be
 * compared (shadows) and joined to ground truth later (prediction records): the argmax
 * class of a classifier, the first value of a regressor.
 */
import type { HostTensor, TensorMap } from '../tensors/tensors.js';

export interface OutputSummary {
  kind: 'class' | 'value';
  /** one per row */
  rows: number[];
}

/** The output read, by preference: scores (argmax), then `predictions`, then the first. */
const SCORE_NAMES = ['probabilities', 'probs', 'logits', 'scores'];
const INTEGER = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']);

export function summarize(outputs: TensorMap): OutputSummary | null {
  for (const name of SCORE_NAMES) {
    const t = outputs[name];
    if (t && t.dims.length === 2 && (t.dims[1] ?? 0) > 1) return { kind: 'class', rows: argmax(t) };
  }
  const t = outputs.predictions ?? outputs.label ?? Object.values(outputs)[0];
  if (!t || t.data.length === 0) return null;
  const width = t.dims.length >= 2 ? t.data.length / Math.max(1, t.dims[0] ?? 1) : 1;
  if (width > 1 && !INTEGER.has(t.type)) return { kind: 'class', rows: argmax(t) };
  const rows: number[] = [];
  const n = t.dims.length === 0 ? 1 : (t.dims[0] ?? 1);
  for (let r = 0; r < n; r++) rows.push(Number(t.data[r * width]));
  return { kind: INTEGER.has(t.type) ? 'class' : 'value', rows };
}

function argmax(t: HostTensor): number[] {
  const rows = t.dims[0] ?? 0;
  const width = t.data.length / Math.max(1, rows);
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    // NaN never wins, as in rowLabels
    for (let c = 1; c < width; c++) {
      if (Number(t.data[r * width + c]) > Number(t.data[r * width + best])) best = c;
    }
    out.push(best);
  }
  return out;
}

/** Relative tolerance within which two regression answers agree. */
export const VALUE_TOLERANCE = 1e-6;

/** Whether two answers to the same request agree on every row. */
export function agree(a: OutputSummary, b: OutputSummary): boolean {
  if (a.kind !== b.kind || a.rows.length !== b.rows.length) return false;
  for (let i = 0; i < a.rows.length; i++) {
    const x = a.rows[i]!;
    const y = b.rows[i]!;
    if (a.kind === 'class' ? x !== y : !closeEnough(x, y)) return false;
  }
  return true;
}

function closeEnough(x: number, y: number): boolean {
  return Math.abs(x - y) <= VALUE_TOLERANCE * Math.max(Math.abs(x), Math.abs(y), 1e-12);
}
