import type { TrainerParams } from '../../shared/index.js';

/** Raw feature rows: Float32 for tabular data, bytes for image pixels. */
export type FeatureArray = Float32Array | Uint8Array;

/**
 * Per-feature affine scaling y = (x − offset) · scale, fitted on training rows. The same two
 * vectors become the Sub and Mul nodes at the head of the exported ONNX graph, so serving
 * takes raw features.
 */
export interface Normalization {
  method: 'standard' | 'minmax' | 'pixels';
  offset: Float32Array;
  scale: Float32Array;
}

export type InputKind = 'tabular' | 'image';

/** Features with no spread keep scale 1 instead of dividing by zero. */
const TINY = 1e-12;

/** Fits the scaling that `params.normalize` asks for; null means raw features. */
export function fitNormalization(
  method: TrainerParams['normalize'],
  kind: InputKind,
  x: FeatureArray,
  rows: number,
  dim: number,
): Normalization | null {
  const resolved = method === 'auto' ? (kind === 'image' ? 'pixels' : 'standard') : method;
  if (resolved === 'none') return null;
  const offset = new Float32Array(dim);
  const scale = new Float32Array(dim);
  if (resolved === 'pixels') {
    scale.fill(1 / 255);
    return { method: resolved, offset, scale };
  }
  if (resolved === 'standard') {
    // Two passes in float64: one-pass variance loses digits on large-valued features.
    const mean = new Float64Array(dim);
    for (let i = 0; i < rows; i++) for (let j = 0; j < dim; j++) mean[j]! += x[i * dim + j]!;
    for (let j = 0; j < dim; j++) mean[j]! /= Math.max(1, rows);
    const sq = new Float64Array(dim);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < dim; j++) {
        const d = x[i * dim + j]! - mean[j]!;
        sq[j]! += d * d;
      }
    }
    for (let j = 0; j < dim; j++) {
      const std = Math.sqrt(sq[j]! / Math.max(1, rows));
      offset[j] = mean[j]!;
      scale[j] = std > TINY ? 1 / std : 1;
    }
    return { method: resolved, offset, scale };
  }
  const min = new Float64Array(dim).fill(Infinity);
  const max = new Float64Array(dim).fill(-Infinity);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < dim; j++) {
      const v = x[i * dim + j]!;
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  }
  for (let j = 0; j < dim; j++) {
    const range = max[j]! - min[j]!;
    offset[j] = rows > 0 ? min[j]! : 0;
    scale[j] = range > TINY ? 1 / range : 1;
  }
  return { method: resolved, offset, scale };
}

/**
 * Copies rows `index[from..from+count)` of x into `out` (count×dim), normalized. Gathering and
 * scaling in one pass is how the training loop shuffles without a second copy of the data.
 */
export function gatherNormalized(
  x: FeatureArray,
  dim: number,
  index: Int32Array,
  from: number,
  count: number,
  norm: Normalization | null,
  out: Float32Array,
): void {
  for (let r = 0; r < count; r++) {
    const src = index[from + r]! * dim;
    const dst = r * dim;
    if (norm) {
      const { offset, scale } = norm;
      for (let j = 0; j < dim; j++) out[dst + j] = (x[src + j]! - offset[j]!) * scale[j]!;
    } else {
      for (let j = 0; j < dim; j++) out[dst + j] = x[src + j]!;
    }
  }
}

/** Normalizes a contiguous block of rows into `out`. */
export function normalizeRows(
  x: FeatureArray,
  dim: number,
  fromRow: number,
  count: number,
  norm: Normalization | null,
  out: Float32Array,
): void {
  const base = fromRow * dim;
  for (let r = 0; r < count; r++) {
    const src = base + r * dim;
    const dst = r * dim;
    if (norm) {
      const { offset, scale } = norm;
      for (let j = 0; j < dim; j++) out[dst + j] = (x[src + j]! - offset[j]!) * scale[j]!;
    } else {
      for (let j = 0; j < dim; j++) out[dst + j] = x[src + j]!;
    }
  }
}
