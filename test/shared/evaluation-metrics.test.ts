import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootstrapQuantiles,
  classProbabilities,
  classificationFigures,
  majorityBaseline,
  mcnemarExactP,
  meanBaseline,
  regressionFigures,
  weightedMeanDiff,
} from '../../shared/index.js';

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} is not within ${tol} of ${b}`);

describe('classification figures', () => {
  // 4 rows, 3 classes: rows 0 and 2 right, row 1 (class 1 → 2) and row 3 (class 2 → 0) wrong.
  const probs = Float64Array.from([0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.2, 0.5, 0.3, 0.5, 0.1, 0.4]);
  const labels = [0, 1, 1, 2];
  const f = classificationFigures(probs, 3, labels, 3);

  test('accuracy, log loss and the confusion matrix', () => {
    assert.equal(f.accuracy, 0.5);
    close(f.logLoss, -(Math.log(0.7) + Math.log(0.3) + Math.log(0.5) + Math.log(0.4)) / 4);
    assert.deepEqual(f.confusion, [
      [1, 0, 0],
      [0, 1, 1],
      [1, 0, 0],
    ]);
    assert.deepEqual([...f.correct], [1, 0, 1, 0]);
  });

  test('per-class precision, recall and F1, and their macro mean', () => {
    const [c0, c1, c2] = f.perClass;
    assert.deepEqual([c0!.precision, c0!.recall, c0!.support], [0.5, 1, 1]);
    close(c0!.f1, 2 / 3);
    assert.deepEqual([c1!.precision, c1!.recall, c1!.f1, c1!.support], [1, 0.5, 2 / 3, 2]);
    assert.deepEqual([c2!.precision, c2!.recall, c2!.f1], [0, 0, 0]);
    close(f.macroF1, (2 / 3 + 2 / 3 + 0) / 3);
  });

  test('a sure mistake costs a finite log loss; a label the model has no column for is wrong', () => {
    const sure = classificationFigures(Float64Array.from([1, 0]), 2, [1], 2);
    assert.ok(Number.isFinite(sure.logLoss) && sure.logLoss > 30);
    const unseen = classificationFigures(Float64Array.from([0.4, 0.6]), 2, [2], 3);
    assert.equal(unseen.accuracy, 0);
    assert.equal(unseen.confusion.length, 3);
  });

  test('logits go through softmax, one column is P(class 1), probability rows stay', () => {
    const fromLogits = classProbabilities(Float32Array.from([2, 0, 0, 2]), 2);
    close(fromLogits.probs[0]!, Math.exp(2) / (Math.exp(2) + 1));
    const oneCol = classProbabilities(Float32Array.from([0.8]), 1);
    assert.equal(oneCol.width, 2);
    close(oneCol.probs[1]!, 0.8, 1e-7);
    const rows = Float32Array.from([0.25, 0.75]);
    assert.equal(classProbabilities(rows, 2).probs, rows);
  });
});

describe('regression figures and the trivial baselines', () => {
  test('RMSE, MAE and R²', () => {
    const r = regressionFigures([1, 2, 3, 5], [1, 2, 3, 4]);
    close(r.rmse, Math.sqrt(1 / 4));
    close(r.mae, 0.25);
    // SST of 1..4 around 2.5 is 5; SSE is 1.
    close(r.r2, 1 - 1 / 5);
    assert.ok(Number.isNaN(regressionFigures([1, 1], [2, 2]).r2), 'constant labels have no R²');
  });

  test('the majority class of the training split, scored on the held-out rows', () => {
    const { majority, figures } = majorityBaseline([0, 1, 1, 1, 2], [1, 0, 1, 2, 1], 3);
    assert.equal(majority, 1);
    assert.equal(figures.accuracy, 3 / 5);
    // Its probabilities are the smoothed training shares: (count+1)/(5+3).
    close(figures.logLoss, -(3 * Math.log(4 / 8) + Math.log(2 / 8) + Math.log(2 / 8)) / 5);
  });

  test('the training mean, scored on the held-out rows', () => {
    const { mean, figures } = meanBaseline([1, 3], [2, 4]);
    assert.equal(mean, 2);
    close(figures.mae, 1);
    close(figures.r2, 1 - 4 / 2);
  });
});

describe('paired tests', () => {
  test("McNemar's exact one-sided p: P(X >= b), X ~ Bin(b+c, 1/2)", () => {
    assert.equal(mcnemarExactP(0, 0), 1);
    close(mcnemarExactP(5, 0), 1 / 32);
    // P(X >= 9 | n=10) = (10 + 1) / 1024
    close(mcnemarExactP(9, 1), 11 / 1024);
    close(mcnemarExactP(3, 3), 0.65625);
    // Large counts stay accurate and in range.
    const p = mcnemarExactP(600, 400);
    assert.ok(p > 0 && p < 1e-9, String(p));
    assert.ok(mcnemarExactP(400, 600) > 0.999);
  });

  test('bootstrap quantiles of a mean difference bracket it, and repeat with the seed', () => {
    const n = 400;
    const a = Float64Array.from({ length: n }, (_, i) => (i % 10 < 9 ? 1 : 0)); // 0.9
    const b = Float64Array.from({ length: n }, (_, i) => (i % 10 < 7 ? 1 : 0)); // 0.7
    const stat = (w: Uint32Array) => weightedMeanDiff(a, b, w);
    const q = bootstrapQuantiles(n, stat, { resamples: 500, seed: 7 });
    assert.ok(q['0.025']! > 0.1 && q['0.025']! < 0.2, JSON.stringify(q));
    assert.ok(q['0.975']! > 0.2 && q['0.975']! < 0.3, JSON.stringify(q));
    assert.deepEqual(bootstrapQuantiles(n, stat, { resamples: 500, seed: 7 }), q);
  });
});
