/**
 * What a probe found answering 500: percent-escapes that are not UTF-8 in an inference path
 * (a URIError), a body nested 10,000 arrays deep (a stack overflow), an id that names another
 * key (`<uuid>:seq`: WRONGTYPE), and a number literal beyond a double (`1e309`, answered as
 * `null`). Each is now a 4xx with a JSON error, through the gateway and at the replica.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { EventIngest, Keys, SessionStore } from '../../../shared/index.js';
import { addConstantModel } from '../../helpers/onnx-models.js';
import type { TestRedis } from '../../helpers/redis.js';
import type { TestGateway } from '../../helpers/gateway.js';
import {
  startGatewayOverReplica,
  type GatewayOverReplica,
} from '../../helpers/gateway-over-replica.js';
import { TestWs } from '../../helpers/ws-client.js';
import type { Serving } from '../serving/harness.js';

let env: GatewayOverReplica;
let r: TestRedis;
let s: Serving;
let g: TestGateway;
before(async () => {
  env = await startGatewayOverReplica(
    new InMemoryModelSource().put('add', 1, addConstantModel({ value: 1, width: 2 }), {
      production: true,
    }),
  );
  ({ r, s, g } = env);
});
after(() => env?.close());

async function call(
  base: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${g.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    assert.fail(`${method} ${path} answered ${res.status} without JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, json };
}

/** 4xx, with the error in the protocols' shape (`{error: "<message>", code}`). */
function assertProtocol400(
  r: { status: number; json: Record<string, unknown> },
  what: string,
  message: RegExp,
) {
  assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.json)}`);
  assert.equal(r.json.code, 'BAD_INPUT', what);
  assert.match(String(r.json.error), message, what);
}

const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);

describe('percent-escapes that are not UTF-8 in a path', () => {
  const paths: [string, string][] = [
    ['POST', '/v2/models/%ff%fe/infer'],
    ['POST', '/v2/models/%C0%AE%C0%AE/infer'],
    ['GET', '/v2/models/%ff'],
    ['GET', '/v2/models/%ff/ready'],
    ['GET', '/v2/models/%ff/versions/1/stats'],
    ['POST', '/v1/models/%ff%fe:predict'],
    ['GET', '/v1/models/%C0%AE/metadata'],
  ];
  for (const [method, path] of paths) {
    test(`${method} ${path}: 400 through the gateway and at the replica`, async () => {
      const body = method === 'POST' ? '{}' : undefined;
      for (const [where, base] of [
        ['gateway', g.url],
        ['replica', s.url],
      ] as const) {
        assertProtocol400(
          await call(base, method, path, body),
          `${where} ${path}`,
          /not valid percent-encoded UTF-8/,
        );
      }
    });
  }
});

describe('JSON nested deeper than 64 levels', () => {
  const inference: [string, string][] = [
    ['TF Serving rows', `{"instances":${nested(10_000)}}`],
    ['TF Serving columns', `{"inputs":${nested(10_000)}}`],
    [
      'TF Serving with a NaN token (the lenient parser)',
      `{"instances":[[NaN,1]],"x":${nested(10_000)}}`,
    ],
    [
      'KServe tensor data',
      `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":${nested(10_000)}}]}`,
    ],
    ['KServe, objects', `{"inputs":${nested(100_000, '{}').replaceAll('[', '{"a":[')}}`],
  ];
  for (const [what, body] of inference) {
    test(`inference, ${what}: 400 naming the depth`, async () => {
      const path = what.startsWith('TF') ? '/v1/models/add:predict' : '/v2/models/add/infer';
      assertProtocol400(await call(g.url, 'POST', path, body), what, /more than 64 levels deep/);
    });
  }

  test('a body 64 deep is parsed as usual (and refused for its shape, not its depth)', async () => {
    const r = await call(g.url, 'POST', '/v1/models/add:predict', `{"instances":${nested(63)}}`);
    assert.equal(r.status, 400);
    assert.doesNotMatch(String(r.json.error), /levels deep/);
  });

  test('the REST API: a 400 in the API shape, for JSON and +json bodies', async () => {
    for (const type of ['application/json', 'application/merge-patch+json']) {
      const res = await fetch(`${g.url}/api/v1/config/rules`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': type },
        body: `{"rules":${nested(10_000, '{}')}}`,
      });
      const json = (await res.json()) as { error: string; message: string };
      assert.equal(res.status, 400, `${type}: ${JSON.stringify(json)}`);
      assert.equal(json.error, 'BAD_INPUT');
      assert.match(json.message, /more than 64 levels deep/);
    }
  });

  test('a WebSocket message: an error reply, and the socket stays usable', async () => {
    const ws = await TestWs.open(`${g.url.replace('http', 'ws')}/api/v1/ws`, g.adminToken);
    try {
      ws.ws.send(`{"op":"subscribe","id":"deep","topics":${nested(10_000, '"x"')}}`);
      const reply = await ws.next((m) => m.op === 'reply' && m.ok === false);
      assert.equal(reply.error.code, 'BAD_INPUT');
      assert.match(reply.error.message, /more than 64 levels deep/);
      const ok = await ws.request({ op: 'subscribe', id: 'after', topics: ['events'] });
      assert.equal(ok.ok, true);
    } finally {
      ws.close();
    }
  });
});

