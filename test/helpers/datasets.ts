import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { splitInfo, type DatasetStore, type DatasetVersionMeta } from '../../shared/index.js';

/** A committed test data file (test/fixtures/README.md says where each came from). */
export const fixture = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/** The real sklearn digits (8x8, 1,797 rows) as Float32 features and class labels. */
export function loadDigits(): {
  features: Float32Array;
  labels: Float32Array;
  rows: number;
  dim: number;
} {
  const text = gunzipSync(readFileSync(fixture('digits.csv.gz'))).toString('utf8');
  const lines = text.trim().split('\n');
  const dim = 64;
  const features = new Float32Array(lines.length * dim);
  const labels = new Float32Array(lines.length);
  lines.forEach((line, r) => {
    const cells = line.split(',').map(Number);
    for (let j = 0; j < dim; j++) features[r * dim + j] = cells[j]!;
    labels[r] = cells[dim]!;
  });
  return { features, labels, rows: lines.length, dim };
}

/**
 * Writes digits into the store as one committed version, the way data-intake does: with a
 * recorded split (seed 42, a fifth held out), so trainers and the platform's evaluation
 * hold out the same rows.
 */
export async function storeDigits(
  datasets: DatasetStore,
  name: string,
): Promise<DatasetVersionMeta> {
  const d = loadDigits();
  const w = datasets.beginVersion(name);
  const per = 600;
  for (let from = 0; from < d.rows; from += per) {
    const rows = Math.min(per, d.rows - from);
    await w.writeShard({
      kind: 'tabular',
      rows,
      dim: d.dim,
      features: d.features.slice(from * d.dim, (from + rows) * d.dim),
      labels: d.labels.slice(from, from + rows),
    });
  }
  return w.commit({
    kind: 'tabular',
    format: 'csv',
    features: d.dim,
    count: d.rows,
    labelKind: 'class',
    labelNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    split: splitInfo(42, 0.2, d.rows),
  });
}
