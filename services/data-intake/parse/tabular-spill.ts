import type { TabularBatch } from '../../../shared/index.js';
import type { BlockSpill } from './spill.js';

const BLOCK_WORDS = 256 * 1024;
const DENSE = 0x80000000;
const HEADER_WORDS = 3;

/**
 * Encodes parsed rows into spill blocks of 32-bit words, one record per row:
 * `[nnz | DENSE flag, label value (f32), label text id (u32)]`, then either `nnz` dense
 * float32 values or `nnz` uint32 indices followed by `nnz` float32 values.
 */
export interface TabularRowWriter {
  addDense(labelValue: number, labelId: number, values: Float32Array, n: number): void;
  /** A dense record of `width` values, zero but at `indices` (each below `width`). */
  addScattered(
    labelValue: number,
    indices: Uint32Array,
    values: Float32Array,
    nnz: number,
    width: number,
  ): void;
  addSparse(
    labelValue: number,
    labelId: number,
    indices: Uint32Array,
    values: Float32Array,
    nnz: number,
  ): void;
  /** Hands the last partial block to the spill. */
  finish(): void;
  readonly rows: number;
}

export function createTabularRowWriter(spill: BlockSpill): TabularRowWriter {
  let words = BLOCK_WORDS;
  let u32: Uint32Array = new Uint32Array(words);
  let f32: Float32Array = new Float32Array(u32.buffer);
  let used = 0;
  let rows = 0;

  function reserve(n: number): void {
    if (used + n <= words) return;
    if (used > 0) spill.add(new Uint8Array(u32.buffer, 0, used * 4));
    words = Math.max(BLOCK_WORDS, n);
    const again = spill.reuse(words * 4);
    u32 = again ? new Uint32Array(again.buffer, again.byteOffset, words) : new Uint32Array(words);
    f32 = new Float32Array(u32.buffer, u32.byteOffset, words);
    used = 0;
  }

  function header(flagNnz: number, labelValue: number, labelId: number): void {
    u32[used] = flagNnz;
    f32[used + 1] = labelValue;
    u32[used + 2] = labelId;
    used += HEADER_WORDS;
  }

  return {
    get rows() {
      return rows;
    },
    addDense(labelValue, labelId, values, n) {
      reserve(HEADER_WORDS + n);
      header((n | DENSE) >>> 0, labelValue, labelId);
      f32.set(n === values.length ? values : values.subarray(0, n), used);
      used += n;
      rows++;
    },
    addScattered(labelValue, indices, values, nnz, width) {
      reserve(HEADER_WORDS + width);
      header((width | DENSE) >>> 0, labelValue, 0);
      f32.fill(0, used, used + width); // a reused block holds stale values
      for (let k = 0; k < nnz; k++) f32[used + indices[k]!] = values[k]!;
      used += width;
      rows++;
    },
    addSparse(labelValue, labelId, indices, values, nnz) {
      reserve(HEADER_WORDS + 2 * nnz);
      header(nnz, labelValue, labelId);
      u32.set(indices.subarray(0, nnz), used);
      f32.set(values.subarray(0, nnz), used + nnz);
      used += 2 * nnz;
      rows++;
    },
    finish() {
      if (used > 0) spill.add(new Uint8Array(u32.buffer, 0, used * 4));
      used = 0;
      words = 0;
    },
  };
}

export interface DenseEmitOptions {
  dim: number;
  /**
   * Subtracted from sparse indices (1 for 1-based libsvm files); dense records skip as many
   * leading values.
   */
  indexBase: number;
  rowsPerBatch: number;
  mapLabel: (value: number, textId: number) => number;
}

/** Second pass: reads the records back and emits dense batches of the final width. */
export async function* emitDenseBatches(
  spill: BlockSpill,
  opts: DenseEmitOptions,
): AsyncGenerator<TabularBatch> {
  const { dim, indexBase, rowsPerBatch, mapLabel } = opts;
  let features = new Float32Array(rowsPerBatch * dim);
  let labels = new Float32Array(rowsPerBatch);
  let r = 0;
  for await (const block of spill.read()) {
    const u32 = new Uint32Array(block.buffer, block.byteOffset, block.byteLength >>> 2);
    const f32 = new Float32Array(block.buffer, block.byteOffset, block.byteLength >>> 2);
    let p = 0;
    while (p < u32.length) {
      const head = u32[p]!;
      const nnz = head & ~DENSE;
      labels[r] = mapLabel(f32[p + 1]!, u32[p + 2]!);
      p += HEADER_WORDS;
      const rowOff = r * dim;
      if (head & DENSE) {
        if (nnz > indexBase) features.set(f32.subarray(p + indexBase, p + nnz), rowOff);
        p += nnz;
      } else {
        for (let k = 0; k < nnz; k++)
          features[rowOff + u32[p + k]! - indexBase] = f32[p + nnz + k]!;
        p += 2 * nnz;
      }
      if (++r === rowsPerBatch) {
        yield { kind: 'tabular', rows: r, dim, features, labels };
        features = new Float32Array(rowsPerBatch * dim);
        labels = new Float32Array(rowsPerBatch);
        r = 0;
      }
    }
  }
  if (r > 0) {
    yield {
      kind: 'tabular',
      rows: r,
      dim,
      features: features.slice(0, r * dim),
      labels: labels.slice(0, r),
    };
  }
}

/** Rows per batch: `batchRows`, lowered so one batch stays near `batchBytes`. */
export function rowsPerBatch(rowBytes: number, batchRows: number, batchBytes: number): number {
  return Math.max(1, Math.min(batchRows, Math.floor(batchBytes / Math.max(1, rowBytes))));
}
