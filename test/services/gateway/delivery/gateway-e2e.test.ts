import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { InMemoryModelSource } from '../../../../services/serving/hosting/model-source.js';
import { signBody } from '../../../../services/gateway/delivery/channels/webhook.js';
import { mlpModel } from '../../../helpers/onnx-models.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../../helpers/gateway.js';
import {
  mosquittoMissing,
  rabbitMissing,
  startMosquitto,
  startRabbit,
  type TestMosquitto,
  type TestRabbit,
} from '../../../helpers/brokers.js';
import { TestWs } from '../../../helpers/ws-client.js';
import { waitFor } from '../../../helpers/wait.js';
import { startServing, type Serving } from '../../serving/harness.js';
import { amqpConsumer, mqttSubscriber, webhookReceiver } from './receivers.js';

const skip = mosquittoMissing() ?? rabbitMissing();
let r: TestRedis;
let mq: TestMosquitto;
let rb: TestRabbit;
let serving: Serving;
let g: TestGateway;
const closers: (() => Promise<unknown> | void)[] = [];

before(async () => {
  if (skip) return;
  const models = new InMemoryModelSource().put('digits', 2, mlpModel([4, 8, 3]), {
    production: true,
  });
  [r, mq, rb, serving] = await Promise.all([
    startTestRedis(),
    startMosquitto(),
    startRabbit(),
    startServing(models),
  ]);
  g = await startTestGateway(r, {
    env: { SERVING_UPSTREAM: serving.url, MQTT_CLIENT_ID: `t-${randomUUID().slice(0, 8)}` },
  });
});
after(async () => {
  for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
  await g?.close();
  await Promise.all([serving?.stop(), mq?.stop(), rb?.stop()]);
  await r?.stop();
});

async function call(path: string, body: unknown, token = g.adminToken) {
  const res = await fetch(g.url + path, {
    method: path.startsWith('/api') ? 'PUT' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));

test(
  'a prediction through the gateway reaches webhook, MQTT, AMQP and WebSocket consumers, formatted',
  { skip },
  async () => {
    const hook = await webhookReceiver();
    closers.push(hook.close);
    const topic = `preds/${randomUUID().slice(0, 6)}`;
    const sub = await mqttSubscriber(mq.url, topic, `sub-${randomUUID().slice(0, 8)}`);
    closers.push(sub.close);
    const queue = `q-${randomUUID().slice(0, 8)}`;
    const cons = await amqpConsumer(rb.url, queue);
    closers.push(cons.close);

    const secret = 'a-long-shared-secret';
    const put = await call('/api/v1/config/delivery', {
      channels: {
        hook: { type: 'webhook', url: hook.url, secret },
        plant: { type: 'mqtt', url: mq.url, topic },
        lake: { type: 'amqp', url: rb.url, routingKey: queue },
        screen: { type: 'ws', topic: 'alerts' },
      },
      formatters: {
        alert: {
          type: 'template',
          template: {
            model: '{{model}}',
            gen: '{{generation}}',
            top: { class: '{{outputs.probs.argmax}}', p: '{{output.max}}' },
            where: '{{inputs.metadata.site}}/{{inputs.metadata.device}}',
          },
        },
        line: { type: 'csv', columns: ['id', 'model', 'output.argmax'] },
        raw: { type: 'json' },
      },
      rules: [
        {
          id: 'lyon',
          model: 'digits',
          when: { metadataEquals: { site: 'lyon' } },
          channel: 'hook',
          formatter: 'alert',
        },
        { id: 'all-mqtt', model: '*', channel: 'plant', formatter: 'line' },
        {
          id: 'lake',
          model: 'digits',
          when: { maxScoreOver: 0 },
          channel: 'lake',
          formatter: 'raw',
        },
        {
          id: 'screen',
          model: 'digits',
          when: { metadataEquals: { site: 'lyon' } },
          channel: 'screen',
          formatter: 'alert',
        },
        { id: 'elsewhere', model: 'faces', channel: 'hook', formatter: 'raw' },
      ],
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await waitFor(() => g.gw.comm.delivery.applied().delivery === put.body.version, {
      what: 'delivery config applied',
    });

    // A client-role WebSocket subscriber on the ws channel's topic.
    const tok = await fetch(`${g.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'screen', role: 'client' }),
    });
    const client = ((await tok.json()) as { token: string }).token;
    const ws = await TestWs.open(g.url.replace('http', 'ws') + '/api/v1/ws', client);
    closers.push(() => ws.close());
    await ws.request({ op: 'subscribe', id: 's', topics: ['delivery:alerts'] });

    const x = [0.5, -1, 2, 0.25];
    const lyon = await call(
      '/v2/models/digits/infer',
      {
        id: 'req-lyon',
        inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: x }],
        parameters: { site: 'lyon', device: 'cam-7' },
      },
      client,
    );
    assert.equal(lyon.status, 200, JSON.stringify(lyon.body));
    const probs = lyon.body.outputs[0].data as number[];
    const paris = await call(
      '/v2/models/digits/infer',
      {
        id: 'req-paris',
        inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: x }],
        parameters: { site: 'paris' },
      },
      client,
    );
    assert.equal(paris.status, 200);
    const tf = await call('/v1/models/digits:predict', { instances: [x] }, client);
    assert.equal(tf.status, 200, JSON.stringify(tf.body));

    await waitFor(
      () =>
        hook.got.length >= 1 &&
        sub.got.length >= 3 &&
        cons.got.length >= 2 &&
        ws.messages.some((m) => m.op === 'event'),
      { timeoutMs: 15_000, what: 'every consumer' },
    );
    const alert = {
      model: 'digits',
      gen: 2,
      top: { class: argmax(probs), p: Math.max(...probs) },
      where: 'lyon/cam-7',
    };
    const w = hook.got[0]!;
    assert.equal(hook.got.length, 1, 'only the lyon prediction matches the webhook rule');
    assert.deepEqual(JSON.parse(w.body), alert);
    assert.equal(w.headers['x-swarmml-signature'], signBody(secret, w.body));
    assert.equal(w.headers['x-swarmml-prediction'], 'req-lyon');
    assert.deepEqual(
      [...sub.got].sort(),
      [
        `req-lyon,digits,${argmax(probs)}`,
        `req-paris,digits,${argmax(probs)}`,
        expect.tfLine(sub.got, argmax(probs)),
      ].sort(),
    );
    const raw = cons.got.map((c) => JSON.parse(c.body)).find((p) => p.id === 'req-lyon');
    assert.deepEqual(raw.outputs, [
      { name: 'probs', datatype: 'FP32', shape: [1, 3], data: probs },
    ]);
    assert.deepEqual(raw.inputs, {
      metadata: { site: 'lyon', device: 'cam-7' },
      shapes: { x: [1, 4] },
    });
    const event = ws.messages.find((m) => m.op === 'event');
    assert.equal(event.topic, 'delivery:alerts');
    assert.deepEqual(event.event.payload, {
      rule: 'screen',
      contentType: 'application/json',
      data: alert,
    });
  },
);

/** The TF Serving prediction has no request id: its line is the one that is neither of the others. */
const expect = {
  tfLine(lines: string[], cls: number): string {
    const line = lines.find((l) => !l.startsWith('req-'));
    assert.ok(line, 'a line for the TF Serving prediction');
    assert.match(line, new RegExp(`^[0-9a-f-]{36},digits,${cls}$`));
    return line;
  },
};
