/**
 * What a new user hit: a classifier's generation records its class names, but answers
 * carried only indices and probabilities. A classifier trained by the built-in trainer,
 * registered as the trainer registers it and served from the registry, answers its class
 * names beside the unchanged outputs: KServe v2's `label` (BYTES, JSON and binary), TF
 * Serving's `classes`, Triton's classification extension (HTTP and gRPC), and the CLI's
 * `predict` table.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainAndExport } from '../../../services/trainer/train-and-export.js';
import { mlpModel } from '../../helpers/onnx-models.js';
import { runCli } from '../../helpers/cli.js';
import { inferenceClient, type InferenceClient } from '../../helpers/grpc-client.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { waitFor } from '../../helpers/wait.js';
import { startRegistryServing, type RegistryServing } from './registry-serving.js';

const LABELS = ['setosa', 'versicolor', 'virginica'];
/** Three well-separated clusters, one per class. */
const CENTRES = [
  [0, 0],
  [6, 6],
  [12, 0],
];
// One query row near each centre, in an order that is not the class order.
const QUERY = [
  [12.2, 0.3],
  [0.1, -0.2],
  [5.8, 6.1],
];
const EXPECTED = ['virginica', 'setosa', 'versicolor'];

let r: TestRedis;
let s: RegistryServing;
let g: TestGateway;
let rpc: InferenceClient;
let dir: string;

async function trainedClassifier(): Promise<Uint8Array> {
  const rows = 90;
  const features = new Float32Array(rows * 2);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = i % 3;
    features[i * 2] = CENTRES[c]![0]! + ((i * 7) % 10) / 10 - 0.5;
    features[i * 2 + 1] = CENTRES[c]![1]! + ((i * 3) % 10) / 10 - 0.5;
    labels[i] = c;
  }
  const out = await trainAndExport(
    { kind: 'tabular', rows, dim: 2, features, labels },
    { trainer: 'softmax', epochs: 60, learningRate: 0.05, seed: 1 },
    { labelNames: LABELS },
  );
  assert.equal(out.stopped, false);
  return out.onnx;
}

before(async () => {
  r = await startTestRedis();
  const prefix = r.prefix();
  s = await startRegistryServing(r, prefix);
  const onnx = await trainedClassifier();
  // As services/trainer/run-session.ts registers a generation.
  await s.registry.addGeneration('flowers', {
    type: 'classifier',
    weights: Buffer.from(onnx.buffer, onnx.byteOffset, onnx.byteLength),
    io: {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [
        { name: 'logits', datatype: 'FP32', shape: [-1, 3] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      ],
      labelNames: LABELS,
    },
  });
  await s.registry.promote('flowers', 1);
  // A classifier whose generation records no class names.
  await s.registry.addGeneration('digits', { type: 'classifier', weights: mlpModel([4, 8, 3]) });
  await s.registry.promote('digits', 1);
  await waitFor(() => ['flowers', 'digits'].every((m) => s.app.fleet.host(m)?.gen === 1), {
    what: 'the models live',
    timeoutMs: 60_000,
  });
  g = await startTestGateway(r, { env: { SERVING_UPSTREAM: s.url, SWARMML_PREFIX: prefix } });
  rpc = inferenceClient(`127.0.0.1:${await g.gw.grpc.listen(0, '127.0.0.1')}`);
  dir = mkdtempSync(join(tmpdir(), 'swarmml-class-names-'));
});
after(async () => {
  rpc?.close();
  await g?.close();
  await s?.stop();
  await r?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const auth = () => ({ authorization: `Bearer ${g.adminToken}` });
async function post(path: string, body: unknown): Promise<{ status: number; res: Response }> {
  const res = await fetch(g.url + path, {
    method: 'POST',
    headers: { ...auth(), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, res };
}
const v2Request = (extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 2], data: QUERY.flat() }],
  ...extra,
});

/** The tensors of a binary-extension answer, by output name. */
function splitBinary(
  body: Buffer,
  headerLength: number,
): { head: { outputs: any[] }; blobs: Map<string, Buffer> } {
  const head = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as { outputs: any[] };
  const blobs = new Map<string, Buffer>();
  let at = headerLength;
  for (const o of head.outputs) {
    const size = o.parameters?.binary_data_size as number | undefined;
    if (size === undefined) continue;
    blobs.set(o.name, body.subarray(at, at + size));
    at += size;
  }
  assert.equal(at, body.length, 'every byte is claimed by an output');
  return { head, blobs };
}

/** BYTES elements of the binary extension: each a 4-byte little-endian length, then the bytes. */
function bytesElements(b: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < b.length;) {
    const n = b.readUInt32LE(at);
    out.push(b.subarray(at + 4, at + 4 + n).toString('utf8'));
    at += 4 + n;
  }
  return out;
}

