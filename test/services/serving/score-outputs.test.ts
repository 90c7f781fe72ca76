import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  baselineOf,
  pairedFigures,
  scoreOutput,
} from '../../../services/serving/evaluation/score-outputs.js';

const labels = Float32Array.from([0, 1, 1, 2]);

test('a class-id output is scored for accuracy and F1, with no log loss', () => {
  const s = scoreOutput(
    'classification',
    { name: 'label', values: [0, 1, 2, 2], width: 1, integer: true },
    labels,
    3,
    ['a', 'b', 'c'],
  );
  assert.equal(s.figures.metrics.accuracy, 0.75);
  assert.equal(s.figures.metrics.logLoss, undefined);
  assert.deepEqual(
    s.figures.perClass?.map((c) => [c.label, c.support]),
    [
      ['a', 1],
      ['b', 2],
      ['c', 1],
    ],
  );
});

test('logits are read through softmax; the same argmax gives the same accuracy', () => {
  const logits = [5, 0, 0, 0, 5, 0, 0, 0, 5, 0, 0, 5];
  const s = scoreOutput(
    'classification',
    { name: 'logits', values: logits, width: 3, integer: false },
    labels,
    3,
    null,
  );
  assert.equal(s.figures.metrics.accuracy, 0.75);
  assert.ok(s.figures.metrics.logLoss! > 0 && Number.isFinite(s.figures.metrics.logLoss!));
  assert.deepEqual(s.figures.confusion, [
    [1, 0, 0],
    [0, 1, 1],
    [0, 0, 1],
  ]);
});

test('a regressor must give one value per row', () => {
  assert.throws(
    () =>
      scoreOutput(
        'regression',
        { name: 'y', values: [1, 2, 3, 4], width: 2, integer: false },
        Float32Array.from([1, 2]),
        0,
        null,
      ),
    /gives 2 values per row; a regressor must give one/,
  );
});

test('paired figures count the rows each side alone gets right, and the majority baseline names its class', () => {
  const cand = scoreOutput(
    'classification',
    { name: 'p', values: [0, 1, 1, 0], width: 1, integer: true },
    labels,
    3,
    null,
  );
  const prod = scoreOutput(
    'classification',
    { name: 'p', values: [0, 2, 2, 2], width: 1, integer: true },
    labels,
    3,
    null,
  );
  const paired = pairedFigures('classification', cand, prod, labels, { resamples: 50, seed: 1 });
  // The candidate alone gets rows 1 and 2; production alone gets row 3.
  assert.deepEqual(paired.mcnemar, { b: 2, c: 1 });
  assert.ok(paired.bootstrap!.quantiles.accuracy);
  const base = baselineOf('classification', Float32Array.from([2, 2, 1]), labels, 3, [
    'a',
    'b',
    'c',
  ]);
  assert.deepEqual(
    [base.kind, base.value, base.label, base.metrics.accuracy],
    ['majority-class', 2, 'c', 0.25],
  );
});
