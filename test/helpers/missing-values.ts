import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { splitInfo, type DatasetStore, type DatasetVersionMeta } from '../../shared/index.js';
import { createRng } from '../../services/trainer/rng.js';
import { fixture, loadDigits } from './datasets.js';

/**
 * digits.csv (test/fixtures/digits.csv.gz) with a seeded `share` of its 64 feature cells
 * left blank, labels kept: an upload with missing values, made from real data.
 */
export function blankedDigitsCsv(share: number, seed = 5): string {
  const rng = createRng(seed);
  return gunzipSync(readFileSync(fixture('digits.csv.gz')))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((line) =>
      line
        .split(',')
        .map((cell, j) => (j < 64 && rng.next() < share ? '' : cell))
        .join(','),
    )
    .join('\n');
}

/**
 * Stores digits with a seeded `share` of feature values missing (NaN, as data-intake stores a
 * blank cell) as one committed version of dataset `name`, split like `storeDigits` so the
 * two hold out the same rows.
 */
export async function storeBlankedDigits(
  datasets: DatasetStore,
  name: string,
  share: number,
  seed = 5,
): Promise<DatasetVersionMeta> {
  const d = loadDigits();
  const rng = createRng(seed);
  for (let k = 0; k < d.features.length; k++) if (rng.next() < share) d.features[k] = NaN;
  const w = datasets.beginVersion(name);
  await w.writeShard({
    kind: 'tabular',
    rows: d.rows,
    dim: d.dim,
    features: d.features,
    labels: d.labels,
  });
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