describe('KServe v2', () => {
  test('a labelled classifier answers `label` (BYTES, one name per row) beside its outputs', async () => {
    const { status, res } = await post('/v2/models/flowers/infer', v2Request());
    const body = (await res.json()) as { outputs: any[] };
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(
      body.outputs.map((o) => o.name),
      ['logits', 'probabilities', 'label'],
    );
    const probs = body.outputs[1];
    assert.equal(probs.datatype, 'FP32');
    assert.deepEqual(probs.shape, [3, 3]);
    const label = body.outputs[2];
    assert.deepEqual(
      { datatype: label.datatype, shape: label.shape, data: label.data },
      { datatype: 'BYTES', shape: [3], data: EXPECTED },
    );
    // The names follow the probabilities: each row's best class.
    for (let row = 0; row < 3; row++) {
      const p = probs.data.slice(row * 3, row * 3 + 3) as number[];
      assert.equal(LABELS[p.indexOf(Math.max(...p))], label.data[row]);
    }
  });

  test('binary outputs: BYTES elements carry a 4-byte little-endian length each', async () => {
    const { status, res } = await post(
      '/v2/models/flowers/infer',
      v2Request({ parameters: { binary_data_output: true } }),
    );
    assert.equal(status, 200);
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const { head, blobs } = splitBinary(Buffer.from(await res.arrayBuffer()), headerLength);
    const label = head.outputs.find((o) => o.name === 'label');
    assert.equal(label.datatype, 'BYTES');
    const raw = blobs.get('label')!;
    assert.equal(
      raw.length,
      EXPECTED.reduce((n, l) => n + 4 + l.length, 0),
    );
    assert.deepEqual(bytesElements(raw), EXPECTED);
    assert.equal(blobs.get('probabilities')!.length, 3 * 3 * 4, 'FP32 outputs unchanged');
  });

  test('Triton classification: the top k of an output as score:index:label strings', async () => {
    const { status, res } = await post(
      '/v2/models/flowers/infer',
      v2Request({ outputs: [{ name: 'probabilities', parameters: { classification: 2 } }] }),
    );
    const body = (await res.json()) as { outputs: any[] };
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.outputs.length, 1);
    const c = body.outputs[0];
    assert.equal(c.datatype, 'BYTES');
    assert.deepEqual(c.shape, [3, 2]);
    for (let row = 0; row < 3; row++) {
      const [best, second] = [c.data[row * 2], c.data[row * 2 + 1]].map((s: string) => {
        const [score, index, label] = s.split(':');
        return { score: Number(score), index: Number(index), label };
      });
      assert.equal(best!.label, EXPECTED[row]);
      assert.equal(best!.label, LABELS[best!.index]);
      assert.ok(best!.score > 0.5 && best!.score <= 1, String(best!.score));
      assert.ok(second!.score <= best!.score);
    }
    // Binary too; and without class names the strings are score:index.
    const bin = await post('/v2/models/digits/infer', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
      outputs: [{ name: 'probs', parameters: { classification: 5, binary_data: true } }],
    });
    assert.equal(bin.status, 200);
    const headerLength = Number(bin.res.headers.get('inference-header-content-length'));
    const { head, blobs } = splitBinary(Buffer.from(await bin.res.arrayBuffer()), headerLength);
    assert.deepEqual(head.outputs[0].shape, [1, 3], 'k beyond the classes is cut to them');
    const strings = bytesElements(blobs.get('probs')!);
    assert.equal(strings.length, 3);
    for (const s of strings) assert.match(s, /^[0-9.e-]+:[0-2]$/);
    assert.deepEqual(strings.map((x) => x.split(':')[1]).sort(), ['0', '1', '2']);

    const bad = await post(
      '/v2/models/flowers/infer',
      v2Request({ outputs: [{ name: 'probabilities', parameters: { classification: 0 } }] }),
    );
    assert.equal(bad.status, 400);
    assert.match(((await bad.res.json()) as { error: string }).error, /classification/);
  });

  test('a model without class names answers as before; metadata lists label and the extension', async () => {
    const { res } = await post('/v2/models/digits/infer', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
    });
    const body = (await res.json()) as { outputs: any[] };
    assert.deepEqual(
      body.outputs.map((o) => o.name),
      ['probs'],
    );
    const server = (await (await fetch(`${g.url}/v2`, { headers: auth() })).json()) as {
      extensions: string[];
    };
    assert.ok(server.extensions.includes('classification'));
    const meta = (await (
      await fetch(`${g.url}/v2/models/flowers`, { headers: auth() })
    ).json()) as {
      outputs: { name: string; datatype: string }[];
    };
    assert.deepEqual(meta.outputs.at(-1), { name: 'label', datatype: 'BYTES', shape: [-1] });
    const plain = (await (
      await fetch(`${g.url}/v2/models/digits`, { headers: auth() })
    ).json()) as {
      outputs: { name: string }[];
    };
    assert.deepEqual(
      plain.outputs.map((o) => o.name),
      ['probs'],
    );
  });

  test('gRPC: label as bytes_contents, classification strings, raw BYTES length-prefixed', async () => {
    const typed = await rpc.call(
      'ModelInfer',
      {
        model_name: 'flowers',
        inputs: [
          {
            name: 'input',
            datatype: 'FP32',
            shape: [3, 2],
            contents: { fp32_contents: QUERY.flat() },
          },
        ],
      },
      g.adminToken,
    );
    const label = typed.outputs.find((o: { name: string }) => o.name === 'label');
    assert.equal(label.datatype, 'BYTES');
    assert.deepEqual(
      label.contents.bytes_contents.map((b: Uint8Array) => Buffer.from(b).toString('utf8')),
      EXPECTED,
    );
    const raw = await rpc.call(
      'ModelInfer',
      {
        model_name: 'flowers',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 2] }],
        outputs: [{ name: 'probabilities', parameters: { classification: { int64_param: '1' } } }],
        raw_input_contents: [Buffer.from(Float32Array.from(QUERY.flat()).buffer)],
      },
      g.adminToken,
    );
    assert.deepEqual(raw.outputs[0].shape, ['3', '1']);
    const top = bytesElements(Buffer.from(raw.raw_output_contents[0]));
    assert.deepEqual(
      top.map((t) => t.split(':')[2]),
      EXPECTED,
    );
  });
});

