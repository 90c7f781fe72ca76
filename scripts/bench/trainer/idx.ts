import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** Fashion-MNIST as Debian's dataset-fashion-mnist package installs it. */
export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';

/** Reads a gzipped IDX image file (magic 0x00000803): count × rows × cols bytes. */
export function readIdxImages(path: string): { pixels: Uint8Array; count: number; dim: number } {
  const buf = gunzipSync(readFileSync(path));
  const magic = buf.readUInt32BE(0);
  if (magic !== 0x803) throw new Error(`${path}: magic ${magic.toString(16)} is not IDX images`);
  const count = buf.readUInt32BE(4);
  const dim = buf.readUInt32BE(8) * buf.readUInt32BE(12);
  const pixels = new Uint8Array(buf.buffer, buf.byteOffset + 16, count * dim);
  if (pixels.length !== count * dim) throw new Error(`${path}: truncated`);
  return { pixels: Uint8Array.from(pixels), count, dim };
}

/** Reads a gzipped IDX label file (magic 0x00000801). */
export function readIdxLabels(path: string): Int32Array {
  const buf = gunzipSync(readFileSync(path));
  const magic = buf.readUInt32BE(0);
  if (magic !== 0x801) throw new Error(`${path}: magic ${magic.toString(16)} is not IDX labels`);
  const count = buf.readUInt32BE(4);
  return Int32Array.from(buf.subarray(8, 8 + count));
}
