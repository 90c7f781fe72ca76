import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { putConfigDocument } from '../../../../services/gateway/delivery/config-documents.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { mosquittoMissing, startMosquitto, type TestMosquitto } from '../../../helpers/brokers.js';
import { waitFor } from '../../../helpers/wait.js';
import { deliveryHarness, prediction, type Harness, putDeliveryRules } from './harness.js';
import { mqttSubscriber } from './receivers.js';

const skip = mosquittoMissing();
let r: TestRedis;
let mq: TestMosquitto;
let h: Harness | undefined;
let sub: Awaited<ReturnType<typeof mqttSubscriber>> | undefined;

before(async () => {
  if (skip) return;
  [r, mq] = await Promise.all([startTestRedis(), startMosquitto()]);
});
after(async () => {
  await sub?.close();
  await h?.close();
  await Promise.all([r?.stop(), mq?.stop()]);
});

test(
  '1,000 MQTT deliveries across a broker restart (SIGTERM): every one arrives at least once',
  { skip },
  async () => {
    const N = 1000;
    h = await deliveryHarness(r, { concurrency: 50 });
    const topic = `restart/${randomUUID().slice(0, 6)}`;
    sub = await mqttSubscriber(mq.url, topic, `sub-${randomUUID().slice(0, 8)}`);
    await putConfigDocument(h.live, 'delivery', {
      channels: {
        mq: {
          type: 'mqtt',
          url: mq.url,
          topic,
          timeoutMs: 3000,
          retry: { attempts: 20, backoffMs: 200 },
        },
      },
      formatters: { id: { type: 'csv', columns: ['id'] } },
    });
    await putDeliveryRules(h.live, {
      rules: [{ id: 'all', model: '*', channel: 'mq', formatter: 'id' }],
    });
    await waitFor(() => h!.svc.applied().delivery === 2, { what: 'rules applied' });

    for (let i = 0; i < N; i += 100) {
      await h.svc.publish(Array.from({ length: 100 }, (_, k) => prediction(i + k)));
    }
    await waitFor(() => sub!.got.length >= 150, { timeoutMs: 30_000, what: 'stream under way' });
    const beforeRestart = sub.got.length;
    await mq.restart(300);

    const unique = () => new Set(sub!.got).size;
    await waitFor(() => unique() === N, {
      timeoutMs: 90_000,
      intervalMs: 100,
      what: `${N} distinct deliveries`,
    });
    const ids = new Set(sub.got);
    for (let i = 0; i < N; i++) assert.ok(ids.has(`p-${i}`), `p-${i} missing`);
    assert.equal(await h.svc.countDead(), 0);
    assert.ok(beforeRestart < N, 'the restart happened mid-stream');
    console.log(
      `# mqtt restart: ${N} distinct, ${sub.got.length - N} duplicates, ${beforeRestart} before the restart`,
    );
  },
);