describe('TF Serving predict', () => {
  test('rows: each prediction has `classes` beside the unchanged outputs', async () => {
    const { status, res } = await post('/v1/models/flowers:predict', { instances: QUERY });
    const body = (await res.json()) as { predictions: Record<string, unknown>[] };
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.predictions.length, 3);
    for (const [i, p] of body.predictions.entries()) {
      assert.deepEqual(Object.keys(p), ['logits', 'probabilities', 'classes']);
      assert.equal((p.probabilities as number[]).length, 3);
      assert.equal(p.classes, EXPECTED[i]);
    }
  });

  test('columns: `classes` is one name per row; metadata names it DT_STRING', async () => {
    const { res } = await post('/v1/models/flowers:predict', { inputs: { input: QUERY } });
    const body = (await res.json()) as { outputs: Record<string, unknown> };
    assert.deepEqual(body.outputs.classes, EXPECTED);
    assert.equal((body.outputs.probabilities as number[][]).length, 3);
    const meta = await (
      await fetch(`${g.url}/v1/models/flowers/metadata`, { headers: auth() })
    ).json();
    const outputs = meta.metadata.signature_def.signature_def.serving_default.outputs;
    assert.equal(outputs.classes.dtype, 'DT_STRING');
    // One unnamed output stays a plain list: nothing to add a name beside.
    const single = await post('/v1/models/digits:predict', { instances: [[1, 2, 3, 4]] });
    const plain = (await single.res.json()) as { predictions: number[][] };
    assert.equal(plain.predictions[0]!.length, 3);
  });
});

describe('swarmml predict', () => {
  const file = (name: string, body: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(body));
    return path;
  };

  test('prints a table of row, label, score and top 3 for v2 and TF requests; --json the answer', async () => {
    for (const input of [file('v2.json', v2Request()), file('tf.json', { instances: QUERY })]) {
      const out = await runCli(g.url, g.adminToken, 'predict', 'flowers', '--input', input);
      assert.equal(out.code, 0, out.stderr);
      const lines = out.stdout.trim().split('\n');
      assert.match(lines[0]!, /^ROW\s+LABEL\s+SCORE\s+TOP-3$/);
      assert.equal(lines.length, 4, out.stdout);
      for (const [i, line] of lines.slice(1).entries()) {
        const want = EXPECTED[i]!;
        assert.match(
          line,
          new RegExp(`^${i}\\s+${want}\\s+0\\.\\d{4}\\s+${want} 0\\.\\d{3}, \\w+ `),
        );
        // All three classes, by name.
        for (const l of LABELS) assert.ok(line.includes(`${l} `), `${l} in ${line}`);
      }
    }
    const json = await runCli(
      g.url,
      g.adminToken,
      '--json',
      'predict',
      'flowers',
      '--input',
      join(dir, 'v2.json'),
    );
    assert.equal(json.code, 0, json.stderr);
    const answer = JSON.parse(json.stdout) as { outputs: { name: string }[] };
    assert.deepEqual(
      answer.outputs.map((o) => o.name),
      ['logits', 'probabilities', 'label'],
    );
  });
});
