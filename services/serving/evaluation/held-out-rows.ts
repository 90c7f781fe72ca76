/**
 * The rows a candidate is judged on: the held-out (validation) side of its dataset version's
 * recorded split, and the training side's labels for the trivial baseline.
 */
import {
  concatBatches,
  validationMask,
  type DatasetStore,
  type DatasetVersionMeta,
  type EvaluationRows,
  type RowBatch,
} from '../../../shared/index.js';

/**
 * The split used when a version records none: the same one the rows endpoint
 * (`?split=validation`) and appends assume, so an external trainer reading rows over HTTP
 * held out the rows the platform scores.
 */
export const DEFAULT_SPLIT = { seed: 42, validationFraction: 0.2 } as const;

export interface HeldOutRows {
  meta: DatasetVersionMeta;
  /** the validation rows, at most `maxRows` */
  rows: RowBatch;
  trainLabels: Float32Array;
  info: EvaluationRows;
}

/** Reads a version shard by shard and keeps its held-out rows (the first `maxRows` of them). */
export async function readHeldOutRows(
  datasets: Pick<DatasetStore, 'getVersion' | 'readShards'>,
  dataset: string,
  version: number,
  maxRows: number,
): Promise<HeldOutRows> {
  const meta = await datasets.getVersion(dataset, version);
  const split = meta.split ?? DEFAULT_SPLIT;
  const kept: RowBatch[] = [];
  const train: Float32Array[] = [];
  let at = 0;
  let have = 0;
  let available = 0;
  for await (const b of datasets.readShards(dataset, version)) {
    const mask = validationMask(split.seed, split.validationFraction, at, b.rows);
    at += b.rows;
    const val: number[] = [];
    const tr: number[] = [];
    for (let i = 0; i < b.rows; i++) (mask[i] ? val : tr).push(i);
    available += val.length;
    train.push(Float32Array.from(tr, (i) => b.labels[i]!));
    const take = val.slice(0, Math.max(0, maxRows - have));
    if (take.length > 0) {
      kept.push(pick(b, take));
      have += take.length;
    }
  }
  const trainLabels = new Float32Array(train.reduce((n, t) => n + t.length, 0));
  let o = 0;
  for (const t of train) {
    trainLabels.set(t, o);
    o += t.length;
  }
  const rows = kept.length ? concatBatches(kept) : emptyLike(meta);
  return {
    meta,
    rows,
    trainLabels,
    info: {
      dataset,
      version,
      split: meta.split ? 'recorded' : 'default',
      seed: split.seed,
      validationFraction: split.validationFraction,
      count: rows.rows,
      available,
      trainCount: trainLabels.length,
    },
  };
}

/** Rows `idx` of a batch, in order. */
function pick(b: RowBatch, idx: number[]): RowBatch {
  const labels = Float32Array.from(idx, (i) => b.labels[i]!);
  if (b.kind === 'tabular') {
    const f = new Float32Array(idx.length * b.dim);
    idx.forEach((i, j) => f.set(b.features.subarray(i * b.dim, (i + 1) * b.dim), j * b.dim));
    return { ...b, rows: idx.length, features: f, labels };
  }
  const w = b.height * b.width * b.channels;
  const px = new Uint8Array(idx.length * w);
  idx.forEach((i, j) => px.set(b.pixels.subarray(i * w, (i + 1) * w), j * w));
  return { ...b, rows: idx.length, pixels: px, labels };
}

function emptyLike(meta: DatasetVersionMeta): RowBatch {
  if (meta.kind === 'image' && meta.imageShape) {
    return {
      kind: 'image',
      rows: 0,
      ...meta.imageShape,
      pixels: new Uint8Array(0),
      labels: new Float32Array(0),
    };
  }
  return {
    kind: 'tabular',
    rows: 0,
    dim: meta.features ?? 0,
    features: new Float32Array(0),
    labels: new Float32Array(0),
  };
}
