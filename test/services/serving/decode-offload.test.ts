import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { DecodeOffload } from '../../../services/serving/decoding/decode-offload.js';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { createLogger } from '../../../shared/runtime/logger.js';
import { mlpModel, seededFloats, typedModel } from '../../helpers/onnx-models.js';
import { waitFor } from '../../helpers/wait.js';
import { startServing, v2Body, type Serving } from './harness.js';

// JSON bodies of 64 bytes or more that arrive while others are being handled go to the
// decoder thread once it is up: the tensors, and the errors, must be those of decoding on the
// HTTP thread.
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
    // Alone, a request is decoded in place and starts nothing.
    const alone = await infer();
    assert.equal(alone.status, 200);
    assert.deepEqual(alone.body.outputs[0].data, want);
    assert.equal(s.app.decoder.active, false);
    // Concurrent ones start the thread, and are decoded in place meanwhile.
    await waitFor(
      async () => {
        const rs = await Promise.all(Array.from({ length: 4 }, infer));
        for (const r of rs) assert.deepEqual(r.body.outputs[0].data, want);
        return s.app.decoder.active;
      },
      { timeoutMs: 60_000, what: 'the decoder thread to be up' },
    );
    const many = await Promise.all(Array.from({ length: 16 }, infer));
    for (const r of many) assert.deepEqual(r.body.outputs[0].data, want);
  });

  test('every datatype crosses the thread, 64-bit integers included', async () => {
    assert.equal(s.app.decoder.active, true);
    const body = Buffer.from(
      JSON.stringify({
        id: 'r1',
        inputs: [
          { name: 'f32', shape: [1, 2], datatype: 'FP32', data: [0.5, 1] },
          { name: 'f64', shape: [1, 2], datatype: 'FP64', data: [0.25, 1] },
          { name: 'i32', shape: [1, 2], datatype: 'INT32', data: [-5, 2147483646] },
          { name: 'i64', shape: [1, 2], datatype: 'INT64', data: [[-9, 1]] },
          { name: 'u8', shape: [1, 3], datatype: 'UINT8', data: [0, 128, 255] },
          { name: 'b', shape: [1, 2], datatype: 'BOOL', data: [true, false] },
        ],
        outputs: [{ name: 'f32_out', parameters: { binary_data: true } }],
      }),
    );
    const d = await s.app.decoder.kserve(body, undefined, true);
    assert.equal(d.id, 'r1');
    assert.deepEqual(d.inputs.f32!.data, new Float32Array([0.5, 1]));
    assert.deepEqual(d.inputs.f64!.data, new Float64Array([0.25, 1]));
    assert.deepEqual(d.inputs.i32!.data, new Int32Array([-5, 2147483646]));
    assert.deepEqual(d.inputs.i64!.data, new BigInt64Array([-9n, 1n]));
    assert.deepEqual(d.inputs.u8!.data, new Uint8Array([0, 128, 255]));
    assert.deepEqual(d.inputs.b!.data, new Uint8Array([1, 0]));
    assert.deepEqual(d.inputs.i64!.dims, [1, 2]);
    assert.deepEqual(d.outputs, [{ name: 'f32_out', binary: true }]);
  });

  test('bad bodies get the same errors as on the HTTP thread', async () => {
    assert.equal(s.app.decoder.active, true);
    const decode = (v: unknown) =>
      s.app.decoder.kserve(
        Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)),
        undefined,
        true,
      );
    await assert.rejects(
      decode(`{"inputs": [${'1,'.repeat(40)}`),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'BAD_INPUT');
        assert.match(err.message, /not valid JSON/);
        return true;
      },
    );
    await assert.rejects(
      decode({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [[1, 2], [3]] }] }),
      /ragged/,
    );
    await assert.rejects(
      decode(v2Body('x', [1, 784], [1, 2, 3])),
      /has 3 values but shape \[1, 784\] needs 784/,
    );
    await assert.rejects(
      decode({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP8', data: [1, 2] }] }),
      /unsupported datatype "FP8"; supported: .*FP32/,
    );
    // ...and through HTTP, under load, the model keeps serving.
    const rs = await Promise.all(Array.from({ length: 8 }, infer));
    for (const r of rs) assert.deepEqual(r.body.outputs[0].data, want);
  });
});

test('bodies the decoder thread holds when it goes are decoded in place, none is lost', async () => {
  const decoder = new DecodeOffload({ minBytes: 1, log: createLogger('decode-test', 'silent') });
  const body = Buffer.from(JSON.stringify(v2Body('x', [1, 3], [1, 2, 3])));
  await decoder.kserve(body, undefined, true); // starts the thread
  await waitFor(() => decoder.active, { timeoutMs: 60_000, what: 'the decoder thread to be up' });
  const pending = Array.from({ length: 50 }, () => decoder.kserve(body, undefined, true));
  await decoder.close();
  for (const d of await Promise.all(pending))
    assert.deepEqual(d.inputs.x!.data, new Float32Array([1, 2, 3]));
  // Closed, it decodes in place.
  assert.deepEqual(
    (await decoder.kserve(body, undefined, true)).inputs.x!.data,
    new Float32Array([1, 2, 3]),
  );
});
