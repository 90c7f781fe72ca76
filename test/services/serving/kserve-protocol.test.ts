import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { mlpModel, seededFloats, typedModel } from '../../helpers/onnx-models.js';
import { startServing, v2Body, type JsonBody, type Serving } from './harness.js';

const typedRequest = {
  id: 'req-42',
  inputs: [
    {
      name: 'f32',
      shape: [2, 4],
      datatype: 'FP32',
      data: [
        [0.5, 1, 2, 3],
        [4, 5, 6, 7],
      ],
    },
    { name: 'f64', shape: [2, 2], datatype: 'FP64', data: [0.25, 1, 2, 3] },
    { name: 'i32', shape: [2, 2], datatype: 'INT32', data: [-5, 0, 7, 2147483646] },
    {
      name: 'i64',
      shape: [2, 2],
      datatype: 'INT64',
      data: [
        [-9, 1],
        [2, 3],
      ],
    },
    { name: 'u8', shape: [2, 3], datatype: 'UINT8', data: [0, 128, 255, 1, 2, 3] },
    { name: 'b', shape: [2, 2], datatype: 'BOOL', data: [true, false, false, true] },
  ],
};

describe('KServe v2 protocol', () => {
  let s: Serving;
  const mlp = mlpModel();
  before(async () => {
    const src = new InMemoryModelSource()
      .put('typed', 1, typedModel(1), { production: true })
      .put('mlp', 3, mlp, { production: true });
    s = await startServing(src);
  });
  after(() => s.stop());

  test('server metadata, health and model list', async () => {
    const meta = await s.get('/v2');
    assert.equal(meta.status, 200);
    assert.ok(meta.body.extensions.includes('binary_tensor_data'));
    assert.deepEqual(await s.get('/v2/health/live'), { status: 200, body: { live: true } });
    assert.deepEqual(await s.get('/v2/health/ready'), { status: 200, body: { ready: true } });
    assert.deepEqual((await s.get('/v2/models')).body, { models: ['mlp', 'typed'] });
    assert.deepEqual(await s.get('/v2/models/mlp/ready'), {
      status: 200,
      body: { name: 'mlp', ready: true },
    });
  });

  test('model metadata and Triton config', async () => {
    const meta = await s.get('/v2/models/mlp');
    assert.deepEqual(meta.body, {
      name: 'mlp',
      versions: ['3'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 784] }],
      outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 10] }],
    });
    const cfg = await s.get('/v2/models/mlp/config');
    assert.equal(cfg.body.max_batch_size, 64);
    assert.deepEqual(cfg.body.input, [{ name: 'x', data_type: 'TYPE_FP32', dims: [784] }]);
    assert.equal((await s.get('/v2/models/mlp/versions/3')).status, 200);
  });

  test('outputs equal onnxruntime in-process', async () => {
    const x = seededFloats(3 * 784, 11);
    const session = await ort.InferenceSession.create(mlp);
    const want = (await session.run({ x: new ort.Tensor('float32', x, [3, 784]) })).probs!
      .data as Float32Array;
    const r = await s.post('/v2/models/mlp/infer', v2Body('x', [3, 784], Array.from(x)));
    assert.equal(r.status, 200);
    assert.equal(r.body.model_version, '3');
    assert.deepEqual(r.body.outputs[0].shape, [3, 10]);
    assert.deepEqual(r.body.outputs[0].data, Array.from(want));
    await session.release();
  });

  test('every datatype, nested and flat data, id echo', async () => {
    const r = await s.post('/v2/models/typed/infer', typedRequest);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.id, 'req-42');
    const out: Record<string, JsonBody> = {};
    for (const o of r.body.outputs as { name: string }[]) out[o.name] = o;
    assert.deepEqual(out.f32_out.data, [1.5, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(out.f64_out.datatype, 'FP64');
    assert.deepEqual(out.f64_out.data, [1.25, 2, 3, 4]);
    assert.deepEqual(out.i32_out.data, [-4, 1, 8, 2147483647]);
    assert.deepEqual(out.i64_out.data, [-8, 2, 3, 4]);
    assert.deepEqual(out.u8_out.data, [0, 128, 255, 1, 2, 3]);
    assert.equal(out.b_out.datatype, 'BOOL');
    assert.deepEqual(out.b_out.data, [false, true, true, false]);
  });

  test('outputs selection returns only the named outputs, in order', async () => {
    const r = await s.post('/v2/models/typed/infer', {
      ...typedRequest,
      outputs: [{ name: 'b_out' }, { name: 'i32_out' }],
    });
    assert.deepEqual(
      r.body.outputs.map((o: { name: string }) => o.name),
      ['b_out', 'i32_out'],
    );
  });

  test('binary tensor data in and out', async () => {
    const x = seededFloats(784, 5);
    const json = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'x',
            shape: [1, 784],
            datatype: 'FP32',
            parameters: { binary_data_size: 784 * 4 },
          },
        ],
        outputs: [{ name: 'probs', parameters: { binary_data: true } }],
      }),
    );
    const res = await fetch(`${s.url}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(json.length),
      },
      body: Buffer.concat([json, Buffer.from(x.buffer)]),
    });
    assert.equal(res.status, 200);
    const headerLen = Number(res.headers.get('inference-header-content-length'));
    const body = Buffer.from(await res.arrayBuffer());
    const head = JSON.parse(body.toString('utf8', 0, headerLen));
    assert.equal(head.outputs[0].parameters.binary_data_size, 40);
    assert.equal(head.outputs[0].data, undefined);
    const probs = new Float32Array(
      body.buffer.slice(body.byteOffset + headerLen, body.byteOffset + headerLen + 40),
    );
    const json2 = await s.post('/v2/models/mlp/infer', v2Body('x', [1, 784], Array.from(x)));
    assert.deepEqual(Array.from(probs), json2.body.outputs[0].data);
    const sum = probs.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5);
  });

  test('bad requests get 4xx with a helpful body, and the model keeps serving', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      [
        '/v2/models/mlp/infer',
        v2Body('nope', [1, 784], new Array(784).fill(0)),
        400,
        /no input "nope".*inputs are: x/,
      ],
      [
        '/v2/models/mlp/infer',
        v2Body('x', [1, 783], new Array(783).fill(0)),
        400,
        /shape \[1, 783\].*expects \[-1, 784\]/,
      ],
      [
        '/v2/models/mlp/infer',
        {
          inputs: [{ name: 'x', shape: [1, 784], datatype: 'FP64', data: new Array(784).fill(0) }],
        },
        400,
        /FP64.*expects FP32/,
      ],
      [
        '/v2/models/mlp/infer',
        { inputs: [{ name: 'x', shape: [1, 784], datatype: 'STRINGY', data: [] }] },
        400,
        /unsupported datatype "STRINGY"/,
      ],
      [
        '/v2/models/mlp/infer',
        v2Body('x', [1, 784], [1, 2, 3]),
        400,
        /3 values but shape \[1, 784\] needs 784/,
      ],
      [
        '/v2/models/mlp/infer',
        { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 'a'] }] },
        400,
        /element 1 is "a"/,
      ],
      ['/v2/models/mlp/infer', '{"inputs": [', 400, /not valid JSON/],
      ['/v2/models/mlp/infer', { inputs: [] }, 400, /inputs/],
      [
        '/v2/models/typed/infer',
        { inputs: typedRequest.inputs.slice(1) },
        400,
        /missing input "f32" \(FP32 \[-1, 4\]\)/,
      ],
      [
        '/v2/models/typed/infer',
        { ...typedRequest, outputs: [{ name: 'zzz' }] },
        400,
        /no output "zzz".*f32_out/,
      ],
      [
        '/v2/models/typed/infer',
        { inputs: [{ ...typedRequest.inputs[2], data: [1.5, 0, 0, 0] }] },
        400,
        /integer that fits INT32/,
      ],
      ['/v2/models/ghost/infer', v2Body('x', [1], [1]), 404, /unknown model "ghost".*mlp, typed/],
      [
        '/v2/models/mlp/versions/9/infer',
        v2Body('x', [1, 784], new Array(784).fill(0)),
        404,
        /no version 9; known versions: 3/,
      ],
      [
        '/v2/models/mlp/versions/abc/infer',
        v2Body('x', [1, 784], new Array(784).fill(0)),
        404,
        /versions are generation numbers/,
      ],
    ];
    for (const [path, body, status, re] of cases) {
      const r = await s.post(path, body);
      assert.equal(
        r.status,
        status,
        `${path} ${JSON.stringify(body).slice(0, 80)} → ${JSON.stringify(r.body)}`,
      );
      assert.equal(typeof r.body.error, 'string');
      assert.match(r.body.error, re);
    }
    assert.equal((await s.get('/v2/models/ghost')).status, 404);
    assert.equal((await s.get('/v2/nothing/here')).status, 404);
    const ok = await s.post('/v2/models/mlp/infer', v2Body('x', [1, 784], new Array(784).fill(0)));
    assert.equal(ok.status, 200);
  });

  test('metrics count requests and errors', async () => {
    const m = await s.get('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.body, /swarmml_serving_requests_total\{model="mlp",protocol="kserve"\} \d+/);
    assert.match(
      m.body,
      /swarmml_serving_errors_total\{model="mlp",protocol="kserve",status="400"\} \d+/,
    );
    assert.match(m.body, /swarmml_serving_queue_depth\{model="mlp"\} 0/);
  });
});
