import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BadInput, Conflict, Keys } from '../../../../shared/index.js';
import { LiveConfig, type ConfigVersion } from '../../../../shared/store/live-config.js';
import {
  configHistory,
  getConfigDocument,
  putConfigDocument,
} from '../../../../services/gateway/delivery/config-documents.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { waitFor } from '../../../helpers/wait.js';

let r: TestRedis;
const opened: LiveConfig[] = [];
before(async () => (r = await startTestRedis()));
after(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await r.stop();
});

const delivery = {
  channels: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/x' } },
  formatters: { plain: { type: 'json' } },
};
const rules = [{ id: 'all', model: '*', channel: 'hook', formatter: 'plain' }];

async function two() {
  const keys = new Keys(r.prefix());
  const a = new LiveConfig(r.client(), keys);
  const b = new LiveConfig(r.client(), keys);
  opened.push(a, b);
  return { keys, a, b };
}

test('a put reaches another process within a second, with version history and events', async () => {
  const { a, b } = await two();
  const seen: ConfigVersion[] = [];
  b.watch('delivery', (v) => seen.push(v));
  await b.start();
  await waitFor(() => seen.length === 1, { what: 'initial version' });
  assert.equal(seen[0]?.version, 0);

  const t0 = Date.now();
  const { version } = await putConfigDocument(a, 'delivery', delivery, { author: 'alice' });
  assert.equal(version, 1);
  await waitFor(() => seen.length === 2, { timeoutMs: 1000, what: 'change applied' });
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(seen[1]?.version, 1);
  assert.deepEqual((seen[1]?.doc as typeof delivery).channels.hook.url, delivery.channels.hook.url);

  await putConfigDocument(a, 'rules', { retrain: [] });
  const v2 = {
    ...delivery,
    rules,
    formatters: { ...delivery.formatters, csv: { type: 'csv', columns: ['id'] } },
  };
  await putConfigDocument(a, 'delivery', v2, { author: 'bob' });
  const h = await configHistory(a, 'delivery');
  assert.deepEqual(
    h.map((x) => [x.version, x.author]),
    [
      [2, 'bob'],
      [1, 'alice'],
    ],
  );
  assert.equal((await getConfigDocument(b, 'delivery')).version, 2);
});

test('malformed documents are rejected with paths and the running configuration stays', async () => {
  const { a } = await two();
  await putConfigDocument(a, 'delivery', { ...delivery, rules });
  await putConfigDocument(a, 'rules', {});

  const cases: [string, unknown, string][] = [
    [
      'delivery',
      { ...delivery, rules: [{ id: 'x', model: '*', channel: 'nope', formatter: 'plain' }] },
      'rules.0.channel',
    ],
    ['rules', { stop: { plateuEpochs: 3 } }, 'stop'],
    ['rules', { retrain: [{ model: 'm', dataset: 'd' }] }, 'retrain.0'],
    [
      'delivery',
      {
        ...delivery,
        rules: [
          {
            id: 'x',
            model: '*',
            channel: 'hook',
            formatter: 'plain',
            when: { maxScoreOver: 'high' },
          },
        ],
      },
      'rules.0.when.maxScoreOver',
    ],
    [
      'delivery',
      {
        ...delivery,
        formatters: { plain: { type: 'template', template: { a: '{{outputs.x.best}}' } } },
      },
      'formatters.plain.template.a',
    ],
    [
      'delivery',
      {
        channels: { hook: { type: 'mqtt', url: 'mqtt://h', topic: 'a/#' } },
        formatters: delivery.formatters,
      },
      'channels.hook.topic',
    ],
    ['delivery', { channels: {}, formatters: delivery.formatters, rules }, 'rules.0.channel'],
    [
      'sources',
      {
        sources: [
          {
            id: 's',
            type: 'http',
            dataset: 'd',
            mapping: { format: 'csv', features: [0], label: 0 },
          },
        ],
      },
      'sources.0.mapping.label',
    ],
    [
      'sources',
      {
        sources: [
          {
            id: 's',
            type: 'mqtt',
            dataset: 'd',
            url: 'mqtt://h',
            topic: 't',
            mapping: { format: 'json', features: ['a..b'], label: 'y' },
          },
        ],
      },
      'sources.0.mapping.features.0',
    ],
  ];
  for (const [kind, doc, path] of cases) {
    const before = await getConfigDocument(a, kind);
    const err = await putConfigDocument(a, kind, doc).then(
      () => assert.fail(`${kind} ${path} accepted`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof BadInput, String(err));
    const issues = (err.details as { issues: { path: string }[] }).issues.map((i) => i.path);
    assert.ok(issues.includes(path), `${path} not in ${issues.join(' | ')}`);
    assert.deepEqual(await getConfigDocument(a, kind), before);
  }
});

test('ifVersion guards against lost updates', async () => {
  const { a } = await two();
  await putConfigDocument(a, 'delivery', delivery);
  await assert.rejects(putConfigDocument(a, 'delivery', delivery, { ifVersion: 0 }), Conflict);
  assert.equal((await putConfigDocument(a, 'delivery', delivery, { ifVersion: 1 })).version, 2);
});
