import { BadInput } from '../errors.js';
import type { ImageBatch, RowBatch, TabularBatch } from '../datasets/rows.js';

/**
 * Shard binary format v1, little-endian (docs/keys.md):
 *
 *   offset size  field
 *   0      4     magic "SWS1"
 *   4      1     kind: 1 tabular, 2 image
 *   5      1     format version (1)
 *   6      2     reserved, 0
 *   8      4     rows (u32)
 *   12     4     tabular: dim;   image: height (u32)
 *   16     4     tabular: 0;     image: width (u32)
 *   20     4     tabular: 0;     image: channels (u32)
 *   24     8     reserved, 0
 *   32     ...   tabular: rows*dim f32 features, then rows f32 labels
 *                image:   rows*h*w*c u8 pixels (HWC), 0-3 zero bytes to a multiple of 4,
 *                         then rows f32 labels
 *
 * The 32-byte header keeps every Float32 section 4-byte aligned relative to the start, so a
 * decoder can view the Buffer in place.
 */
export const SHARD_HEADER_BYTES = 32;
const MAGIC = 0x31535753; // "SWS1" read as a little-endian u32
const KIND_TABULAR = 1;
const KIND_IMAGE = 2;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const pad4 = (n: number) => (n + 3) & ~3;

export function encodedShardBytes(b: RowBatch): number {
  const body = b.kind === 'tabular' ? b.rows * b.dim * 4 : pad4(b.pixels.length);
  return SHARD_HEADER_BYTES + body + b.rows * 4;
}

export function encodeShard(b: RowBatch): Buffer {
  checkBatch(b);
  const buf = Buffer.allocUnsafe(encodedShardBytes(b));
  // Only the header and the padding are not overwritten below; zero them so shards of equal
  // content are equal byte for byte (the version sha256 depends on it).
  buf.fill(0, 0, SHARD_HEADER_BYTES);
  if (b.kind === 'image')
    buf.fill(0, SHARD_HEADER_BYTES + b.pixels.length, pad4(SHARD_HEADER_BYTES + b.pixels.length));
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt8(b.kind === 'tabular' ? KIND_TABULAR : KIND_IMAGE, 4);
  buf.writeUInt8(1, 5);
  buf.writeUInt32LE(b.rows, 8);
  let off = SHARD_HEADER_BYTES;
  if (b.kind === 'tabular') {
    buf.writeUInt32LE(b.dim, 12);
    off = copyFloats(b.features, buf, off);
  } else {
    buf.writeUInt32LE(b.height, 12);
    buf.writeUInt32LE(b.width, 16);
    buf.writeUInt32LE(b.channels, 20);
    buf.set(b.pixels, off);
    off = pad4(off + b.pixels.length);
  }
  copyFloats(b.labels, buf, off);
  return buf;
}

/**
 * Decodes a shard. The typed arrays are views over `buf` when its byte offset is 4-aligned
 * (Buffers from ioredis usually are: each large reply gets its own allocation), else copies.
 * Views share memory with `buf`: do not reuse the Buffer while the batch is alive.
 */
export function decodeShard(buf: Buffer): RowBatch {
  if (buf.length < SHARD_HEADER_BYTES || buf.readUInt32LE(0) !== MAGIC) {
    throw new BadInput('not a swarmml shard (bad magic)');
  }
  const kind = buf.readUInt8(4);
  const version = buf.readUInt8(5);
  if (version !== 1) throw new BadInput(`unsupported shard format version ${version}`);
  const rows = buf.readUInt32LE(8);
  const d0 = buf.readUInt32LE(12);
  const d1 = buf.readUInt32LE(16);
  const d2 = buf.readUInt32LE(20);
  let off = SHARD_HEADER_BYTES;
  if (kind === KIND_TABULAR) {
    const n = rows * d0;
    expectLength(buf, off + n * 4 + rows * 4);
    const features = floats(buf, off, n);
    const labels = floats(buf, off + n * 4, rows);
    return { kind: 'tabular', rows, dim: d0, features, labels } satisfies TabularBatch;
  }
  if (kind === KIND_IMAGE) {
    const n = rows * d0 * d1 * d2;
    expectLength(buf, pad4(off + n) + rows * 4);
    const pixels = new Uint8Array(buf.buffer, buf.byteOffset + off, n);
    off = pad4(off + n);
    const labels = floats(buf, off, rows);
    return {
      kind: 'image',
      rows,
      height: d0,
      width: d1,
      channels: d2,
      pixels,
      labels,
    } satisfies ImageBatch;
  }
  throw new BadInput(`unknown shard kind ${kind}`);
}

function checkBatch(b: RowBatch): void {
  const width = b.kind === 'tabular' ? b.dim : b.height * b.width * b.channels;
  const data = b.kind === 'tabular' ? b.features.length : b.pixels.length;
  if (data !== b.rows * width || b.labels.length !== b.rows) {
    throw new BadInput(
      `batch sizes disagree: ${b.rows} rows of width ${width} need ${b.rows * width} values and ${b.rows} labels, got ${data} and ${b.labels.length}`,
    );
  }
}

function expectLength(buf: Buffer, n: number): void {
  if (buf.length !== n) throw new BadInput(`shard is ${buf.length} bytes, header says ${n}`);
}

function copyFloats(src: Float32Array, dst: Buffer, off: number): number {
  if (LITTLE_ENDIAN) {
    dst.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), off);
  } else {
    for (let i = 0; i < src.length; i++) dst.writeFloatLE(src[i]!, off + i * 4);
  }
  return off + src.byteLength;
}

function floats(buf: Buffer, off: number, n: number): Float32Array {
  const start = buf.byteOffset + off;
  if (LITTLE_ENDIAN && start % 4 === 0) return new Float32Array(buf.buffer, start, n);
  // ArrayBuffer.slice copies into a fresh, aligned buffer in one memcpy.
  if (LITTLE_ENDIAN) return new Float32Array(buf.buffer.slice(start, start + n * 4));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(off + i * 4);
  return out;
}
