import type { RowBatch } from './rows.js';

/**
 * Per-column moments; arrays are indexed by feature (tabular) or channel (images).
 * `std` is the population standard deviation. Values are null where a column has no
 * non-missing value (JSON has no NaN).
 */
export interface ColumnStats {
  count: number[];
  missing: number[];
  mean: (number | null)[];
  std: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
}

export type LabelStats =
  | { kind: 'class'; histogram: number[] }
  | {
      kind: 'regression';
      count: number;
      mean: number | null;
      std: number | null;
      min: number | null;
      max: number | null;
    };

/** Statistics of one dataset version; plain JSON. */
export interface DatasetStats {
  rows: number;
  /** Tabular datasets: one entry per feature. */
  features?: ColumnStats;
  /** Image datasets: one entry per channel over every pixel (0..255), not per pixel. */
  channels?: ColumnStats;
  labels: LabelStats;
}

export interface StatsAccumulator {
  add(batch: RowBatch): void;
  result(): DatasetStats;
}

/** Running moments of several columns, merged batch by batch (Chan et al.'s pairwise update). */
interface Moments {
  n: Float64Array;
  mean: Float64Array;
  m2: Float64Array;
  min: Float64Array;
  max: Float64Array;
  missing: Float64Array;
}

function moments(k: number): Moments {
  return {
    n: new Float64Array(k),
    mean: new Float64Array(k),
    m2: new Float64Array(k),
    min: new Float64Array(k).fill(Infinity),
    max: new Float64Array(k).fill(-Infinity),
    missing: new Float64Array(k),
  };
}

/** Folds one batch's per-column count, mean and sum of squared deviations into `m`. */
function merge(m: Moments, c: number, bn: number, bmean: number, bm2: number): void {
  if (bn === 0) return;
  const n = m.n[c]!;
  const total = n + bn;
  const delta = bmean - m.mean[c]!;
  m.mean[c] = m.mean[c]! + (delta * bn) / total;
  m.m2[c] = m.m2[c]! + bm2 + (delta * delta * n * bn) / total;
  m.n[c] = total;
}

/**
 * Two passes per column of a row-major block: the exact batch mean, then deviations from it.
 * Column by column keeps every running value in a register; the sums add the rows in order,
 * so results do not depend on the loop order.
 */
function addColumns(m: Moments, values: Float32Array, rows: number, width: number): void {
  const { min, max, missing } = m;
  const end = rows * width;
  for (let c = 0; c < width; c++) {
    // Most columns have no missing value: sum without checking, and a NaN sum tells.
    let sum = 0;
    let lo = min[c]!;
    let hi = max[c]!;
    for (let o = c; o < end; o += width) {
      const x = values[o]!;
      sum += x;
      if (x < lo) lo = x; // false for NaN, as wanted
      if (x > hi) hi = x;
    }
    min[c] = lo;
    max[c] = hi;
    let cnt = rows;
    if (sum !== sum) {
      sum = 0;
      cnt = 0;
      for (let o = c; o < end; o += width) {
        const x = values[o]!;
        if (x === x) {
          cnt++;
          sum += x;
        }
      }
      missing[c] = missing[c]! + (rows - cnt);
    }
    const mean = cnt > 0 ? sum / cnt : 0;
    let m2 = 0;
    if (cnt === rows) {
      for (let o = c; o < end; o += width) {
        const d = values[o]! - mean;
        m2 += d * d;
      }
    } else {
      for (let o = c; o < end; o += width) {
        const x = values[o]!;
        if (x === x) {
          const d = x - mean;
          m2 += d * d;
        }
      }
    }
    merge(m, c, cnt, mean, m2);
  }
}

/** Per-channel moments of HWC bytes with exact integer sums (no NaN in pixels). */
function addPixels(m: Moments, px: Uint8Array, channels: number): void {
  const n = px.length / channels;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let sq = 0;
    let lo = 255;
    let hi = 0;
    for (let i = c; i < px.length; i += channels) {
      const x = px[i]!;
      sum += x;
      sq += x * x;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    if (n === 0) continue;
    const mean = sum / n;
    merge(m, c, n, mean, Math.max(0, sq - sum * mean));
    if (lo < m.min[c]!) m.min[c] = lo;
    if (hi > m.max[c]!) m.max[c] = hi;
  }
}

function columnStats(m: Moments): ColumnStats {
  const k = m.n.length;
  const out: ColumnStats = { count: [], missing: [], mean: [], std: [], min: [], max: [] };
  for (let c = 0; c < k; c++) {
    const n = m.n[c]!;
    out.count.push(n);
    out.missing.push(m.missing[c]!);
    out.mean.push(n > 0 ? m.mean[c]! : null);
    out.std.push(n > 0 ? Math.sqrt(m.m2[c]! / n) : null);
    out.min.push(n > 0 ? m.min[c]! : null);
    out.max.push(n > 0 ? m.max[c]! : null);
  }
  return out;
}

/**
 * One-pass statistics over the batches of a dataset version, cheap enough to run while
 * the batches are stored. `labelKind` decides between a class histogram and label moments.
 */
export function createStatsAccumulator(labelKind: 'class' | 'regression'): StatsAccumulator {
  let cols: Moments | null = null;
  let kind: RowBatch['kind'] | null = null;
  let rows = 0;
  let histogram = new Float64Array(0);
  const label = moments(1);
  return {
    add(b) {
      if (b.rows === 0) return;
      const width = b.kind === 'tabular' ? b.dim : b.channels;
      kind ??= b.kind;
      cols ??= moments(width);
      if (b.kind !== kind || width !== cols.n.length) {
        throw new Error(`batch shape changed: ${b.kind} x${width} after ${kind} x${cols.n.length}`);
      }
      if (b.kind === 'tabular') addColumns(cols, b.features, b.rows, b.dim);
      else
        addPixels(cols, b.pixels.subarray(0, b.rows * b.height * b.width * b.channels), b.channels);
      if (labelKind === 'regression') addColumns(label, b.labels, b.rows, 1);
      else {
        for (let i = 0; i < b.rows; i++) {
          const id = b.labels[i]!;
          if (id >= histogram.length) {
            const grown = new Float64Array(id + 1);
            grown.set(histogram);
            histogram = grown;
          }
          histogram[id]!++;
        }
      }
      rows += b.rows;
    },
    result() {
      const labels: LabelStats =
        labelKind === 'class'
          ? { kind: 'class', histogram: Array.from(histogram) }
          : (() => {
              const s = columnStats(label);
              return {
                kind: 'regression' as const,
                count: s.count[0]!,
                mean: s.mean[0]!,
                std: s.std[0]!,
                min: s.min[0]!,
                max: s.max[0]!,
              };
            })();
      const c = cols ? columnStats(cols) : undefined;
      return {
        rows,
        ...(c && kind === 'tabular' ? { features: c } : {}),
        ...(c && kind === 'image' ? { channels: c } : {}),
        labels,
      };
    },
  };
}
