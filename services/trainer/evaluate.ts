import { imputeRows } from './imputation.js';
import { DenseNetwork } from './mlp.js';
import type { LabeledData } from './dataset-split.js';
import { normalizeRows, type FeatureArray, type Normalization } from './normalization.js';
import { argmaxRows, crossEntropySum } from './tensor-ops.js';
import type { Trainable } from './trainable.js';
import type { TrainedModel } from './trained-model.js';

export interface EvalResult {
  /** Mean cross-entropy (nats). */
  loss: number;
  /** Share of rows whose most probable class is the label, in [0, 1]. */
  accuracy: number;
}

/** Rows whose argmax matches the label. */
export function countCorrect(
  probs: Float32Array,
  y: Int32Array,
  rows: number,
  classes: number,
  labelOffset = 0,
): number {
  const pred = argmaxRows(probs, rows, classes);
  let correct = 0;
  for (let i = 0; i < rows; i++) if (pred[i] === y[labelOffset + i]) correct++;
  return correct;
}

/** Rows per forward pass when scoring a whole set; bounds the work buffers. */
const EVAL_CHUNK = 1024;

/** Loss and accuracy of `net` on raw rows, normalized with `norm` chunk by chunk. */
export function evaluate(
  net: Trainable,
  data: LabeledData,
  norm: Normalization | null,
): EvalResult {
  const dim = net.dims[0]!;
  const classes = net.dims[net.dims.length - 1]!;
  if (data.rows === 0) return { loss: NaN, accuracy: NaN };
  const buf = new Float32Array(Math.min(EVAL_CHUNK, data.rows) * dim);
  let loss = 0;
  let correct = 0;
  for (let from = 0; from < data.rows; from += EVAL_CHUNK) {
    const n = Math.min(EVAL_CHUNK, data.rows - from);
    normalizeRows(data.x, dim, from, n, norm, buf);
    const probs = net.forward(buf, n);
    loss += crossEntropySum(probs, data.y, n, classes, from);
    correct += countCorrect(probs, data.y, n, classes, from);
  }
  return { loss: loss / data.rows, accuracy: correct / data.rows };
}

/**
 * Class probabilities (rows×classes) of a trained model for raw feature rows, missing values
 * (NaN) filled as in training.
 */
export function predictProbabilities(
  model: TrainedModel,
  raw: FeatureArray,
  rows: number,
): Float32Array {
  const x =
    model.imputation && raw instanceof Float32Array
      ? imputeRows(raw, model.dim, model.imputation)
      : raw;
  const net = new DenseNetwork([...model.layers]);
  const out = new Float32Array(rows * model.classes);
  const buf = new Float32Array(Math.min(EVAL_CHUNK, Math.max(1, rows)) * model.dim);
  for (let from = 0; from < rows; from += EVAL_CHUNK) {
    const n = Math.min(EVAL_CHUNK, rows - from);
    normalizeRows(x, model.dim, from, n, model.normalization, buf);
    out.set(net.forward(buf, n), from * model.classes);
  }
  return out;
}
