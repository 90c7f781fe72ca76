import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  createStatsAccumulator,
  type ImageBatch,
  type TabularBatch,
} from '../../../../shared/index.js';

function tabular(rows: number[][], labels: number[]): TabularBatch {
  const dim = rows[0]?.length ?? 0;
  return {
    kind: 'tabular',
    rows: rows.length,
    dim,
    features: Float32Array.from(rows.flat()),
    labels: Float32Array.from(labels),
  };
}

const close = (a: number | null | undefined, b: number, tol = 1e-6) =>
  assert.ok(
    a !== null && a !== undefined && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)),
    `${a} vs ${b}`,
  );

describe('dataset statistics', () => {
  test('per-feature moments over several batches match a direct computation', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.float({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 3, maxLength: 3 }),
          { minLength: 1, maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 7 }),
        (rows, per) => {
          const f32 = rows.map((r) => r.map(Math.fround));
          const acc = createStatsAccumulator('regression');
          for (let i = 0; i < f32.length; i += per) {
            const part = f32.slice(i, i + per);
            acc.add(
              tabular(
                part,
                part.map((r) => r[0]!),
              ),
            );
          }
          const s = acc.result();
          assert.equal(s.rows, f32.length);
          for (let c = 0; c < 3; c++) {
            const col = f32.map((r) => r[c]!);
            const mean = col.reduce((a, b) => a + b, 0) / col.length;
            const std = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length);
            close(s.features!.mean[c], mean, 1e-9);
            close(s.features!.std[c], std, 1e-6);
            assert.equal(s.features!.min[c], Math.min(...col));
            assert.equal(s.features!.max[c], Math.max(...col));
          }
          assert.ok(s.labels.kind === 'regression');
          assert.equal(s.labels.count, f32.length);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('NaN counts as missing; an all-missing feature has null moments; result is plain JSON', () => {
    const acc = createStatsAccumulator('class');
    acc.add(
      tabular(
        [
          [1, NaN],
          [3, NaN],
        ],
        [0, 2],
      ),
    );
    acc.add(tabular([[NaN, NaN]], [2]));
    const s = acc.result();
    assert.deepEqual(s.features, {
      count: [2, 0],
      missing: [1, 3],
      mean: [2, null],
      std: [1, null],
      min: [1, null],
      max: [3, null],
    });
    assert.deepEqual(s.labels, { kind: 'class', histogram: [1, 0, 2] });
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });

  test('images: moments per channel, not per pixel', () => {
    const batch: ImageBatch = {
      kind: 'image',
      rows: 2,
      height: 1,
      width: 2,
      channels: 3,
      // HWC: pixel (r,g,b) pairs; channel 0 = 0,10,20,30; channel 1 = 255 always; channel 2 = 1,1,3,3
      pixels: Uint8Array.from([0, 255, 1, 10, 255, 1, 20, 255, 3, 30, 255, 3]),
      labels: Float32Array.from([0, 1]),
    };
    const acc = createStatsAccumulator('class');
    acc.add(batch);
    acc.add({
      ...batch,
      rows: 1,
      pixels: batch.pixels.subarray(0, 6),
      labels: batch.labels.subarray(0, 1),
    });
    const s = acc.result();
    assert.equal(s.features, undefined);
    const ch = s.channels!;
    assert.deepEqual(ch.count, [6, 6, 6]);
    // channel 0 over 0,10,20,30,0,10
    const c0 = [0, 10, 20, 30, 0, 10];
    const m0 = c0.reduce((a, b) => a + b) / 6;
    close(ch.mean[0], m0);
    close(ch.std[0], Math.sqrt(c0.reduce((a, b) => a + (b - m0) ** 2, 0) / 6));
    assert.deepEqual([ch.min[1], ch.max[1], ch.std[1]], [255, 255, 0]);
    assert.deepEqual(s.labels, { kind: 'class', histogram: [2, 1] });
  });

  test('a batch of a different width is refused', () => {
    const acc = createStatsAccumulator('class');
    acc.add(tabular([[1, 2]], [0]));
    assert.throws(() => acc.add(tabular([[1, 2, 3]], [0])), /batch shape changed/);
  });
});
