/**
 * Conformance on third-party ONNX files with state and INT64 inputs (ONNX's own node tests,
 * test/fixtures/onnx-testdata): an LSTM fed its recurrent state (`initial_h`, `initial_c`) and
 * INT32 sequence lengths, and a Gather with INT64 indices. HTTP JSON, HTTP binary tensors and
 * gRPC (typed and raw contents) through the gateway give the same tensor bit for bit, and
 * what onnxruntime gives when run directly.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { seededFloats } from '../helpers/onnx-models.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { inferenceClient, type InferenceClient } from '../helpers/grpc-client.js';
import { waitFor } from '../helpers/wait.js';
import {
  startRegistryServing,
  type RegistryServing,
} from '../services/serving/registry-serving.js';

const fixture = (f: string) => new URL(`../fixtures/onnx-testdata/${f}`, import.meta.url);

type Dtype = 'FP32' | 'INT32' | 'INT64';
interface Input {
  name: string;
  datatype: Dtype;
  shape: number[];
  data: number[];
}

const f32 = (name: string, shape: number[], seed: number): Input => ({
  name,
  datatype: 'FP32',
  shape,
  data: [
    ...seededFloats(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
  ],
});

const MODELS: { name: string; file: string; inputs: Input[]; output: string }[] = [
  {
    name: 'lstm',
    file: 'lstm_with_peepholes.onnx',
    output: 'Y_h',
    inputs: [
      f32('X', [1, 2, 4], 1),
      f32('W', [1, 12, 4], 2),
      f32('R', [1, 12, 3], 3),
      f32('B', [1, 24], 4),
      { name: 'sequence_lens', datatype: 'INT32', shape: [2], data: [1, 1] },
      f32('initial_h', [1, 2, 3], 5),
      f32('initial_c', [1, 2, 3], 6),
      f32('P', [1, 9], 7),
    ],
  },
  {
    name: 'gather',
    file: 'gather_0.onnx',
    output: 'y',
    inputs: [
      f32('data', [5, 4, 3, 2], 8),
      { name: 'indices', datatype: 'INT64', shape: [3], data: [0, 4, 2] },
    ],
  },
];

const typedArray = (i: Input) =>
  i.datatype === 'FP32'
    ? Float32Array.from(i.data)
    : i.datatype === 'INT32'
      ? Int32Array.from(i.data)
      : BigInt64Array.from(i.data.map(BigInt));
const bytesOf = (i: Input) => {
  const a = typedArray(i);
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
};
const CONTENTS: Record<Dtype, string> = {
  FP32: 'fp32_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
};

let r: TestRedis;
let s: RegistryServing;
let tg: TestGateway;
let rpc: InferenceClient;
let token: string;

before(async () => {
  r = await startTestRedis();
  const prefix = r.prefix();
  s = await startRegistryServing(r, prefix);
  for (const m of MODELS) {
    await s.registry.addGeneration(m.name, {
      type: 'regressor',
      weights: readFileSync(fixture(m.file)),
    });
    await s.registry.promote(m.name, 1);
  }
  await waitFor(() => MODELS.every((m) => s.app.fleet.host(m.name)?.gen === 1), {
    what: 'the models live',
    timeoutMs: 60_000,
  });
  tg = await startTestGateway(r, { env: { SERVING_UPSTREAM: s.url, SWARMML_PREFIX: prefix } });
  rpc = inferenceClient(`127.0.0.1:${await tg.gw.grpc.listen(0, '127.0.0.1')}`);
  token = (await tg.gw.ctx.tokens.create('c', 'client')).token;
});

after(async () => {
  rpc?.close();
  await tg?.close();
  await s?.stop();
  await r?.stop();
});

async function post(model: string, body: Buffer | string, headers: Record<string, string>) {
  const res = await fetch(`${tg.url}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return res;
}

for (const m of MODELS) {
  test(`${m.name}: HTTP JSON, HTTP binary, gRPC typed and raw equal onnxruntime's answer`, async () => {
    const session = await ort.InferenceSession.create(readFileSync(fixture(m.file)));
    const feeds = Object.fromEntries(
      m.inputs.map((i) => [
        i.name,
        new ort.Tensor(
          i.datatype === 'FP32' ? 'float32' : i.datatype === 'INT32' ? 'int32' : 'int64',
          typedArray(i),
          i.shape,
        ),
      ]),
    );
    const direct = Float32Array.from((await session.run(feeds))[m.output]!.data as Float32Array);
    await session.release();

    const json = await post(m.name, JSON.stringify({ inputs: m.inputs }), {
      'content-type': 'application/json',
    });
    const jsonOut = ((await json.json()) as { outputs: { name: string; data: number[] }[] })
      .outputs;
    const fromJson = Float32Array.from(jsonOut.find((o) => o.name === m.output)!.data);

    const head = Buffer.from(
      JSON.stringify({
        inputs: m.inputs.map(({ data, ...rest }) => ({
          ...rest,
          parameters: { binary_data_size: bytesOf({ data, ...rest }).length },
        })),
        outputs: [{ name: m.output, parameters: { binary_data: true } }],
      }),
    );
    const bin = await post(m.name, Buffer.concat([head, ...m.inputs.map(bytesOf)]), {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(head.length),
    });
    const binBody = Buffer.from(await bin.arrayBuffer());
    const at = Number(bin.headers.get('inference-header-content-length'));
    const fromBinary = new Float32Array(Uint8Array.from(binBody.subarray(at)).buffer);

    const grpcInputs = m.inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape }));
    const typed = await rpc.call(
      'ModelInfer',
      {
        model_name: m.name,
        inputs: m.inputs.map(({ data, ...rest }) => ({
          ...rest,
          contents: {
            [CONTENTS[rest.datatype]]: rest.datatype === 'INT64' ? data.map(String) : data,
          },
        })),
        outputs: [{ name: m.output }],
      },
      token,
    );
    const fromTyped = Float32Array.from(typed.outputs[0].contents.fp32_contents as number[]);
    const raw = await rpc.call(
      'ModelInfer',
      {
        model_name: m.name,
        inputs: grpcInputs,
        outputs: [{ name: m.output }],
        raw_input_contents: m.inputs.map(bytesOf),
      },
      token,
    );
    const fromRaw = new Float32Array(Uint8Array.from(raw.raw_output_contents[0]).buffer);

    assert.ok(direct.length > 0 && direct.some((v) => v !== 0));
    // serving's session options (optimisation level, threads) may move the last bit
    assert.equal(fromJson.length, direct.length);
    fromJson.forEach((v, k) => assert.ok(Math.abs(v - direct[k]!) < 1e-6, `${k}: ${v}`));
    assert.deepEqual(fromBinary, fromJson);
    assert.deepEqual(fromTyped, fromJson);
    assert.deepEqual(fromRaw, fromJson);
  });
}
