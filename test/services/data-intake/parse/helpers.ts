import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { crc32, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import tar from 'tar-stream';
import type { RowBatch } from '../../../../shared/index.js';
import { AppError } from '../../../../shared/errors.js';
import type { ParsedDataset } from '../../../../services/data-intake/parse/index.js';

/** Real public data committed with the tests (test/fixtures/README.md: origin, licence). */
export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

export const FASHION_MNIST = '/usr/share/datasets/fashion-mnist/';

/** Yields `bytes` in chunks of `size` (odd sizes exercise values split across chunks). */
export async function* chunks(bytes: Buffer | string, size = 7): AsyncGenerator<Buffer> {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

export interface Collected {
  rows: number;
  batches: RowBatch[];
  features: number[][];
  labels: number[];
}

/** Reads every batch; tabular rows are returned as plain arrays. */
export async function collect(parsed: ParsedDataset): Promise<Collected> {
  const out: Collected = { rows: 0, batches: [], features: [], labels: [] };
  for await (const b of parsed.batches()) {
    out.batches.push(b);
    out.rows += b.rows;
    out.labels.push(...b.labels);
    if (b.kind === 'tabular') {
      for (let r = 0; r < b.rows; r++) {
        out.features.push(Array.from(b.features.subarray(r * b.dim, (r + 1) * b.dim)));
      }
    }
  }
  return out;
}

/** Asserts that `p` rejects with an AppError of `code` whose details include `details`. */
export async function rejectsWith(
  p: Promise<unknown>,
  code: string,
  details: Record<string, unknown> = {},
  message?: RegExp,
): Promise<AppError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof AppError, `expected an AppError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.deepEqual(
    Object.fromEntries(
      Object.keys(details).map((k) => [k, (caught.details as Record<string, unknown>)?.[k]]),
    ),
    details,
  );
  if (message) assert.match(caught.message, message);
  return caught;
}

/** A PNG of solid colour `value` with the given shape. */
export async function png(
  height: number,
  width: number,
  channels: 1 | 3 | 4,
  value: number,
): Promise<Buffer> {
  const raw = Buffer.alloc(height * width * channels, value);
  const img = sharp(raw, { raw: { height, width, channels } });
  return (channels === 1 ? img.toColourspace('b-w') : img).png().toBuffer();
}

export async function jpeg(height: number, width: number, value: number): Promise<Buffer> {
  const raw = Buffer.alloc(height * width * 3, value);
  return sharp(raw, { raw: { height, width, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

export type Entries = [name: string, data: Buffer | null][];

/** A tar archive; a null body makes a directory entry. */
export async function makeTar(entries: Entries): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) parts.push(c as Buffer);
  })();
  for (const [name, data] of entries) {
    if (data === null) pack.entry({ name, type: 'directory' });
    else pack.entry({ name, size: data.length }, data);
  }
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

/** A minimal zip with stored (uncompressed) entries; names are written exactly as given. */
export function makeZip(entries: Entries): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, body] of entries) {
    const data = body ?? Buffer.alloc(0);
    const fname = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fname.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fname.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fname, data);
    centrals.push(central, fname);
    offset += 30 + fname.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** IDX files for `images` (each h*w bytes) and their labels. */
export function makeIdx(
  images: Uint8Array[],
  labels: number[],
  h: number,
  w: number,
  gzip = false,
) {
  const ih = Buffer.alloc(16);
  ih.writeUInt32BE(0x00000803, 0);
  ih.writeUInt32BE(images.length, 4);
  ih.writeUInt32BE(h, 8);
  ih.writeUInt32BE(w, 12);
  const lh = Buffer.alloc(8);
  lh.writeUInt32BE(0x00000801, 0);
  lh.writeUInt32BE(labels.length, 4);
  const img = Buffer.concat([ih, ...images]);
  const lbl = Buffer.concat([lh, Buffer.from(labels)]);
  return gzip ? { images: gzipSync(img), labels: gzipSync(lbl) } : { images: img, labels: lbl };
}
