import type { Response } from 'express';
import { z } from 'zod';
import {
  BadInput,
  SHARD_HEADER_BYTES,
  type DatasetStore,
  type DatasetVersionMeta,
  type RowBatch,
} from '../../../shared/index.js';
import { validationMask } from '../../../shared/index.js';

/** Rows per JSON answer: JSON is for looking, binary for training. */
export const MAX_JSON_ROWS = 1000;
/** Bytes per binary answer; page through larger versions with `start`. */
export const MAX_BINARY_BYTES = 256 * 1024 * 1024;

export const RowsQuery = z.object({
  start: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('first row of the range, over the whole version'),
  count: z.coerce
    .number()
    .int()
    .min(0)
    .default(1000)
    .describe(
      `rows in the range, clamped at the end of the version (json: at most ${MAX_JSON_ROWS})`,
    ),
  split: z
    .enum(['all', 'train', 'validation'])
    .default('all')
    .describe("keep only the range's rows of this side of the version's split"),
  format: z
    .enum(['binary', 'json'])
    .default('binary')
    .describe('binary: the shard layout of docs/datasets.md; json: one array per row'),
});
export type RowsQuery = z.infer<typeof RowsQuery>;

const MAGIC = 0x31535753; // "SWS1", as in shard-codec.ts: the answer is laid out like a shard
const pad4 = (n: number) => (n + 3) & ~3;

interface Plan {
  start: number;
  end: number;
  /** per row of [start, end): 1 = keep; null keeps all */
  keep: Uint8Array | null;
  rows: number;
  width: number;
  /** shard indices [from, to) and the version row where shard `from` begins */
  from: number;
  to: number;
  firstRow: number;
}

function plan(meta: DatasetVersionMeta, q: RowsQuery): Plan {
  if (q.start > meta.count) {
    throw new BadInput(
      `start ${q.start} is beyond the ${meta.count} rows of ${meta.name}@v${meta.version}`,
    );
  }
  const start = q.start;
  const end = Math.min(meta.count, start + q.count);
  let keep: Uint8Array | null = null;
  let rows = end - start;
  if (q.split !== 'all') {
    const s = meta.split ?? { seed: 42, validationFraction: 0.2 };
    const mask = validationMask(s.seed, s.validationFraction, start, end - start);
    const want = q.split === 'validation' ? 1 : 0;
    keep = mask.map((v) => (v === want ? 1 : 0));
    rows = keep.reduce((n, v) => n + v, 0);
  }
  const width =
    meta.kind === 'tabular'
      ? (meta.features ?? 0)
      : (meta.imageShape?.height ?? 0) *
        (meta.imageShape?.width ?? 0) *
        (meta.imageShape?.channels ?? 0);
  let from = -1;
  let to = 0;
  let firstRow = 0;
  let row = 0;
  meta.shards.forEach((s, i) => {
    if (row + s.rows > start && row < end) {
      if (from < 0) {
        from = i;
        firstRow = row;
      }
      to = i + 1;
    }
    row += s.rows;
  });
  return { start, end, keep, rows, width, from: Math.max(from, 0), to, firstRow };
}

/** Each shard's part of the range: [a, b) in shard rows, and its keep flags. */
async function* parts(
  datasets: DatasetStore,
  meta: DatasetVersionMeta,
  p: Plan,
): AsyncGenerator<{
  batch: RowBatch;
  first: number;
  a: number;
  b: number;
  keep: Uint8Array | null;
}> {
  if (p.end <= p.start) return;
  let offset = p.firstRow;
  for await (const batch of datasets.readShards(meta.name, meta.version, {
    from: p.from,
    to: p.to,
  })) {
    const a = Math.max(0, p.start - offset);
    const b = Math.min(batch.rows, p.end - offset);
    const keep = p.keep ? p.keep.subarray(offset + a - p.start, offset + b - p.start) : null;
    const first = offset;
    offset += batch.rows;
    if (b > a) yield { batch, first, a, b, keep };
  }
}

/** Row data of one shard part, as bytes: views when every row is kept, else a copy. */
function dataBytes(
  batch: RowBatch,
  a: number,
  b: number,
  keep: Uint8Array | null,
  w: number,
): Buffer {
  const src = batch.kind === 'tabular' ? batch.features : batch.pixels;
  const size = src.BYTES_PER_ELEMENT;
  const view = (from: number, to: number) =>
    Buffer.from(src.buffer, src.byteOffset + from * w * size, (to - from) * w * size);
  if (!keep) return view(a, b);
  const chunks: Buffer[] = [];
  for (let i = a; i < b; i++) {
    if (!keep[i - a]) continue;
    let j = i;
    while (j < b && keep[j - a]) j++;
    chunks.push(view(i, j));
    i = j;
  }
  return Buffer.concat(chunks);
}

