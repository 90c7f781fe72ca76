import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { InMemoryModelSource } from '../../services/serving/model-source.js';
import { mlpModel, seededFloats, typedModel } from '../helpers/onnx-models.js';
import { waitFor } from '../helpers/wait.js';
import { startServing, v2Body, type Serving } from './harness.js';

// Every JSON body of 64 bytes or more goes to the decoder thread once it is up: the answers,
// and the errors, must be those of decoding on the HTTP thread.
describe('KServe JSON bodies decoded in a worker thread', () => {
  let s: Serving;
  const mlp = mlpModel();
  const x = seededFloats(2 * 784, 5);
  let want: number[];
  const infer = () => s.post('/v2/models/mlp/infer', v2Body('x', [2, 784], Array.from(x)));

  before(async () => {
    const src = new InMemoryModelSource()
      .put('typed', 1, typedModel(1), { production: true })
      .put('mlp', 1, mlp, { production: true });
    s = await startServing(src, { DECODE_OFFLOAD_BYTES: '64' });
    const session = await ort.InferenceSession.create(mlp);
    want = Array.from(
      (await session.run({ x: new ort.Tensor('float32', x, [2, 784]) })).probs!
        .data as Float32Array,
    );
    await session.release();
  });
  after(() => s.stop());

  test('answers are right while the thread starts and once it decodes', async () => {
    assert.equal(s.app.decoder.active, false);
    // The first large body starts the thread and is decoded in place meanwhile.
    const first = await infer();
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.outputs[0].data, want);
    await waitFor(
      async () => {
        const r = await infer();
        assert.deepEqual(r.body.outputs[0].data, want);
        return s.app.decoder.active;
      },
      { timeoutMs: 60_000, what: 'the decoder thread to be up' },
    );
    const many = await Promise.all(Array.from({ length: 16 }, infer));
    for (const r of many) assert.deepEqual(r.body.outputs[0].data, want);
  });

  test('every datatype crosses the thread, 64-bit integers included', async () => {
    assert.equal(s.app.decoder.active, true);
    const r = await s.post('/v2/models/typed/infer', {
      inputs: [
        { name: 'f32', shape: [1, 4], datatype: 'FP32', data: [0.5, 1, 2, 3] },
        { name: 'f64', shape: [1, 2], datatype: 'FP64', data: [0.25, 1] },
        { name: 'i32', shape: [1, 2], datatype: 'INT32', data: [-5, 2147483646] },
        { name: 'i64', shape: [1, 2], datatype: 'INT64', data: [[-9, 1]] },
        { name: 'u8', shape: [1, 3], datatype: 'UINT8', data: [0, 128, 255] },
        { name: 'b', shape: [1, 2], datatype: 'BOOL', data: [true, false] },
      ],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const out = Object.fromEntries(
      (r.body.outputs as { name: string; data: unknown }[]).map((o) => [o.name, o.data]),
    );
    assert.deepEqual(out.f32_out, [1.5, 2, 3, 4]);
    assert.deepEqual(out.i32_out, [-4, 2147483647]);
    assert.deepEqual(out.i64_out, [-8, 2]);
    assert.deepEqual(out.b_out, [false, true]);
  });

  test('bad bodies get the same 400s as on the HTTP thread', async () => {
    assert.equal(s.app.decoder.active, true);
    const notJson = await s.post('/v2/models/mlp/infer', `{"inputs": [${'1,'.repeat(40)}`);
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.code, 'BAD_INPUT');
    assert.match(notJson.body.error, /not valid JSON/);
    const ragged = await s.post('/v2/models/mlp/infer', {
      inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [[1, 2], [3]] }],
    });
    assert.equal(ragged.status, 400);
    assert.match(ragged.body.error, /ragged/);
    const short = await s.post('/v2/models/mlp/infer', v2Body('x', [1, 784], [1, 2, 3]));
    assert.equal(short.status, 400);
    assert.match(short.body.error, /has 3 values but shape \[1, 784\] needs 784/);
    const dtype = await s.post('/v2/models/mlp/infer', {
      inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP8', data: [1, 2] }],
    });
    assert.equal(dtype.status, 400);
    assert.match(dtype.body.error, /unsupported datatype "FP8"; supported: .*FP32/);
    // ...and the model keeps serving.
    assert.deepEqual((await infer()).body.outputs[0].data, want);
  });
});
