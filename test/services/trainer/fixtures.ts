import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fixture } from '../../helpers/datasets.js';
import type { LabeledData } from '../../../services/trainer/dataset-split.js';
import { createRng } from '../../../services/trainer/rng.js';

/** sklearn's 8×8 digits: 1,797 rows of 64 features (0–16) and a label 0–9. */
export function loadDigits(): { data: LabeledData; dim: number; classes: number } {
  const text = gunzipSync(readFileSync(fixture('digits.csv.gz'))).toString('utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const dim = 64;
  const x = new Float32Array(lines.length * dim);
  const y = new Int32Array(lines.length);
  lines.forEach((line, i) => {
    const cells = line.split(',').map(Number);
    if (cells.length !== dim + 1) throw new Error(`digits line ${i + 1}: ${cells.length} cells`);
    x.set(cells.slice(0, dim), i * dim);
    y[i] = cells[dim]!;
  });
  return { data: { x, y, rows: lines.length }, dim, classes: 10 };
}

/**
 * Gaussian blobs, one per class, with features on deliberately different scales and offsets
 * so that normalization matters and shows up in the exported graph.
 */
export function blobs(
  rows: number,
  dim: number,
  classes: number,
  seed = 7,
): { data: LabeledData; dim: number; classes: number } {
  const rng = createRng(seed);
  const centers = Array.from({ length: classes }, () =>
    Array.from({ length: dim }, () => rng.gaussian() * 2),
  );
  const scale = Array.from({ length: dim }, (_, j) => 10 ** ((j % 5) - 2));
  const offset = Array.from({ length: dim }, (_, j) => (j % 3) * 100);
  const x = new Float32Array(rows * dim);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = i % classes;
    y[i] = c;
    for (let j = 0; j < dim; j++) {
      x[i * dim + j] = (centers[c]![j]! + rng.gaussian()) * scale[j]! + offset[j]!;
    }
  }
  return { data: { x, y, rows }, dim, classes };
}

/** Bytes of every layer's weights and biases, for bit-exact comparisons. */
export function weightBytes(layers: readonly { w: Float32Array; b: Float32Array }[]): Buffer {
  return Buffer.concat(
    layers.flatMap((l) => [
      Buffer.from(l.w.buffer, l.w.byteOffset, l.w.byteLength),
      Buffer.from(l.b.buffer, l.b.byteOffset, l.b.byteLength),
    ]),
  );
}
