import type { TrainerParams } from '../../shared/index.js';

/**
 * Per-feature values that stand in for missing cells (NaN in stored rows), fitted on the
 * training rows only. The exported graph applies the same values with IsNaN + Where ahead of
 * the normalization, so serving fills a NaN input exactly as training did.
 */
export interface Imputation {
  strategy: TrainerParams['impute'];
  /** one value per feature */
  fill: Float32Array;
  /** missing cells in the training rows, all features together */
  missingCells: number;
}

/**
 * Fits the fill values: the median or mean of each feature's observed training values, or 0.
 * A feature with no observed value at all is filled with 0.
 */
export function fitImputation(
  strategy: TrainerParams['impute'],
  x: Float32Array,
  rows: number,
  dim: number,
): Imputation {
  const fill = new Float32Array(dim);
  let missingCells = 0;
  const column = new Float64Array(rows);
  for (let j = 0; j < dim; j++) {
    let n = 0;
    let sum = 0;
    for (let i = 0; i < rows; i++) {
      const v = x[i * dim + j]!;
      if (Number.isNaN(v)) continue;
      column[n++] = v;
      sum += v;
    }
    missingCells += rows - n;
    if (n === 0 || strategy === 'zero') continue;
    fill[j] = strategy === 'mean' ? sum / n : median(column, n);
  }
  return { strategy, fill, missingCells };
}

/**
 * The rows with every NaN replaced by its feature's fill value: `x` itself when nothing is
 * missing (the common case costs one scan, no copy), else a filled copy.
 */
export function imputeRows(x: Float32Array, dim: number, imp: Imputation): Float32Array {
  const first = x.findIndex((v) => Number.isNaN(v));
  if (first < 0) return x;
  const out = Float32Array.from(x);
  for (let k = first; k < out.length; k++) {
    if (Number.isNaN(out[k]!)) out[k] = imp.fill[k % dim]!;
  }
  return out;
}

/** How missing values are filled, as stored in the ONNX metadata and on the generation. */
export function imputationRecord(imp: Imputation): {
  strategy: Imputation['strategy'];
  fill: number[];
  missingCells: number;
} {
  return { strategy: imp.strategy, fill: Array.from(imp.fill), missingCells: imp.missingCells };
}

/** Median of a[0..n) (n ≥ 1) by selection; reorders those entries. */
function median(a: Float64Array, n: number): number {
  const k = (n - 1) >> 1;
  select(a, k, n);
  if (n % 2 === 1) return a[k]!;
  // Selection leaves everything above k no smaller than a[k]: the next value is their minimum.
  let next = Infinity;
  for (let i = k + 1; i < n; i++) if (a[i]! < next) next = a[i]!;
  return (a[k]! + next) / 2;
}

/** Moves the k-th smallest of a[0..n) to a[k] (Hoare's quickselect, middle pivot). */
function select(a: Float64Array, k: number, n: number): void {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}
