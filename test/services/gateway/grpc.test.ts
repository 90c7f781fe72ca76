/**
 * KServe v2 over gRPC on the gateway, driven by a @grpc/grpc-js client built from the
 * .proto files, against a real serving replica over the Redis registry: every RPC, the
 * status codes, and the same answer as the HTTP JSON and binary routes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { addConstantModel, mlpModel, seededFloats, typedModel } from '../../helpers/onnx-models.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import {
  startGatewayOverRegistry,
  type GatewayOverRegistry,
} from '../../helpers/gateway-over-replica.js';
import { hasStatus, inferenceClient, type InferenceClient } from '../../helpers/grpc-client.js';
import type { RegistryServing } from '../serving/registry-serving.js';

const ROWS = 3;
const x = seededFloats(ROWS * 784, 5);
const f32Bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

let env: GatewayOverRegistry;
let s: RegistryServing;
let tg: TestGateway;
let rpc: InferenceClient;
let admin: string;
let viewer: string;
let client: string;

before(async () => {
  env = await startGatewayOverRegistry(
    async (s) => {
      await s.registry.addGeneration('mlp', { type: 'classifier', weights: mlpModel() });
      await s.registry.promote('mlp', 1);
      await s.registry.addGeneration('plus', {
        type: 'regressor',
        weights: addConstantModel({ value: 1 }),
      });
      await s.registry.promote('plus', 1);
      await s.registry.addGeneration('typed', { type: 'regressor', weights: typedModel(1) });
      await s.registry.promote('typed', 1);
    },
    (s) => ['mlp', 'plus', 'typed'].every((m) => s.app.fleet.host(m)?.gen === 1),
  );
  ({ s, g: tg, rpc } = env);
  admin = tg.adminToken;
  viewer = (await tg.gw.ctx.tokens.create('v', 'viewer')).token;
  client = (await tg.gw.ctx.tokens.create('c', 'client')).token;
});

after(() => env?.close());

const inferTyped = (token = client) =>
  rpc.call(
    'ModelInfer',
    {
      model_name: 'mlp',
      id: 'typed-1',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [ROWS, 784], contents: { fp32_contents: [...x] } },
      ],
    },
    token,
  );

describe('gRPC health, metadata and config', () => {
  test('server live, ready and metadata', async () => {
    assert.deepEqual(await rpc.call('ServerLive', {}), { live: true });
    assert.deepEqual(await rpc.call('ServerReady', {}), { ready: true });
    const meta = await rpc.call('ServerMetadata', {}, viewer);
    assert.equal(meta.name, 'swarmml');
    // exactly what the gateway serves, the same list as GET /v2
    const http = await fetch(`${tg.url}/v2`, { headers: { authorization: `Bearer ${viewer}` } });
    assert.deepEqual(meta.extensions, ((await http.json()) as { extensions: string[] }).extensions);
    assert.deepEqual(meta.extensions, [
      'binary_tensor_data',
      'classification',
      'model_configuration',
      'model_repository',
      'statistics',
    ]);
  });

  test('model ready, metadata and Triton config', async () => {
    assert.deepEqual(await rpc.call('ModelReady', { name: 'mlp' }, viewer), { ready: true });
    assert.deepEqual(await rpc.call('ModelReady', { name: 'mlp', version: '1' }, viewer), {
      ready: true,
    });
    const meta = await rpc.call('ModelMetadata', { name: 'mlp' }, viewer);
    assert.deepEqual(meta, {
      name: 'mlp',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1', '784'] }],
      outputs: [{ name: 'probs', datatype: 'FP32', shape: ['-1', '10'] }],
    });
    const { config } = await rpc.call('ModelConfig', { name: 'mlp' }, viewer);
    assert.equal(config.name, 'mlp');
    assert.equal(config.max_batch_size, 64);
    assert.equal(config.backend, 'onnxruntime');
    assert.deepEqual(config.input, [{ name: 'x', data_type: 'TYPE_FP32', dims: ['784'] }]);
    assert.deepEqual(config.output, [{ name: 'probs', data_type: 'TYPE_FP32', dims: ['10'] }]);
    assert.equal(config.scheduling_choice, 'dynamic_batching');
    assert.deepEqual(config.version_policy.specific.versions, ['1']);
  });
});

describe('gRPC ModelInfer', () => {
  test('HTTP JSON, HTTP binary, gRPC typed and gRPC raw give identical outputs', async () => {
    const headers = { authorization: `Bearer ${client}` };
    const json = await fetch(`${tg.url}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'x', shape: [ROWS, 784], datatype: 'FP32', data: [...x] }],
      }),
    });
    assert.equal(json.status, 200);
    const fromJson = Float32Array.from(
      ((await json.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data,
    );

    const head = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'x',
            shape: [ROWS, 784],
            datatype: 'FP32',
            parameters: { binary_data_size: x.byteLength },
          },
        ],
        parameters: { binary_data_output: true },
      }),
    );
    const bin = await fetch(`${tg.url}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(head.length),
      },
      body: Buffer.concat([head, f32Bytes(x)]),
    });
    assert.equal(bin.status, 200);
    const binBody = Buffer.from(await bin.arrayBuffer());
    const binHead = Number(bin.headers.get('inference-header-content-length'));
    const fromBinary = new Float32Array(Uint8Array.from(binBody.subarray(binHead)).buffer);

    const typed = await inferTyped();
    assert.equal(typed.model_name, 'mlp');
    assert.equal(typed.model_version, '1');
    assert.equal(typed.id, 'typed-1');
    assert.equal(typed.raw_output_contents.length, 0, 'typed request, typed answer');
    assert.deepEqual(typed.outputs[0].shape, [String(ROWS), '10']);
    const fromTyped = Float32Array.from(typed.outputs[0].contents.fp32_contents as number[]);

    const raw = await rpc.call(
      'ModelInfer',
      {
        model_name: 'mlp',
        model_version: '1',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [ROWS, 784] }],
        outputs: [{ name: 'probs' }],
        raw_input_contents: [f32Bytes(x)],
      },
      client,
    );
    assert.equal(raw.outputs[0].contents, undefined, 'raw request, raw answer');
    assert.equal(raw.outputs[0].datatype, 'FP32');
    const fromRaw = new Float32Array(Uint8Array.from(raw.raw_output_contents[0]).buffer);

    assert.equal(fromJson.length, ROWS * 10);
    // softmax rows: sanity that these are real model outputs, not zeros
    assert.ok(Math.abs(fromJson.slice(0, 10).reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.deepEqual(fromBinary, fromJson);
    assert.deepEqual(fromTyped, fromJson);
    assert.deepEqual(fromRaw, fromJson);
  });

  test('every datatype family, typed and raw; INT64 keeps every digit', async () => {
    const big = '9007199254740993'; // 2^53 + 1: not a float64
    const typed = await rpc.call(
      'ModelInfer',
      {
        model_name: 'typed',
        inputs: [
          {
            name: 'f32',
            datatype: 'FP32',
            shape: [1, 4],
            contents: { fp32_contents: [0.5, 1, 2, 3] },
          },
          { name: 'f64', datatype: 'FP64', shape: [1, 2], contents: { fp64_contents: [0.25, -1] } },
          {
            name: 'i32',
            datatype: 'INT32',
            shape: [1, 2],
            contents: { int_contents: [-5, 2147483646] },
          },
          {
            name: 'i64',
            datatype: 'INT64',
            shape: [1, 2],
            contents: { int64_contents: [big, '-9'] },
          },
          {
            name: 'u8',
            datatype: 'UINT8',
            shape: [1, 3],
            contents: { uint_contents: [0, 128, 255] },
          },
          {
            name: 'b',
            datatype: 'BOOL',
            shape: [1, 2],
            contents: { bool_contents: [true, false] },
          },
        ],
      },
      client,
    );
    type Out = { name: string; datatype: string; contents: any };
    const t = Object.fromEntries((typed.outputs as Out[]).map((o) => [o.name, o]));
    assert.deepEqual(t.f32_out!.contents.fp32_contents, [1.5, 2, 3, 4]);
    assert.deepEqual(t.f64_out!.contents.fp64_contents, [1.25, 0]);
    assert.deepEqual(t.i32_out!.contents.int_contents, [-4, 2147483647]);
    assert.deepEqual(t.i64_out!.contents.int64_contents, ['9007199254740994', '-8']);
    assert.equal(t.i64_out!.datatype, 'INT64');
    assert.deepEqual(t.u8_out!.contents.uint_contents, [0, 128, 255]);
    assert.deepEqual(t.b_out!.contents.bool_contents, [false, true]);

    const le = (n: number, write: (b: Buffer) => void) => {
      const b = Buffer.alloc(n);
      write(b);
      return b;
    };
    const raw = await rpc.call(
      'ModelInfer',
      {
        model_name: 'typed',
        inputs: [
          { name: 'i64', datatype: 'INT64', shape: [1, 2] },
          { name: 'b', datatype: 'BOOL', shape: [1, 2] },
          { name: 'u8', datatype: 'UINT8', shape: [1, 3] },
          { name: 'f32', datatype: 'FP32', shape: [1, 4] },
          { name: 'f64', datatype: 'FP64', shape: [1, 2] },
          { name: 'i32', datatype: 'INT32', shape: [1, 2] },
        ],
        outputs: [{ name: 'i64_out' }, { name: 'b_out' }],
        raw_input_contents: [
          le(16, (b) => (b.writeBigInt64LE(BigInt(big), 0), b.writeBigInt64LE(-9n, 8))),
          Buffer.from([1, 0]),
          Buffer.from([0, 128, 255]),
          f32Bytes(Float32Array.from([0.5, 1, 2, 3])),
          Buffer.from(Float64Array.from([0.25, -1]).buffer),
          Buffer.from(Int32Array.from([-5, 2147483646]).buffer),
        ],
      },
      client,
    );
    assert.deepEqual(
      raw.outputs.map((o: { name: string }) => o.name),
      ['i64_out', 'b_out'],
    );
    const i64 = Buffer.from(raw.raw_output_contents[0]);
    assert.equal(i64.readBigInt64LE(0), BigInt(big) + 1n);
    assert.equal(i64.readBigInt64LE(8), -8n);
    assert.deepEqual([...raw.raw_output_contents[1]], [0, 1]);
  });

  test("typed contents out of a datatype's range: INVALID_ARGUMENT", async () => {
    const err = rpc.call(
      'ModelInfer',
      {
        model_name: 'typed',
        inputs: [
          {
            name: 'u8',
            datatype: 'UINT8',
            shape: [1, 3],
            contents: { uint_contents: [1, 2, 300] },
          },
        ],
      },
      client,
    );
    await assert.rejects(err, hasStatus(status.INVALID_ARGUMENT, /300 .*out of range for UINT8/));
  });

  test('unknown model: NOT_FOUND', async () => {
    const req = {
      model_name: 'nope',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
      ],
    };
    await assert.rejects(rpc.call('ModelInfer', req, client), hasStatus(status.NOT_FOUND, /nope/));
    await assert.rejects(
      rpc.call('ModelMetadata', { name: 'nope' }, viewer),
      hasStatus(status.NOT_FOUND),
    );
    await assert.rejects(
      rpc.call('ModelReady', { name: 'nope' }, viewer),
      hasStatus(status.NOT_FOUND),
    );
  });

  test('bad shape or datatype: INVALID_ARGUMENT', async () => {
    const infer = (inputs: unknown[], raw?: Buffer[]) =>
      rpc.call('ModelInfer', { model_name: 'plus', inputs, raw_input_contents: raw }, client);
    // 3 values for a [1, 4] tensor
    await assert.rejects(
      infer([
        { name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3] } },
      ]),
      hasStatus(status.INVALID_ARGUMENT, /3 values .* needs 4/),
    );
    // raw bytes that do not fit the shape
    await assert.rejects(
      infer([{ name: 'x', datatype: 'FP32', shape: [1, 4] }], [Buffer.alloc(12)]),
      hasStatus(status.INVALID_ARGUMENT, /12 bytes/),
    );
    await assert.rejects(
      infer([
        { name: 'x', datatype: 'FP128', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
      ]),
      hasStatus(status.INVALID_ARGUMENT, /unsupported datatype "FP128"/),
    );
    // contents in the wrong field for the datatype
    await assert.rejects(
      infer([{ name: 'x', datatype: 'FP32', shape: [1, 2], contents: { fp64_contents: [1, 2] } }]),
      hasStatus(status.INVALID_ARGUMENT, /carries fp64_contents/),
    );
    // a well-formed tensor the model refuses (serving checks it against the model's inputs)
    await assert.rejects(
      infer([
        { name: 'x', datatype: 'FP64', shape: [1, 4], contents: { fp64_contents: [1, 2, 3, 4] } },
      ]),
      hasStatus(status.INVALID_ARGUMENT),
    );
    await assert.rejects(
      infer([
        { name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } },
      ]),
      hasStatus(status.INVALID_ARGUMENT),
    );
  });

  test('missing token: UNAUTHENTICATED; viewer predicting: PERMISSION_DENIED', async () => {
    await assert.rejects(inferTyped(''), hasStatus(status.UNAUTHENTICATED, /missing API token/));
    await assert.rejects(inferTyped('not-a-token'), hasStatus(status.UNAUTHENTICATED));
    await assert.rejects(inferTyped(viewer), hasStatus(status.PERMISSION_DENIED, /viewer/));
    await assert.rejects(
      rpc.call('ModelMetadata', { name: 'mlp' }),
      hasStatus(status.UNAUTHENTICATED),
    );
  });
});

describe('gRPC statistics and repository', () => {
  test('ModelStatistics counts successes, failures, executions and batch sizes', async () => {
    const before = (await rpc.call('ModelStatistics', { name: 'mlp' }, viewer)).model_stats[0];
    for (let i = 0; i < 3; i++) await inferTyped();
    // a request serving refuses (no such input): a failure of the model's
    await assert.rejects(
      rpc.call(
        'ModelInfer',
        {
          model_name: 'mlp',
          inputs: [
            { name: 'y', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [1] } },
          ],
        },
        client,
      ),
      hasStatus(status.INVALID_ARGUMENT),
    );
    const { model_stats } = await rpc.call('ModelStatistics', { name: 'mlp' }, viewer);
    assert.equal(model_stats.length, 1);
    const st = model_stats[0];
    assert.equal(st.name, 'mlp');
    assert.equal(st.version, '1');
    const n = (v: string | undefined) => Number(v ?? 0);
    const inf = st.inference_stats;
    const was = before?.inference_stats;
    assert.equal(n(inf.success.count) - n(was?.success?.count), 3);
    assert.equal(n(inf.fail.count) - n(was?.fail?.count), 1);
    assert.ok(n(inf.success.ns) > 0);
    assert.ok(n(inf.compute_infer.ns) > 0 && n(inf.compute_input.count) >= 3);
    assert.equal(n(st.inference_count) - n(before?.inference_count), 3 * ROWS);
    assert.ok(n(st.execution_count) >= 3);
    assert.ok(n(st.last_inference) > Date.now() - 60_000);
    assert.ok(
      st.batch_stats.some((b: { batch_size: string }) => n(b.batch_size) === ROWS),
      JSON.stringify(st.batch_stats),
    );
    // the same figures as the replica's own HTTP route (one replica here)
    const http = (await s.get('/v2/models/mlp/stats')).body.model_stats[0];
    assert.equal(n(inf.success.count), http.inference_stats.success.count);
    const all = await rpc.call('ModelStatistics', {}, viewer);
    assert.deepEqual(
      all.model_stats.map((m: { name: string }) => m.name),
      ['mlp', 'plus', 'typed'],
    );
    await assert.rejects(
      rpc.call('ModelStatistics', { name: 'nope' }, viewer),
      hasStatus(status.NOT_FOUND),
    );
  });

  test('RepositoryIndex, RepositoryModelUnload and RepositoryModelLoad', async () => {
    const index = async (ready = false) =>
      (await rpc.call('RepositoryIndex', { ready }, viewer)).models as {
        name: string;
        version: string;
        state: string;
      }[];
    assert.deepEqual(
      (await index()).map((m) => [m.name, m.version, m.state]),
      [
        ['mlp', '1', 'READY'],
        ['plus', '1', 'READY'],
        ['typed', '1', 'READY'],
      ],
    );
    await assert.rejects(
      rpc.call('RepositoryModelUnload', { model_name: 'plus' }, client),
      hasStatus(status.PERMISSION_DENIED),
    );
    await rpc.call('RepositoryModelUnload', { model_name: 'plus' }, admin);
    assert.deepEqual(
      (await index()).map((m) => m.name),
      ['mlp', 'typed'],
    );
    await assert.rejects(
      rpc.call(
        'ModelInfer',
        {
          model_name: 'plus',
          inputs: [
            {
              name: 'x',
              datatype: 'FP32',
              shape: [1, 4],
              contents: { fp32_contents: [1, 2, 3, 4] },
            },
          ],
        },
        client,
      ),
      hasStatus(status.NOT_FOUND),
    );
    // the last model assigned cannot go: an empty assignment means every model
    await rpc.call('RepositoryModelUnload', { model_name: 'typed' }, admin);
    await assert.rejects(
      rpc.call('RepositoryModelUnload', { model_name: 'mlp' }, admin),
      hasStatus(status.FAILED_PRECONDITION),
    );
    await rpc.call('RepositoryModelLoad', { model_name: 'plus' }, admin);
    assert.deepEqual(
      (await index(true)).map((m) => m.name),
      ['mlp', 'plus'],
    );
    assert.deepEqual(
      await tg.gw.ctx.redis.smembers(tg.gw.ctx.keys.servingAssignment()).then((a) => a.sort()),
      ['mlp', 'plus'],
    );
    const out = await rpc.call(
      'ModelInfer',
      {
        model_name: 'plus',
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
        ],
      },
      client,
    );
    assert.deepEqual(out.outputs[0].contents.fp32_contents, [2, 3, 4, 5]);
    for (const rpcName of ['RepositoryModelLoad', 'RepositoryModelUnload']) {
      await assert.rejects(
        rpc.call(rpcName, { model_name: 'nope' }, admin),
        hasStatus(status.NOT_FOUND),
      );
    }
    await assert.rejects(
      rpc.call('RepositoryModelLoad', { model_name: '../x' }, admin),
      hasStatus(status.INVALID_ARGUMENT),
    );
  });

  test('serving down: UNAVAILABLE', async () => {
    const down = await startTestGateway(env.r, { env: { SERVING_UPSTREAM: 'http://127.0.0.1:9' } });
    const port = await down.gw.grpc.listen(0, '127.0.0.1');
    const c = inferenceClient(`127.0.0.1:${port}`);
    try {
      await assert.rejects(c.call('ServerReady', {}), hasStatus(status.UNAVAILABLE));
      await assert.rejects(
        c.call(
          'ModelInfer',
          {
            model_name: 'mlp',
            inputs: [
              { name: 'x', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1, 2] } },
            ],
          },
          down.adminToken,
        ),
        hasStatus(status.UNAVAILABLE),
      );
    } finally {
      c.close();
      await down.close();
    }
  });
});