describe('number literals beyond a double, and beyond FP32', () => {
  const cases: [string, string, string][] = [
    [
      'KServe 1e309',
      '/v2/models/add/infer',
      '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1e309,1]}]}',
    ],
    [
      'KServe -1e400',
      '/v2/models/add/infer',
      '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,-1e400]}]}',
    ],
    [
      'KServe FP32 1e39',
      '/v2/models/add/infer',
      '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1e39,1]}]}',
    ],
    ['TF Serving 1e309', '/v1/models/add:predict', '{"instances":[[1e309,1]]}'],
    [
      'TF Serving 1e309 beside a NaN token',
      '/v1/models/add:predict',
      '{"instances":[[NaN,1e309]]}',
    ],
  ];
  for (const [what, path, body] of cases) {
    test(`${what}: 400, not an answer of null`, async () => {
      assertProtocol400(await call(g.url, 'POST', path, body), what, /too large for/);
    });
  }

  test('TF Serving clients may still write NaN and Infinity themselves', async () => {
    const res = await fetch(`${g.url}/v1/models/add:predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
      body: '{"instances":[[Infinity,1],[NaN,-Infinity]]}',
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{"predictions":[[Infinity,2],[NaN,-Infinity]]}');
  });
});

describe('ids that look like key suffixes', () => {
  test('GET /api/v1/sessions/<uuid>:seq is a 400, not WRONGTYPE', async () => {
    // A real session with an archived worker event, so its `:seq` key exists.
    const keys = new Keys(g.prefix);
    const rec = await new SessionStore(r.client(), keys).create({
      kind: 'train',
      request: { kind: 'train', model: 'm', dataset: 'd@1' },
    });
    await new EventIngest(r.client(), keys).ingest(rec.id, 1, {
      kind: 'log',
      payload: { lines: ['x'] },
    });
    assert.equal((await call(g.url, 'GET', `/api/v1/sessions/${rec.id}`)).status, 200);
    for (const path of [
      `/api/v1/sessions/${rec.id}:seq`,
      '/api/v1/sessions/a:b',
      '/api/v1/sessions/%00',
      '/api/v1/sessions/%7Bx%7D',
    ]) {
      const res = await call(g.url, 'GET', path);
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error, 'BAD_INPUT', path);
    }
    const event = JSON.stringify({ seq: 2, event: { kind: 'log', payload: { lines: ['y'] } } });
    for (const path of [
      `/api/v1/sessions/${rec.id}:seq/stop`,
      `/api/v1/sessions/${rec.id}:seq/events`,
    ]) {
      const res = await call(g.url, 'POST', path, path.endsWith('events') ? event : '{}');
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.json)}`);
    }
  });

  test('model, dataset, generation and token ids: 400 with the rule', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/models/a:b'],
      ['GET', '/api/v1/models/m/generations/1e3'],
      ['GET', '/api/v1/models/m/generations/0x10'],
      ['GET', '/api/v1/datasets/a:b'],
      ['GET', '/api/v1/datasets/%00'],
      ['DELETE', '/api/v1/tokens/a:b'],
    ] as const) {
      const res = await call(g.url, method, path);
      assert.equal(res.status, 400, `${method} ${path}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error, 'BAD_INPUT', path);
    }
  });

  test('`..` as an id: a JSON 4xx (URL normalisation leaves no id to check)', async () => {
    for (const path of ['/api/v1/sessions/..', '/api/v1/models/%2e%2e', '/api/v1/datasets/..']) {
      const res = await call(g.url, 'GET', path);
      assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
      assert.equal(typeof res.json.error, 'string');
    }
  });
});
