import type { Redis } from 'ioredis';
import { AppError, BadInput } from '../errors.js';
import { rowWidth, type RowBatch } from '../datasets/rows.js';
import type { Keys } from './keys.js';
import type { DatasetVersionMeta } from './dataset-meta.js';
import { decodeShard } from './shard-codec.js';

export interface ReadRange {
  /** first shard index in the version's shard list @defaultValue 0 */
  from?: number;
  /** one past the last shard index @defaultValue all */
  to?: number;
}

/**
 * Streams a version's shards in order, keeping `readAhead` GETs in flight so decoding and
 * the consumer overlap with the network.
 */
export async function* readShards(
  redis: Redis,
  keys: Keys,
  meta: DatasetVersionMeta,
  range: ReadRange = {},
  readAhead = 3,
): AsyncGenerator<RowBatch> {
  const from = Math.max(0, range.from ?? 0);
  const to = Math.min(meta.shards.length, range.to ?? meta.shards.length);
  const inFlight: Array<Promise<Buffer | null>> = [];
  let next = from;
  const fetch = () => {
    const s = meta.shards[next++]!;
    const p = redis.getBuffer(keys.datasetShard(s.dataset, s.version, s.index));
    // Rejections are observed when awaited below; this stops an early `return` from the
    // consumer leaving them unhandled.
    p.catch(() => {});
    inFlight.push(p);
  };
  while (next < to && inFlight.length < readAhead) fetch();
  for (let i = from; i < to; i++) {
    const buf = await inFlight.shift()!;
    if (next < to) fetch();
    if (!buf) {
      const s = meta.shards[i]!;
      throw new AppError('INTERNAL', `shard ${s.dataset}@v${s.version}#${s.index} is missing`);
    }
    yield decodeShard(buf);
  }
}

/** Rows [start, start+count) of a version as one batch (clamped at the end). */
export async function readRows(
  redis: Redis,
  keys: Keys,
  meta: DatasetVersionMeta,
  start: number,
  count: number,
): Promise<RowBatch> {
  if (!Number.isInteger(start) || start < 0 || start > meta.count) {
    throw new BadInput(`start ${start} is outside 0..${meta.count}`);
  }
  if (!Number.isInteger(count) || count < 0) throw new BadInput(`bad count ${count}`);
  const end = Math.min(meta.count, start + count);
  let first = -1;
  let last = -1;
  let firstRow = 0;
  let row = 0;
  meta.shards.forEach((s, i) => {
    if (row + s.rows > start && row < end) {
      if (first < 0) {
        first = i;
        firstRow = row;
      }
      last = i;
    }
    row += s.rows;
  });
  if (first < 0) return emptyBatch(meta);
  const parts: RowBatch[] = [];
  for await (const b of readShards(redis, keys, meta, { from: first, to: last + 1 })) parts.push(b);
  return sliceBatch(concatBatches(parts), start - firstRow, end - start);
}

/** Rows [from, from+n) of a batch; views, not copies. */
export function sliceBatch(b: RowBatch, from: number, n: number): RowBatch {
  const w = rowWidth(b);
  const labels = b.labels.subarray(from, from + n);
  if (b.kind === 'tabular') {
    return { ...b, rows: n, features: b.features.subarray(from * w, (from + n) * w), labels };
  }
  return { ...b, rows: n, pixels: b.pixels.subarray(from * w, (from + n) * w), labels };
}

/** Joins batches of one shape; a single batch is returned as is. */
export function concatBatches(parts: RowBatch[]): RowBatch {
  const head = parts[0];
  if (!head) throw new Error('concatBatches needs at least one batch');
  if (parts.length === 1) return head;
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const labels = new Float32Array(rows);
  let r = 0;
  for (const p of parts) {
    labels.set(p.labels, r);
    r += p.rows;
  }
  const w = rowWidth(head);
  if (head.kind === 'tabular') {
    const features = new Float32Array(rows * w);
    let o = 0;
    for (const p of parts as Array<typeof head>) {
      features.set(p.features, o);
      o += p.features.length;
    }
    return { ...head, rows, features, labels };
  }
  const pixels = new Uint8Array(rows * w);
  let o = 0;
  for (const p of parts as Array<typeof head>) {
    pixels.set(p.pixels, o);
    o += p.pixels.length;
  }
  return { ...head, rows, pixels, labels };
}

/** A zero-row batch with a version's shape (reads past the end; dimension checks of appends). */
export function emptyBatch(m: DatasetVersionMeta): RowBatch {
  const labels = new Float32Array(0);
  if (m.kind === 'tabular') {
    return {
      kind: 'tabular',
      rows: 0,
      dim: m.features ?? 0,
      features: new Float32Array(0),
      labels,
    };
  }
  const s = m.imageShape ?? { height: 0, width: 0, channels: 0 };
  return { kind: 'image', rows: 0, ...s, pixels: new Uint8Array(0), labels };
}
