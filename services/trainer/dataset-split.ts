import { BadInput, rowWidth, type RowBatch } from '../../shared/index.js';
import type { FeatureArray, InputKind } from './normalization.js';
import { createRng, permutation } from './rng.js';

/** Rows of raw features with their class ids. */
export interface LabeledData {
  /** rows×dim, row-major. */
  x: FeatureArray;
  y: Int32Array;
  rows: number;
}

/** A RowBatch seen as a training matrix. Image pixels stay bytes (no Float32 copy). */
export interface TrainingMatrix {
  data: LabeledData;
  dim: number;
  kind: InputKind;
  /** 1 + the largest class id present. */
  classes: number;
}

/** Class ids from float labels; throws BadInput at the first label that is not one. */
export function toClassIds(labels: ArrayLike<number>): { y: Int32Array; classes: number } {
  const y = new Int32Array(labels.length);
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (!Number.isInteger(v) || v < 0) {
      throw new BadInput(`label of row ${i} is ${v}: classifiers need class ids 0, 1, 2, ...`, {
        row: i,
        label: v,
      });
    }
    y[i] = v;
    if (v > max) max = v;
  }
  return { y, classes: max + 1 };
}

export function fromRowBatch(batch: RowBatch): TrainingMatrix {
  const { y, classes } = toClassIds(batch.labels);
  const x = batch.kind === 'tabular' ? batch.features : batch.pixels;
  return {
    data: { x, y, rows: batch.rows },
    dim: rowWidth(batch),
    kind: batch.kind,
    classes,
  };
}

/** Offset so the split's random stream differs from initialisation's for the same seed. */
const SPLIT_STREAM = 0x9e3779b9;

/**
 * Holds out a random `fraction` of the rows (at least one row on each side when there are
 * two or more), drawn from `seed`.
 */
export function splitTrainValidation(
  data: LabeledData,
  dim: number,
  fraction: number,
  seed: number,
): { train: LabeledData; validation: LabeledData } {
  if (data.rows < 2) throw new BadInput('need at least 2 rows to hold out a validation set');
  const nVal = Math.min(data.rows - 1, Math.max(1, Math.round(data.rows * fraction)));
  const order = permutation(data.rows, createRng((seed + SPLIT_STREAM) >>> 0));
  const take = (from: number, count: number): LabeledData => {
    const x =
      data.x instanceof Uint8Array ? new Uint8Array(count * dim) : new Float32Array(count * dim);
    const y = new Int32Array(count);
    for (let r = 0; r < count; r++) {
      const src = order[from + r]!;
      x.set(data.x.subarray(src * dim, (src + 1) * dim), r * dim);
      y[r] = data.y[src]!;
    }
    return { x, y, rows: count };
  };
  return { validation: take(0, nVal), train: take(nVal, data.rows - nVal) };
}

/** Rows whose mask byte is 1 go to validation, the rest to training, order kept. */
export function splitByMask(
  data: LabeledData,
  dim: number,
  mask: Uint8Array,
): { train: LabeledData; validation: LabeledData } {
  let nVal = 0;
  for (let i = 0; i < data.rows; i++) nVal += mask[i] ?? 0;
  if (nVal === 0 || nVal === data.rows) {
    throw new BadInput(
      `the dataset's split leaves ${nVal === 0 ? 'no validation' : 'no training'} rows`,
    );
  }
  const make = (rows: number): LabeledData => ({
    x: data.x instanceof Uint8Array ? new Uint8Array(rows * dim) : new Float32Array(rows * dim),
    y: new Int32Array(rows),
    rows,
  });
  const train = make(data.rows - nVal);
  const validation = make(nVal);
  let t = 0;
  let v = 0;
  for (let i = 0; i < data.rows; i++) {
    const dst = mask[i] ? validation : train;
    const r = mask[i] ? v++ : t++;
    dst.x.set(data.x.subarray(i * dim, (i + 1) * dim), r * dim);
    dst.y[r] = data.y[i]!;
  }
  return { train, validation };
}
