import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { BadInput, type ImageBatch, type TabularBatch } from '../../../shared/index.js';
import { exportOnnx } from '../../../services/trainer/onnx-export.js';
import { trainAndExport } from '../../../services/trainer/train-and-export.js';
import { blobs } from './fixtures.js';

test('a tabular RowBatch is split, trained and exported with its label names', async () => {
  const { data, dim } = blobs(250, 5, 3);
  const batch: TabularBatch = {
    kind: 'tabular',
    rows: data.rows,
    dim,
    features: data.x as Float32Array,
    labels: Float32Array.from(data.y),
  };
  const epochs: number[] = [];
  let checkpoint: Uint8Array | undefined;
  const r = await trainAndExport(
    batch,
    { trainer: 'mlp', hidden: [8], epochs: 3 },
    {
      labelNames: ['x', 'y', 'z'],
      name: 'blobs',
      onEpoch: (e, model) => {
        epochs.push(e.epoch);
        if (e.epoch === 1) checkpoint = exportOnnx(model);
      },
    },
  );
  assert.equal(r.stopped, false);
  assert.deepEqual(epochs, [1, 2, 3]);
  // The epoch-1 checkpoint was a snapshot: later epochs changed the weights.
  const weights = (onnx: Uint8Array) =>
    fromBinary(ModelProtoSchema, onnx).graph!.initializer.find((t) => t.name === 'dense0_weight')!;
  assert.ok(
    !Buffer.from(weights(r.onnx).rawData).equals(Buffer.from(weights(checkpoint!).rawData)),
  );
  assert.equal(r.trainRows, 200);
  assert.equal(r.validationRows, 50);
  const meta = Object.fromEntries(
    fromBinary(ModelProtoSchema, r.onnx).metadataProps.map((p) => [p.key, p.value]),
  );
  assert.deepEqual(JSON.parse(meta.label_names!), ['x', 'y', 'z']);
  assert.equal(Number(meta.val_accuracy), r.validation.accuracy);
  const session = await ort.InferenceSession.create(r.onnx);
  assert.deepEqual(session.inputNames, ['input']);
  assert.deepEqual([...session.outputNames].sort(), ['logits', 'probabilities']);
  await session.release();
});

test('an image RowBatch trains on its pixels and records the image shape', async () => {
  const rows = 60;
  const pixels = new Uint8Array(rows * 4 * 4);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    labels[i] = i % 2;
    pixels.fill(i % 2 ? 230 : 10, i * 16, (i + 1) * 16);
  }
  const batch: ImageBatch = {
    kind: 'image',
    rows,
    height: 4,
    width: 4,
    channels: 1,
    pixels,
    labels,
  };
  const r = await trainAndExport(batch, { trainer: 'softmax', epochs: 20, learningRate: 0.05 });
  assert.equal(r.stopped, false);
  assert.equal(r.model.normalization?.method, 'pixels');
  assert.equal(r.validation.accuracy, 1);
  const meta = fromBinary(ModelProtoSchema, r.onnx).metadataProps;
  assert.equal(meta.find((p) => p.key === 'image_shape')?.value, '[4,4,1]');
});

test('bad params and non-integer labels are BadInput', async () => {
  const batch: TabularBatch = {
    kind: 'tabular',
    rows: 4,
    dim: 1,
    features: Float32Array.from([0, 1, 2, 3]),
    labels: Float32Array.from([0, 1, 0.5, 1]),
  };
  await assert.rejects(trainAndExport(batch, { trainer: 'mlp', epochs: -1 }), BadInput);
  await assert.rejects(trainAndExport(batch, { trainer: 'mlp' }), /label of row 2 is 0.5/);
});

test('a stop ends training without exporting, and a recorded split picks the validation rows', async () => {
  const rows = 40;
  const batch: TabularBatch = {
    kind: 'tabular',
    rows,
    dim: 1,
    features: Float32Array.from({ length: rows }, (_, i) => i),
    labels: Float32Array.from({ length: rows }, (_, i) => i % 2),
  };
  const stopped = await trainAndExport(
    batch,
    { trainer: 'softmax', epochs: 5 },
    {
      shouldStop: () => true,
    },
  );
  assert.equal(stopped.stopped, true);
  assert.equal(stopped.onnx, null);

  const a = await trainAndExport(
    batch,
    { trainer: 'softmax', epochs: 1 },
    {
      split: { seed: 3, validationFraction: 0.25 },
    },
  );
  const b = await trainAndExport(
    batch,
    { trainer: 'softmax', epochs: 1, validationFraction: 0.5 },
    {
      split: { seed: 3, validationFraction: 0.25 },
    },
  );
  // The dataset's split wins over the params' own fraction.
  assert.equal(a.validationRows, b.validationRows);
  assert.ok(a.validationRows > 0 && a.validationRows < rows / 2, `${a.validationRows}`);
  assert.equal(a.trainRows + a.validationRows, rows);
});
