import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { predictProbabilities } from '../../../services/trainer/evaluate.js';
import { parseTrainerParams } from '../../../shared/protocol/model-spec.js';
import { exportOnnx, ONNX_NAMES } from '../../../services/trainer/onnx-export.js';
import { trainModel } from '../../../services/trainer/train-loop.js';
import type { TrainedModel } from '../../../services/trainer/trained-model.js';
import { blobs } from './fixtures.js';

async function runOnnx(bytes: Uint8Array, x: Float32Array, rows: number, dim: number) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const input = new ort.Tensor('float32', x, [rows, dim]);
    const out = await session.run({ [ONNX_NAMES.input]: input });
    return {
      probs: out[ONNX_NAMES.probabilities]!.data as Float32Array,
      logits: out[ONNX_NAMES.logits]!.data as Float32Array,
      dims: out[ONNX_NAMES.probabilities]!.dims,
    };
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

async function assertParity(model: TrainedModel, x: Float32Array, rows: number) {
  const bytes = exportOnnx(model, { name: 'parity', labelNames: ['a', 'b', 'c', 'd'] });
  const ours = predictProbabilities(model, x, rows);
  const onnx = await runOnnx(bytes, x, rows, model.dim);
  assert.deepEqual(onnx.dims, [rows, model.classes]);
  const diff = maxAbsDiff(ours, onnx.probs);
  assert.ok(diff < 1e-5, `ONNX and trainer probabilities differ by ${diff}`);
  // A second batch size through the same graph: the batch dimension is symbolic.
  const one = await runOnnx(bytes, x.subarray(0, model.dim), 1, model.dim);
  assert.ok(maxAbsDiff(ours.subarray(0, model.classes), one.probs) < 1e-5);
  return bytes;
}

test('softmax regression: the exported ONNX reproduces the trainer probabilities', async () => {
  const { data, dim, classes } = blobs(400, 7, 4);
  const params = parseTrainerParams({ trainer: 'softmax', epochs: 5, batchSize: 32 });
  const { model } = await trainModel({ params, train: data, dim, classes });
  assert.equal(model.normalization?.method, 'standard');
  const bytes = await assertParity(model, data.x as Float32Array, data.rows);

  const proto = fromBinary(ModelProtoSchema, bytes);
  const ops = proto.graph!.node.map((n) => n.opType);
  assert.deepEqual(ops, ['IsNaN', 'Where', 'Sub', 'Mul', 'Gemm', 'Softmax']);
  const meta = Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value]));
  assert.equal(meta.trainer, 'softmax');
  assert.equal(meta.feature_count, '7');
  assert.deepEqual(JSON.parse(meta.label_names!), ['a', 'b', 'c', 'd']);
  assert.equal(JSON.parse(meta.params!).epochs, 5);
  assert.equal(proto.opsetImport[0]!.version, 13n);
});

test('MLP with two hidden layers and minmax scaling: ONNX matches within 1e-5', async () => {
  const { data, dim, classes } = blobs(500, 9, 4, 11);
  const params = parseTrainerParams({
    trainer: 'mlp',
    hidden: [13, 6],
    epochs: 4,
    batchSize: 30,
    normalize: 'minmax',
    optimizer: 'sgd',
    l2: 1e-4,
  });
  const { model } = await trainModel({ params, train: data, dim, classes });
  const bytes = await assertParity(model, data.x as Float32Array, data.rows);
  const ops = fromBinary(ModelProtoSchema, bytes).graph!.node.map((n) => n.opType);
  assert.deepEqual(ops, [
    'IsNaN',
    'Where',
    'Sub',
    'Mul',
    'Gemm',
    'Relu',
    'Gemm',
    'Relu',
    'Gemm',
    'Softmax',
  ]);
});

test('image input: pixels are scaled by 1/255 inside the graph', async () => {
  const rows = 120;
  const dim = 16;
  const x = new Uint8Array(rows * dim);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    y[i] = i % 3;
    for (let j = 0; j < dim; j++) x[i * dim + j] = (j % 3 === y[i] ? 200 : 20) + ((i * 7 + j) % 50);
  }
  const params = parseTrainerParams({ trainer: 'mlp', hidden: [8], epochs: 3 });
  const { model } = await trainModel({
    params,
    train: { x, y, rows },
    dim,
    classes: 3,
    inputKind: 'image',
  });
  assert.equal(model.normalization?.method, 'pixels');
  const bytes = await assertParity(model, Float32Array.from(x), rows);
  const ops = fromBinary(ModelProtoSchema, bytes).graph!.node.map((n) => n.opType);
  assert.deepEqual(ops.slice(0, 2), ['Mul', 'Gemm']);
});
