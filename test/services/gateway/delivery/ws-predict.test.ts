import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryModelSource } from '../../../../services/serving/hosting/model-source.js';
import { mlpModel } from '../../../helpers/onnx-models.js';
import { freePortBlock } from '../../../helpers/ports.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../../helpers/gateway.js';
import { TestWs } from '../../../helpers/ws-client.js';
import { waitFor } from '../../../helpers/wait.js';
import { startServing, type Serving } from '../../serving/harness.js';

// A WebSocket `predict` is served by the same inference path as POST /v2/.../infer: retried
// on another replica when the first cannot be reached, and captured for delivery rules.
let r: TestRedis;
let serving: Serving;
let g: TestGateway;
let ws: TestWs | undefined;

before(async () => {
  const models = new InMemoryModelSource().put('digits', 2, mlpModel([4, 8, 3]), {
    production: true,
  });
  [r, serving] = await Promise.all([startTestRedis(), startServing(models)]);
  // The first replica listed refuses connections (nothing listens there); replicas are
  // picked round-robin from the first, so the first predict meets it.
  const dead = `http://127.0.0.1:${await freePortBlock(1)}`;
  g = await startTestGateway(r, { env: { SERVING_UPSTREAM: `${dead},${serving.url}` } });
});
after(async () => {
  ws?.close();
  await g?.close();
  await serving?.stop();
  await r?.stop();
});

test('a WebSocket prediction is retried across replicas and delivered like an HTTP one', async () => {
  const put = await fetch(`${g.url}/api/v1/config/delivery`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      channels: { screen: { type: 'ws', topic: 'alerts' } },
      formatters: { raw: { type: 'json' } },
      rules: [{ id: 'screen', model: 'digits', channel: 'screen', formatter: 'raw' }],
    }),
  });
  const applied = (await put.json()) as { version: number };
  assert.equal(put.status, 200, JSON.stringify(applied));
  await waitFor(() => g.gw.comm.delivery.applied().delivery === applied.version, {
    what: 'delivery config applied',
  });

  ws = await TestWs.open(g.url.replace('http', 'ws') + '/api/v1/ws', g.adminToken);
  await ws.request({ op: 'subscribe', id: 's', topics: ['delivery:alerts'] });
  const x = [0.5, -1, 2, 0.25];
  const reply = await ws.request({
    op: 'predict',
    id: 'p1',
    model: 'digits',
    request: {
      id: 'ws-req-1',
      inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: x }],
      parameters: { site: 'lyon' },
    },
  });
  assert.equal(reply.ok, true, JSON.stringify(reply));
  const probs = reply.result.outputs[0].data as number[];
  assert.equal(probs.length, 3);

  // The same answer over HTTP, for comparison with what delivery got.
  const http = await serving.post('/v2/models/digits/infer', {
    inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: x }],
  });
  assert.deepEqual(http.body.outputs[0].data, probs);

  const delivered = await ws.next(
    (m) => m.op === 'event' && m.topic === 'delivery:alerts' && m.event.payload?.rule === 'screen',
    15_000,
  );
  const p = delivered.event.payload.data;
  assert.equal(p.id, 'ws-req-1');
  assert.equal(p.model, 'digits');
  assert.equal(p.generation, 2);
  assert.deepEqual(p.inputs, { metadata: { site: 'lyon' }, shapes: { x: [1, 4] } });
  assert.deepEqual(p.outputs[0].data, probs);

  // A model no replica serves: the replica's protocol error comes back as a reply error.
  const missing = await ws.request({
    op: 'predict',
    id: 'p2',
    model: 'ghost',
    request: { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: x }] },
  });
  assert.equal(missing.ok, false);
  assert.equal(missing.error.code, 'NOT_FOUND');
});