/** Writes with backpressure; false once the client has gone. */
async function write(res: Response, buf: Buffer): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(buf)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  return !res.destroyed;
}

function header(meta: DatasetVersionMeta, rows: number): Buffer {
  const h = Buffer.alloc(SHARD_HEADER_BYTES);
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt8(meta.kind === 'tabular' ? 1 : 2, 4);
  h.writeUInt8(1, 5);
  h.writeUInt32LE(rows, 8);
  if (meta.kind === 'tabular') h.writeUInt32LE(meta.features ?? 0, 12);
  else {
    h.writeUInt32LE(meta.imageShape?.height ?? 0, 12);
    h.writeUInt32LE(meta.imageShape?.width ?? 0, 16);
    h.writeUInt32LE(meta.imageShape?.channels ?? 0, 20);
  }
  return h;
}

/**
 * Streams rows [start, start+count) of a version (only one side of its split when asked)
 * in the shard layout of docs/datasets.md: header, Float32 LE features (or uint8 pixels
 * padded to 4 bytes), then Float32 LE labels. Only the labels are gathered in memory.
 */
export async function sendBinaryRows(
  res: Response,
  datasets: DatasetStore,
  meta: DatasetVersionMeta,
  q: RowsQuery,
): Promise<void> {
  const p = plan(meta, q);
  const dataLen = meta.kind === 'tabular' ? p.rows * p.width * 4 : pad4(p.rows * p.width);
  const total = SHARD_HEADER_BYTES + dataLen + p.rows * 4;
  if (total > MAX_BINARY_BYTES) {
    const perRow = (meta.kind === 'tabular' ? p.width * 4 : p.width) + 4;
    const maxCount = Math.floor((MAX_BINARY_BYTES - SHARD_HEADER_BYTES - 4) / perRow);
    throw new BadInput(`at most ${maxCount} rows of this version per binary answer`, { maxCount });
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': total,
    'x-swarmml-rows': p.rows,
    'x-swarmml-start': p.start,
    'x-swarmml-end': p.end,
  });
  const labels = new Float32Array(p.rows);
  let written = 0;
  let dataBytesOut = 0;
  if (!(await write(res, header(meta, p.rows)))) return;
  for await (const { batch, a, b, keep } of parts(datasets, meta, p)) {
    const data = dataBytes(batch, a, b, keep, p.width);
    for (let i = a; i < b; i++) if (!keep || keep[i - a]) labels[written++] = batch.labels[i]!;
    dataBytesOut += data.length;
    if (!(await write(res, data))) return;
  }
  if (dataLen > dataBytesOut) await write(res, Buffer.alloc(dataLen - dataBytesOut));
  await write(res, Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength));
  res.end();
}

/** The same rows as JSON, for small ranges and eyes: one array per row. */
export async function jsonRows(
  datasets: DatasetStore,
  meta: DatasetVersionMeta,
  q: RowsQuery,
): Promise<unknown> {
  if (q.count > MAX_JSON_ROWS) {
    throw new BadInput(`at most ${MAX_JSON_ROWS} rows per JSON answer; use format=binary`, {
      maxCount: MAX_JSON_ROWS,
    });
  }
  const p = plan(meta, q);
  const index: number[] = [];
  const values: number[][] = [];
  const labels: number[] = [];
  for await (const { batch, first, a, b, keep } of parts(datasets, meta, p)) {
    const src = batch.kind === 'tabular' ? batch.features : batch.pixels;
    for (let i = a; i < b; i++) {
      if (keep && !keep[i - a]) continue;
      index.push(first + i);
      values.push(Array.from(src.subarray(i * p.width, (i + 1) * p.width)));
      labels.push(batch.labels[i]!);
    }
  }
  return {
    name: meta.name,
    version: meta.version,
    kind: meta.kind,
    start: p.start,
    end: p.end,
    split: q.split,
    rows: index.length,
    ...(meta.kind === 'tabular' ? { features: meta.features } : { imageShape: meta.imageShape }),
    labelKind: meta.labelKind,
    ...(meta.labelNames ? { labelNames: meta.labelNames } : {}),
    index,
    [meta.kind === 'tabular' ? 'values' : 'pixels']: values,
    labels,
  };
}
