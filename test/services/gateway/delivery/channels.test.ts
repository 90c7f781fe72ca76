import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { putConfigDocument } from '../../../../services/gateway/delivery/config-documents.js';
import { signBody } from '../../../../services/gateway/delivery/channels/webhook.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import {
  mosquittoMissing,
  rabbitMissing,
  startMosquitto,
  startRabbit,
  type TestMosquitto,
  type TestRabbit,
} from '../../../helpers/brokers.js';
import { waitFor } from '../../../helpers/wait.js';
import { deliveryHarness, prediction, type Harness, putDeliveryRules } from './harness.js';
import { amqpConsumer, mqttSubscriber, webhookReceiver } from './receivers.js';

const skip = mosquittoMissing() ?? rabbitMissing();
let r: TestRedis;
let mq: TestMosquitto;
let rb: TestRabbit;
let h: Harness;
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  if (skip) return;
  [r, mq, rb] = await Promise.all([startTestRedis(), startMosquitto(), startRabbit()]);
});
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await Promise.all([r?.stop(), mq?.stop(), rb?.stop()]);
});

test(
  'a matching prediction reaches webhook, MQTT, AMQP and WS consumers, each formatted',
  { skip },
  async () => {
    const wsGot: { topic: string; payload: string }[] = [];
    h = await deliveryHarness(r, {
      ws: { publish: (topic, m) => void wsGot.push({ topic, payload: m.payload }) },
    });
    closers.push(() => h.close());
    const hook = await webhookReceiver();
    closers.push(hook.close);
    const topic = `preds/${randomUUID().slice(0, 6)}`;
    const sub = await mqttSubscriber(mq.url, topic, `sub-${randomUUID().slice(0, 8)}`);
    closers.push(sub.close);
    const queue = `q-${randomUUID().slice(0, 8)}`;
    const cons = await amqpConsumer(rb.url, queue);
    closers.push(cons.close);

    const secret = 'a-long-shared-secret';
    await putConfigDocument(h.live, 'delivery', {
      channels: {
        hook: { type: 'webhook', url: hook.url, secret },
        mq: { type: 'mqtt', url: mq.url, topic },
        rb: { type: 'amqp', url: rb.url, routingKey: queue },
        live: { type: 'ws', topic: 'alerts' },
      },
      formatters: {
        alert: {
          type: 'template',
          template: {
            kind: 'alert',
            model: '{{model}}',
            top: { class: '{{output.argmax}}', p: '{{output.max}}' },
            device: '{{inputs.metadata.device}}',
          },
        },
        line: { type: 'csv', columns: ['id', 'model', 'output.argmax', 'output.max'] },
        raw: { type: 'json' },
      },
    });
    await putDeliveryRules(h.live, {
      rules: [
        {
          id: 'to-hook',
          model: 'digits',
          when: { topClassIn: [1, 7] },
          channel: 'hook',
          formatter: 'alert',
        },
        {
          id: 'to-mqtt',
          model: 'digits',
          when: { maxScoreOver: 0.9 },
          channel: 'mq',
          formatter: 'line',
        },
        { id: 'to-amqp', model: '*', when: { topClassIn: [1] }, channel: 'rb', formatter: 'raw' },
        {
          id: 'to-ws',
          model: 'digits',
          when: { topClassIn: [1] },
          channel: 'live',
          formatter: 'alert',
        },
        { id: 'other-model', model: 'faces', channel: 'hook', formatter: 'raw' },
      ],
    });
    await waitFor(() => h.svc.applied().delivery === 2, {
      what: 'config applied',
    });

    const hit = prediction(1, [0.02, 0.95, 0.03]);
    const miss = prediction(2, [0.9, 0.05, 0.05]);
    assert.deepEqual(await h.svc.publish([hit, miss]), { queued: 4 });

    await waitFor(
      () =>
        hook.got.length >= 1 && sub.got.length >= 1 && cons.got.length >= 1 && wsGot.length >= 1,
      {
        timeoutMs: 15_000,
        what: 'all four consumers',
      },
    );
    const alert = { kind: 'alert', model: 'digits', top: { class: 1, p: 0.95 }, device: 'cam-7' };
    const w = hook.got[0]!;
    assert.deepEqual(JSON.parse(w.body), alert);
    assert.equal(w.headers['x-swarmml-signature'], signBody(secret, w.body));
    assert.equal(w.headers['content-type'], 'application/json');
    assert.equal(w.headers['x-swarmml-rule'], 'to-hook');
    assert.deepEqual(sub.got, ['p-1,digits,1,0.95']);
    assert.deepEqual(JSON.parse(cons.got[0]!.body), hit);
    assert.equal(cons.got[0]!.persistent, true);
    assert.deepEqual(
      wsGot.map((x) => [x.topic, JSON.parse(x.payload) as unknown]),
      [['alerts', alert]],
    );
    // nothing more than the one matching prediction, per consumer
    assert.equal(hook.got.length + sub.got.length + cons.got.length, 3);
  },
);

test('a rules change applies to the running dispatcher within a second', { skip }, async () => {
  const hook = await webhookReceiver();
  closers.push(hook.close);
  // Channels, formatters and rules are one document: this one has no rules yet.
  await putConfigDocument(h.live, 'delivery', {
    channels: { hook: { type: 'webhook', url: hook.url } },
    formatters: { raw: { type: 'json' } },
  });
  const t0 = Date.now();
  const { version } = await putDeliveryRules(h.live, {
    rules: [
      {
        id: 'low-confidence',
        model: 'digits',
        when: { maxScoreUnder: 0.5 },
        channel: 'hook',
        formatter: 'raw',
      },
    ],
  });
  await waitFor(() => h.svc.applied().delivery === version, {
    timeoutMs: 1000,
    what: 'rules applied',
  });
  assert.ok(Date.now() - t0 < 1000);
  await h.svc.publish([prediction(10, [0.4, 0.35, 0.25]), prediction(11, [0.1, 0.8, 0.1])]);
  await waitFor(() => hook.got.length === 1, { what: 'low-confidence delivery' });
  assert.equal((JSON.parse(hook.got[0]!.body) as { id: string }).id, 'p-10');
});
