import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createStatsAccumulator } from '../../../../shared/index.js';

/** The textbook row-by-row form of the per-batch moments, merged like the accumulator does. */
function reference(batches: Float32Array[], rows: number[], width: number) {
  const n = new Array<number>(width).fill(0);
  const mean = new Array<number>(width).fill(0);
  const m2 = new Array<number>(width).fill(0);
  const min = new Array<number>(width).fill(Infinity);
  const max = new Array<number>(width).fill(-Infinity);
  const missing = new Array<number>(width).fill(0);
  batches.forEach((values, b) => {
    const cnt = new Array<number>(width).fill(0);
    const sum = new Array<number>(width).fill(0);
    for (let r = 0; r < rows[b]!; r++) {
      for (let c = 0; c < width; c++) {
        const x = values[r * width + c]!;
        if (Number.isNaN(x)) missing[c]!++;
        else {
          cnt[c]!++;
          sum[c]! += x;
          if (x < min[c]!) min[c] = x;
          if (x > max[c]!) max[c] = x;
        }
      }
    }
    const bm = cnt.map((k, c) => (k > 0 ? sum[c]! / k : 0));
    const bm2 = new Array<number>(width).fill(0);
    for (let r = 0; r < rows[b]!; r++) {
      for (let c = 0; c < width; c++) {
        const x = values[r * width + c]!;
        if (!Number.isNaN(x)) bm2[c]! += (x - bm[c]!) ** 2;
      }
    }
    for (let c = 0; c < width; c++) {
      if (cnt[c] === 0) continue;
      const total = n[c]! + cnt[c]!;
      const delta = bm[c]! - mean[c]!;
      mean[c] = mean[c]! + (delta * cnt[c]!) / total;
      m2[c] = m2[c]! + bm2[c]! + (delta * delta * n[c]! * cnt[c]!) / total;
      n[c] = total;
    }
  });
  return { n, mean, m2, min, max, missing };
}

test('column statistics equal the row-by-row computation exactly, missing values included', () => {
  const cell = fc.oneof(
    { weight: 8, arbitrary: fc.float({ min: -1e6, max: 1e6, noNaN: true }) },
    { weight: 1, arbitrary: fc.constant(NaN) },
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 4 }),
      fc.infiniteStream(cell),
      (width, rows, cells) => {
        const batches = rows.map((r) =>
          Float32Array.from({ length: r * width }, () => cells.next().value),
        );
        const acc = createStatsAccumulator('regression');
        batches.forEach((features, b) =>
          acc.add({
            kind: 'tabular',
            rows: rows[b]!,
            dim: width,
            features,
            labels: new Float32Array(rows[b]!),
          }),
        );
        const s = acc.result().features;
        const ref = reference(batches, rows, width);
        if (rows.every((r) => r === 0)) return assert.equal(s, undefined);
        assert.deepEqual(s!.count, ref.n);
        assert.deepEqual(s!.missing, ref.missing);
        assert.deepEqual(
          s!.mean,
          ref.mean.map((m, c) => (ref.n[c]! > 0 ? m : null)),
        );
        assert.deepEqual(
          s!.std,
          ref.m2.map((m, c) => (ref.n[c]! > 0 ? Math.sqrt(m / ref.n[c]!) : null)),
        );
        assert.deepEqual(
          s!.min,
          ref.min.map((m, c) => (ref.n[c]! > 0 ? m : null)),
        );
        assert.deepEqual(
          s!.max,
          ref.max.map((m, c) => (ref.n[c]! > 0 ? m : null)),
        );
      },
    ),
    { numRuns: 300 },
  );
});
