/**
 * HTTP compression on serving's inference routes: gzip and deflate request bodies (JSON and
 * Triton's binary tensors, whose header length counts the inflated JSON), the body limit on
 * the inflated size (a zip bomb gets a 413 that does not echo it), and gzip'ed answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync, deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { mlpModel, seededFloats } from '../../helpers/onnx-models.js';
import { startServing, type Serving } from './harness.js';

const ROWS = 8; // 80 probabilities: an answer over 1 KB
const x = Array.from(seededFloats(ROWS * 784, 3));
const jsonBody = JSON.stringify({
  inputs: [{ name: 'x', shape: [ROWS, 784], datatype: 'FP32', data: x }],
});

/** The same request as Triton's binary tensor extension: JSON header, then the raw FP32. */
function binaryBody(): { body: Buffer; headerLength: number } {
  const head = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'x',
          shape: [ROWS, 784],
          datatype: 'FP32',
          parameters: { binary_data_size: ROWS * 784 * 4 },
        },
      ],
      outputs: [{ name: 'probs', parameters: { binary_data: false } }],
    }),
  );
  const raw = Buffer.from(new Float32Array(x).buffer);
  return { body: Buffer.concat([head, raw]), headerLength: head.length };
}

describe('HTTP compression on the inference routes', () => {
  let s: Serving;
  let plain: number[];
  before(async () => {
    s = await startServing(
      new InMemoryModelSource().put('mlp', 1, mlpModel(), { production: true }),
      {
        MAX_BODY_BYTES: String(1024 * 1024),
      },
    );
    const res = await s.post('/v2/models/mlp/infer', jsonBody);
    assert.equal(res.status, 200);
    plain = res.body.outputs[0].data;
  });
  after(() => s.stop());

  const post = (path: string, body: Buffer, headers: Record<string, string>) =>
    fetch(s.url + path, { method: 'POST', headers, body: new Uint8Array(body) });

  test('gzip, deflate (zlib and raw) JSON bodies give the plain answer', async () => {
    for (const [coding, bytes] of [
      ['gzip', gzipSync(jsonBody)],
      ['deflate', deflateSync(jsonBody)],
      ['deflate', deflateRawSync(jsonBody)],
    ] as const) {
      const res = await post('/v2/models/mlp/infer', bytes, {
        'content-type': 'application/json',
        'content-encoding': coding,
      });
      assert.equal(res.status, 200, `${coding}: ${await res.clone().text()}`);
      const out = (await res.json()) as { outputs: { data: number[] }[] };
      assert.deepEqual(out.outputs[0]!.data, plain);
    }
  });

  test('a gzip binary body: Inference-Header-Content-Length counts the inflated JSON', async () => {
    const { body, headerLength } = binaryBody();
    for (const coding of ['gzip', 'deflate']) {
      const res = await post(
        '/v2/models/mlp/infer',
        coding === 'gzip' ? gzipSync(body) : deflateSync(body),
        {
          'content-type': 'application/octet-stream',
          'content-encoding': coding,
          'inference-header-content-length': String(headerLength),
        },
      );
      assert.equal(res.status, 200, await res.clone().text());
      const out = (await res.json()) as { outputs: { data: number[] }[] };
      assert.deepEqual(out.outputs[0]!.data, plain);
    }
  });

  test('TF Serving predict takes a gzip body too', async () => {
    const body = JSON.stringify({ instances: [x.slice(0, 784)] });
    const res = await post('/v1/models/mlp:predict', gzipSync(body), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    assert.equal(res.status, 200, await res.clone().text());
    const out = (await res.json()) as { predictions: number[][] };
    assert.equal(out.predictions[0]!.length, 10);
  });

  test('a body that inflates past the limit is a 413 that does not echo it', async () => {
    // 8 MiB of one byte repeated: 8 KiB on the wire, eight times the 1 MiB limit
    const marker = 'BOMBBOMB';
    const bomb = gzipSync(Buffer.from(marker.repeat(1024 * 1024)));
    assert.ok(bomb.length < 64 * 1024);
    const res = await post('/v2/models/mlp/infer', bomb, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    assert.equal(res.status, 413);
    const text = await res.text();
    assert.match(JSON.parse(text).error, /inflates past the limit of 1048576 bytes/);
    assert.ok(!text.includes(marker));
  });

  test('corrupt or unknown codings are a 400 and a 415, without the bytes', async () => {
    const bad = await post('/v2/models/mlp/infer', Buffer.from('not gzip at all'), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    assert.equal(bad.status, 400);
    const text = await bad.text();
    assert.match(text, /not valid gzip data/);
    assert.ok(!text.includes('not gzip at all'));
    const br = await post('/v2/models/mlp/infer', Buffer.from(jsonBody), {
      'content-type': 'application/json',
      'content-encoding': 'br',
    });
    assert.equal(br.status, 415);
  });

  test("answers over 1 KB are gzip'ed for clients that accept it, others go plain", async () => {
    const raw = (acceptEncoding: string, body: string = jsonBody) =>
      new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        // node:http, not fetch: fetch inflates answers itself and hides the coding
        import('node:http').then(({ request }) => {
          const req = request(
            `${s.url}/v2/models/mlp/infer`,
            {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'accept-encoding': acceptEncoding },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
            },
          );
          req.on('error', reject);
          req.end(body);
        }, reject);
      });
    const zipped = await raw('gzip, deflate');
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(Number(zipped.headers['content-length']), zipped.body.length);
    const inflated = JSON.parse(gunzipSync(zipped.body).toString()) as {
      outputs: { data: number[] }[];
    };
    assert.deepEqual(inflated.outputs[0]!.data, plain);
    const refused = await raw('gzip;q=0, identity');
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.deepEqual(JSON.parse(refused.body.toString()).outputs[0].data, plain);

    // Binary outputs: the JSON header and the tensor bytes, written as parts or gzip'ed whole.
    const rows = 40; // 400 probabilities, 1.6 KB
    const big = Array.from(seededFloats(rows * 784, 4));
    const bigJson = await s.post(
      '/v2/models/mlp/infer',
      JSON.stringify({ inputs: [{ name: 'x', shape: [rows, 784], datatype: 'FP32', data: big }] }),
    );
    const expected = (bigJson.body.outputs[0].data as number[]).map(Math.fround);
    const binaryOut = JSON.stringify({
      inputs: [{ name: 'x', shape: [rows, 784], datatype: 'FP32', data: big }],
      outputs: [{ name: 'probs', parameters: { binary_data: true } }],
    });
    for (const coding of ['gzip', 'identity']) {
      const answer = await raw(coding, binaryOut);
      assert.equal(answer.headers['content-encoding'], coding === 'gzip' ? 'gzip' : undefined);
      assert.equal(Number(answer.headers['content-length']), answer.body.length);
      const whole = coding === 'gzip' ? gunzipSync(answer.body) : answer.body;
      const headerLength = Number(answer.headers['inference-header-content-length']);
      const header = JSON.parse(whole.subarray(0, headerLength).toString()) as {
        outputs: { parameters: { binary_data_size: number } }[];
      };
      const bytes = whole.subarray(headerLength);
      assert.equal(bytes.length, header.outputs[0]!.parameters.binary_data_size);
      const floats = new Float32Array(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
      );
      assert.deepEqual([...floats], expected, coding);
    }
  });
});
