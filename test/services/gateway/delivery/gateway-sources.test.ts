import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { createLogger, EventLog, Keys, SessionStore } from '../../../../shared/index.js';
import { buildListener, type ListenerApp } from '../../../../services/event-listener/app.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../../helpers/gateway.js';
import { mosquittoMissing, startMosquitto, type TestMosquitto } from '../../../helpers/brokers.js';
import { waitFor } from '../../../helpers/wait.js';

const skip = mosquittoMissing();
let r: TestRedis;
let mq: TestMosquitto;
let g: TestGateway;
let listener: ListenerApp;

before(async () => {
  if (skip) return;
  [r, mq] = await Promise.all([startTestRedis(), startMosquitto()]);
  g = await startTestGateway(r, { env: { MQTT_CLIENT_ID: `t-${randomUUID().slice(0, 8)}` } });
  listener = buildListener({
    config: {
      SWARMML_PREFIX: g.prefix,
      EVENT_HANDLER_URL: 'http://127.0.0.1:9',
      internalToken: 'unused-internal-token',
      BUDGET_CHECK_MS: 1000,
      START_FROM: 'latest',
    },
    log: createLogger('listener', 'silent'),
    redis: r.client(),
    bullRedis: r.client({ forWorker: true }),
    sink: { send: async () => undefined },
  });
  await listener.start();
});
after(async () => {
  await listener?.close();
  await g?.close();
  await Promise.all([mq?.stop(), r?.stop()]);
});

async function api(method: string, path: string, body?: unknown, type = 'application/json') {
  const res = await fetch(g.url + path, {
    method,
    headers: {
      authorization: `Bearer ${g.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': type }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

test(
  'MQTT messages become dataset samples, and enough of them start a retraining session',
  { skip },
  async () => {
    // The decision rules: /api/v1/rules and /api/v1/config/rules are one document.
    const put = await api('PUT', '/api/v1/rules', {
      retrain: [{ model: 'plant-model', dataset: 'plant', newSamples: 30 }],
    });
    assert.equal(put.status, 200);
    const same = await api('GET', '/api/v1/config/rules');
    assert.equal(same.body.version, put.body.version);
    assert.equal(same.body.doc.retrain[0].newSamples, 30);
    await waitFor(() => listener.listener.rulesVersion === put.body.version, {
      what: 'listener follows the rules',
    });

    const topic = `sensors-${randomUUID().slice(0, 6)}`;
    const src = await api('PUT', '/api/v1/config/sources', {
      sources: [
        {
          id: 'plant',
          type: 'mqtt',
          url: mq.url,
          topic: `${topic}/+/reading`,
          dataset: 'plant',
          batch: { maxRows: 20, maxDelayMs: 50 },
          mapping: { format: 'json', features: ['temp', 'load.cpu'], label: 'state' },
        },
        {
          id: 'iris-in',
          type: 'http',
          dataset: 'iris',
          mapping: { format: 'csv', features: [0, 1, 2, 3], label: 4 },
        },
      ],
    });
    assert.equal(src.status, 200, JSON.stringify(src.body));
    await waitFor(async () => (await api('GET', '/api/v1/sources')).body.sources.length === 2, {
      what: 'sources running',
    });

    const pub = await mqtt.connectAsync(mq.url, { clientId: `pub-${randomUUID().slice(0, 8)}` });
    const send = async (n: number, from: number) => {
      for (let i = from; i < from + n; i++) {
        const msg = {
          temp: 20 + (i % 7),
          load: { cpu: (i % 10) / 10 },
          state: i % 3 ? 'ok' : 'hot',
        };
        await pub.publishAsync(`${topic}/m${i % 3}/reading`, JSON.stringify(msg), { qos: 1 });
      }
    };
    const count = async () => {
      const res = await api('GET', '/api/v1/datasets/plant/versions/latest');
      return res.status === 200 ? (res.body.count as number) : 0;
    };
    try {
      await send(10, 0);
      await pub.publishAsync(`${topic}/m0/reading`, '{"temp": "hot"}', { qos: 1 }); // rejected
      const log = new EventLog(r.client(), new Keys(g.prefix));
      const versionEvents = async () =>
        (await log.range({ count: 1000 })).filter((e) => e.kind === 'dataset.version');
      // The version is committed, then its event archived: wait for both.
      await waitFor(async () => (await count()) === 10 && (await versionEvents()).length >= 1, {
        timeoutMs: 10_000,
        what: '10 samples and their dataset.version event',
      });
      const versions = await versionEvents();
      assert.deepEqual((versions[0]!.payload as { name: string; count: number }).name, 'plant');
      await waitFor(
        async () =>
          (await new EventLog(r.client(), new Keys(g.prefix)).range({ count: 1000 })).some(
            (e) => e.kind === 'source.rejected',
          ),
        { what: 'the malformed message reported' },
      );

      // 40 more: over the rule's 30 since the version the trigger first saw.
      await send(40, 10);
      await waitFor(async () => (await count()) === 50, { timeoutMs: 10_000, what: '50 samples' });
      const sessions = new SessionStore(r.client(), new Keys(g.prefix));
      await waitFor(
        async () =>
          (await sessions.list({ limit: 50 })).items.some((s) =>
            s.id.startsWith('retrain-plant-model-plant-'),
          ),
        { timeoutMs: 10_000, what: 'retraining session queued' },
      );
    } finally {
      await pub.endAsync();
    }

    // HTTP push: CSV lines, one of them malformed; the append happens before the answer.
    const push = await api(
      'POST',
      '/api/v1/sources/iris-in/push',
      '5.1,3.5,1.4,0.2,setosa\n6.2,2.9,4.3,1.3,versicolor\n1,2,x,4,setosa\n',
      'text/csv',
    );
    assert.equal(push.status, 200, JSON.stringify(push.body));
    assert.equal(push.body.accepted, 2);
    assert.deepEqual(
      push.body.rejected.map((x: { index: number }) => x.index),
      [2],
    );
    assert.equal((await api('GET', '/api/v1/datasets/iris/versions/latest')).body.count, 2);
  },
);

test(
  'malformed source and delivery documents: 400 with the path, running config unchanged',
  { skip },
  async () => {
    const before = await api('GET', '/api/v1/config/sources');
    const bad = await api('PUT', '/api/v1/config/sources', {
      sources: [
        {
          id: 's',
          type: 'http',
          dataset: 'd',
          mapping: { format: 'csv', features: [0], label: 0 },
        },
      ],
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(
      bad.body.details.issues.map((i: { path: string }) => i.path),
      ['sources.0.mapping.label'],
    );
    assert.deepEqual(await api('GET', '/api/v1/config/sources'), before);

    const badRule = await api('PUT', '/api/v1/config/delivery', {
      channels: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/x' } },
      formatters: { t: { type: 'template', template: { c: '{{output.best}}' } } },
      rules: [
        { id: 'r', model: '*', when: { topClassIn: ['3'] }, channel: 'hook', formatter: 'nope' },
      ],
    });
    assert.equal(badRule.status, 400);
    assert.deepEqual(badRule.body.details.issues.map((i: { path: string }) => i.path).sort(), [
      'formatters.t.template.c',
      'rules.0.when.topClassIn.0',
    ]);
    assert.equal((await api('GET', '/api/v1/config/delivery')).body.version, 0);
  },
);
