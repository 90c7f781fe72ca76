/**
 * Class names in answers. A classifier whose generation records label names (the built-in
 * trainers record the dataset's) answers them beside its scores: KServe v2's `label` output
 * and TF Serving's `classes`, and Triton's classification extension (`score:index:label`
 * strings for the top k of a requested output) in the v2 protocol.
 */
import { BadInput } from '../../../shared/errors.js';
import type { HostTensor, TensorMap } from '../tensors/tensors.js';

/** The extra output (KServe v2) and prediction key (TF Serving) with each row's class name. */
export const LABEL_OUTPUT = 'label';
export const TF_CLASSES_KEY = 'classes';

/** Score outputs by preference: probabilities first, then logits (the same argmax). */
const SCORE_NAMES = ['probabilities', 'probs', 'logits', 'scores'];

/** A `[batch, classes]` float tensor: what class scores look like. */
function isScoreTensor(t: HostTensor, classes: number): boolean {
  return (
    (t.type === 'float32' || t.type === 'float64') &&
    t.dims.length === 2 &&
    t.dims[1] === classes &&
    classes > 0
  );
}

/**
 * The output that scores the classes, if the model has one: named like probabilities or
 * logits and shaped `[batch, labels.length]`.
 */
export function scoreOutput(outputs: TensorMap, labels: readonly string[]): string | undefined {
  return SCORE_NAMES.find((n) => {
    const t = outputs[n];
    return t !== undefined && isScoreTensor(t, labels.length);
  });
}

/**
 * Whether a model with these outputs answers class names: one of them is a score output of
 * `labels.length` classes (metadata's view of {@link scoreOutput}; -1 is a dynamic size).
 */
export function labelledBy(
  specs: readonly { name: string; type: string; shape: readonly number[] }[],
  labels: readonly string[],
): boolean {
  return (
    !specs.some((s) => s.name === LABEL_OUTPUT) &&
    specs.some(
      (s) =>
        SCORE_NAMES.includes(s.name) &&
        (s.type === 'float32' || s.type === 'float64') &&
        s.shape.length === 2 &&
        (s.shape[1] === labels.length || s.shape[1] === -1),
    )
  );
}

/** The best class of each row of `scores` (`[batch, classes]`), by name. */
export function rowLabels(scores: HostTensor, labels: readonly string[]): string[] {
  const [rows = 0, classes = 0] = scores.dims;
  const data = scores.data as Float32Array;
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      // NaN never wins: a row of NaN scores names class 0, as argmax conventions do.
      if (data[r * classes + c]! > data[r * classes + best]!) best = c;
    }
    out.push(labels[best] ?? String(best));
  }
  return out;
}

/** A string tensor: KServe v2's BYTES, flat in row-major order. */
export interface StringTensor {
  dims: number[];
  data: string[];
}

/**
 * Triton's classification extension on one output: the top `k` classes of each row as
 * `"<score>:<index>[:<label>]"`, best first, shape `[batch, k]` (a 1-D output is one row).
 * `k` beyond the class count is cut to it.
 */
export function classify(
  t: HostTensor,
  k: number,
  labels: readonly string[] | undefined,
  output: string,
): StringTensor {
  if (t.type === 'bool' || typeof t.data[0] === 'bigint') {
    throw new BadInput(`output "${output}": classification needs a numeric (not 64-bit) output`);
  }
  const batched = t.dims.length >= 2;
  const rows = batched ? t.dims[0]! : 1;
  const width = rows === 0 ? 0 : t.data.length / rows;
  const take = Math.min(k, width);
  const data = t.data as Float32Array;
  // A float32 score printed as a double shows noise digits (0.9800000190734863).
  const fmt = t.type === 'float32' ? (v: number) => String(Number(v.toPrecision(7))) : String;
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const at = (i: number) => data[r * width + i]!;
    // Highest first, NaN last, ties in index order.
    const order = (a: number, b: number) => {
      const x = at(a);
      const y = at(b);
      if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1;
      return x < y ? 1 : x > y ? -1 : a - b;
    };
    const idx = Array.from({ length: width }, (_, i) => i).sort(order);
    for (const i of idx.slice(0, take)) {
      const label = labels?.[i];
      out.push(`${fmt(at(i))}:${i}${label === undefined ? '' : `:${label}`}`);
    }
  }
  return { dims: batched ? [rows, take] : [take], data: out };
}

/** Triton's `classification` parameter: a positive whole number of classes to answer. */
export function classificationCount(value: unknown, output: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new BadInput(
      `output "${output}": parameters.classification must be a whole number of classes (1 or more)`,
    );
  }
  return value;
}

/** BYTES elements as the binary tensor extension carries them: a 4-byte LE length, then the bytes. */
export function stringsToBytes(values: readonly string[]): Uint8Array {
  const parts = values.map((v) => Buffer.from(v, 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}
