import type { ImageBatch, TabularBatch } from '../../../shared/index.js';

/** A tabular batch whose values encode (row, column), so any misplacement shows. */
export function tabular(rows: number, dim: number, firstRow = 0): TabularBatch {
  const features = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < dim; c++) features[r * dim + c] = (firstRow + r) * 1000 + c + 0.5;
  }
  features[0] = Number.NaN; // missing values must survive
  const labels = Float32Array.from({ length: rows }, (_, r) => (firstRow + r) % 10);
  return { kind: 'tabular', rows, dim, features, labels };
}

export function image(rows: number, h: number, w: number, c: number, firstRow = 0): ImageBatch {
  const pixels = new Uint8Array(rows * h * w * c);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + firstRow) & 255;
  const labels = Float32Array.from({ length: rows }, (_, r) => firstRow + r);
  return { kind: 'image', rows, height: h, width: w, channels: c, pixels, labels };
}
