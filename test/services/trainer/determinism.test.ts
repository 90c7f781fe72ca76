import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrainerParams } from '../../../shared/protocol/model-spec.js';
import { exportOnnx } from '../../../services/trainer/onnx-export.js';
import { trainModel } from '../../../services/trainer/train-loop.js';
import { splitTrainValidation } from '../../../services/trainer/dataset-split.js';
import { blobs, weightBytes } from './fixtures.js';

const { data, dim, classes } = blobs(300, 10, 3);

async function weightsFor(seed: number, trainer: 'mlp' | 'softmax') {
  const params = parseTrainerParams({
    trainer,
    ...(trainer === 'mlp' ? { hidden: [12, 5] } : {}),
    epochs: 3,
    batchSize: 16,
    seed,
  });
  const { train, validation } = splitTrainValidation(data, dim, params.validationFraction, seed);
  const r = await trainModel({ params, train, validation, dim, classes });
  return { bytes: weightBytes(r.model.layers), onnx: exportOnnx(r.model), r };
}

for (const trainer of ['mlp', 'softmax'] as const) {
  test(`${trainer}: the same seed gives bit-identical weights and ONNX bytes`, async () => {
    const a = await weightsFor(42, trainer);
    const b = await weightsFor(42, trainer);
    assert.ok(a.bytes.equals(b.bytes));
    assert.ok(Buffer.from(a.onnx).equals(Buffer.from(b.onnx)));
    assert.equal(a.r.validation.accuracy, b.r.validation.accuracy);
  });

  test(`${trainer}: a different seed gives different weights`, async () => {
    const a = await weightsFor(42, trainer);
    const c = await weightsFor(43, trainer);
    assert.equal(a.bytes.length, c.bytes.length);
    assert.ok(!a.bytes.equals(c.bytes));
  });
}

test('the validation split is a disjoint partition drawn from the seed', () => {
  const { train, validation } = splitTrainValidation(data, dim, 0.2, 1);
  assert.equal(validation.rows, 60);
  assert.equal(train.rows + validation.rows, data.rows);
  const key = (x: Float32Array | Uint8Array, i: number) =>
    x.subarray(i * dim, (i + 1) * dim).join();
  const seen = new Set<string>();
  for (let i = 0; i < train.rows; i++) seen.add(key(train.x, i));
  for (let i = 0; i < validation.rows; i++) assert.ok(!seen.has(key(validation.x, i)));
  const other = splitTrainValidation(data, dim, 0.2, 2);
  assert.notEqual(key(other.validation.x, 0), key(validation.x, 0));
});
