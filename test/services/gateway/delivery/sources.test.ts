import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { Keys, NotFound } from '../../../../shared/index.js';
import { LiveConfig } from '../../../../shared/store/live-config.js';
import { putConfigDocument } from '../../../../services/gateway/delivery/config-documents.js';
import type { GatewayEvent } from '../../../../shared/events/report.js';
import { SourceService } from '../../../../services/gateway/sources/source-service.js';
import { InMemorySampleSink } from '../../../../services/gateway/sources/sample-sink.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { mosquittoMissing, startMosquitto, type TestMosquitto } from '../../../helpers/brokers.js';
import { waitFor } from '../../../helpers/wait.js';

const skip = mosquittoMissing();
let r: TestRedis;
let mq: TestMosquitto;
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  r = await startTestRedis();
  if (!skip) mq = await startMosquitto();
});
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await Promise.all([r.stop(), mq?.stop()]);
});

async function sources() {
  const keys = new Keys(r.prefix());
  const live = new LiveConfig(r.client(), keys);
  const sink = new InMemorySampleSink();
  const events: GatewayEvent[] = [];
  const svc = new SourceService({
    live,
    sink,
    report: (e) => void events.push(e),
    mqttClientIdBase: `t-${randomUUID().slice(0, 8)}`,
  });
  await svc.start();
  await live.start();
  closers.push(
    () => live.close(),
    () => svc.close(),
  );
  return { live, sink, events, svc };
}

test(
  'messages on a source topic become dataset samples; malformed ones are counted, not appended',
  { skip },
  async () => {
    const { live, sink, events, svc } = await sources();
    const topic = `sensors/${randomUUID().slice(0, 6)}/+`;
    await putConfigDocument(live, 'sources', {
      sources: [
        {
          id: 'plant',
          type: 'mqtt',
          url: mq.url,
          topic,
          dataset: 'plant',
          batch: { maxRows: 20, maxDelayMs: 50 },
          mapping: { format: 'json', features: ['temp', 'load.cpu'], label: 'state' },
        },
      ],
    });
    await waitFor(() => events.some((e) => e.type === 'source.started'), {
      what: 'source started',
    });
    const pub = await mqtt.connectAsync(mq.url);
    closers.push(() => pub.endAsync());
    const base = topic.replace('+', 'm1');
    for (let i = 0; i < 50; i++) {
      await pub.publishAsync(
        base,
        JSON.stringify({ temp: 20 + i, load: { cpu: i / 100 }, state: i % 2 ? 'ok' : 'hot' }),
        { qos: 1 },
      );
    }
    await pub.publishAsync(base, '{"temp": "warm"}', { qos: 1 });
    await pub.publishAsync(base, 'garbage', { qos: 1 });
    await waitFor(() => sink.rows('plant').length === 50 && svc.status()[0]?.rejected === 2, {
      what: '50 samples',
    });
    assert.deepEqual(sink.rows('plant')[3], { features: [23, 0.03], label: 'ok' });
    const appended = events.filter((e) => e.type === 'source.appended');
    assert.equal(
      appended.reduce((n, e) => n + (e.rows as number), 0),
      50,
    );
    assert.equal(appended.at(-1)?.total, 50);

    // Live change: the source disabled, messages stop becoming samples.
    await putConfigDocument(live, 'sources', { sources: [] });
    await svc.settled();
    await waitFor(() => svc.status().length === 0, { timeoutMs: 1000, what: 'source stopped' });
    await pub.publishAsync(base, JSON.stringify({ temp: 1, load: { cpu: 1 }, state: 'x' }), {
      qos: 1,
    });
    assert.equal(sink.rows('plant').length, 50);
  },
);

test('HTTP push: CSV and JSON bodies are mapped and appended at once, with rejects listed', async () => {
  const { live, sink, svc } = await sources();
  await putConfigDocument(live, 'sources', {
    sources: [
      {
        id: 'csv-in',
        type: 'http',
        dataset: 'iris',
        mapping: { format: 'csv', features: [0, 1], label: 2 },
      },
      {
        id: 'json-in',
        type: 'http',
        dataset: 'iris',
        mapping: { format: 'json', features: { array: 'x' }, label: 'y' },
      },
    ],
  });
  await waitFor(() => svc.status().length === 2, { what: 'sources applied' });
  const a = await svc.push('csv-in', '5.1,3.5,setosa\n6.2,2.9,versicolor\nbad,row,x\n');
  assert.deepEqual(a, {
    accepted: 2,
    rejected: [{ index: 2, error: 'column 0: not a finite number' }],
    version: 1,
    total: 2,
  });
  const b = await svc.push('json-in', [
    { x: [1, 2], y: 0 },
    { x: [], y: 1 },
  ]);
  assert.equal(b.accepted, 1);
  assert.equal(b.total, 3);
  assert.deepEqual(
    sink.rows('iris').map((x) => x.label),
    ['setosa', 'versicolor', 0],
  );
  await assert.rejects(svc.push('nope', '1,2,3'), NotFound);
});
