import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { BadInput, Keys } from '../../../../shared/index.js';
import { LiveConfig } from '../../../../shared/store/live-config.js';
import { PluginHost } from '../../../../services/gateway/plugins/plugin-host.js';
import { putConfigDocument } from '../../../../services/gateway/delivery/config-documents.js';
import type { GatewayEvent } from '../../../../shared/events/report.js';
import { SourceService } from '../../../../services/gateway/sources/source-service.js';
import { InMemorySampleSink } from '../../../../services/gateway/sources/sample-sink.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { waitFor } from '../../../helpers/wait.js';
import { deliveryHarness, prediction, putDeliveryRules } from './harness.js';
import { webhookReceiver } from './receivers.js';

let r: TestRedis;
const closers: (() => Promise<unknown>)[] = [];
const badDir = mkdtempSync(join(tmpdir(), 'swarmml-plugins-'));
before(async () => (r = await startTestRedis()));
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await r.stop();
  rmSync(badDir, { recursive: true, force: true });
});

const EXAMPLES = resolve('plugins/examples');

async function host(dirs: string[], events: GatewayEvent[]) {
  const h = new PluginHost({ report: (e) => void events.push(e), callTimeoutMs: 300 });
  for (const d of dirs) await h.loadDir(d);
  return h;
}

test('the shipped examples load, format, decide and feed a dataset', async () => {
  const events: GatewayEvent[] = [];
  const plugins = await host([EXAMPLES], events);
  assert.deepEqual(
    plugins
      .list()
      .map((p) => `${p.kind}:${p.name}`)
      .sort(),
    ['formatter:influx-line', 'rule:business-hours', 'source:synthetic-blobs'],
  );

  const h = await deliveryHarness(r, { plugins });
  closers.push(() => h.close());
  const hook = await webhookReceiver();
  closers.push(hook.close);
  await putConfigDocument(
    h.live,
    'delivery',
    {
      channels: { hook: { type: 'webhook', url: hook.url } },
      formatters: {
        influx: { type: 'plugin', plugin: 'influx-line', config: { measurement: 'digits preds' } },
      },
    },
    { plugins },
  );
  await putDeliveryRules(
    h.live,
    {
      rules: [
        {
          id: 'office',
          model: '*',
          when: { plugin: { name: 'business-hours', config: { fromHour: 8, toHour: 18 } } },
          channel: 'hook',
          formatter: 'influx',
        },
      ],
    },
    { plugins },
  );
  await waitFor(() => h.svc.applied().delivery === 2, { what: 'rules applied' });
  const inHours = prediction(1, [0.1, 0.8, 0.1]); // Monday 10:00 UTC
  const late = { ...prediction(2), time: '2025-01-06T20:00:00.000Z' };
  assert.deepEqual(await h.svc.publish([inHours, late]), { queued: 1 });
  await waitFor(() => hook.got.length === 1, { what: 'influx line delivered' });
  assert.equal(
    hook.got[0]!.body,
    `digits\\ preds,model=digits,generation=3 class=1i,score=0.8 ${Date.parse(inHours.time)}000000`,
  );
  assert.equal(hook.got[0]!.headers['content-type'], 'text/plain');

  // A plugin's own config schema is enforced at PUT time, with the path.
  const err = await putDeliveryRules(
    h.live,
    {
      rules: [
        {
          id: 'x',
          model: '*',
          when: { plugin: { name: 'business-hours', config: { fromHour: 19, toHour: 9 } } },
          channel: 'hook',
          formatter: 'influx',
        },
      ],
    },
    { plugins },
  ).catch((e: unknown) => e);
  assert.ok(err instanceof BadInput);
  assert.deepEqual(
    (err.details as { issues: { path: string }[] }).issues.map((i) => i.path),
    ['rules.0.when.plugin.config.toHour'],
  );

  const keys = new Keys(r.prefix());
  const live = new LiveConfig(r.client(), keys);
  const sink = new InMemorySampleSink();
  const src = new SourceService({
    live,
    sink,
    plugins,
    mqttClientIdBase: `t-${randomUUID().slice(0, 8)}`,
  });
  await src.start();
  await live.start();
  closers.push(
    () => live.close(),
    () => src.close(),
  );
  await putConfigDocument(
    live,
    'sources',
    {
      sources: [
        {
          id: 'blobs',
          type: 'plugin',
          plugin: 'synthetic-blobs',
          dataset: 'blobs',
          config: { intervalMs: 20, rowsPerTick: 5, dim: 3 },
        },
      ],
    },
    { plugins },
  );
  await waitFor(() => sink.rows('blobs').length >= 20, { what: 'synthetic samples' });
  assert.equal(sink.rows('blobs')[0]!.features.length, 3);
});

test('a plugin that throws, hangs or fails to load is isolated and reported', async () => {
  writeFileSync(join(badDir, 'broken-syntax.mjs'), 'export default {{{');
  writeFileSync(
    join(badDir, 'bad.mjs'),
    `export default [
      { kind: 'formatter', name: 'boom', create: () => ({ format() { throw new Error('formatter exploded'); } }) },
      { kind: 'formatter', name: 'hang', create: () => ({ format: () => new Promise(() => {}) }) },
      { kind: 'rule', name: 'boom-rule', create: () => ({ test() { throw new Error('rule exploded'); } }) },
      { kind: 'source', name: 'boom-source', create: () => ({ start() { throw new Error('source exploded'); }, stop() {} }) },
    ];`,
  );
  const events: GatewayEvent[] = [];
  const plugins = await host([badDir], events);
  assert.equal(plugins.list().length, 4);
  assert.ok(
    events.some(
      (e) => e.type === 'plugin.failed' && e.plugin === 'broken-syntax.mjs' && e.op === 'load',
    ),
  );

  const h = await deliveryHarness(r, { plugins });
  closers.push(() => h.close());
  const hook = await webhookReceiver();
  closers.push(hook.close);
  await putConfigDocument(
    h.live,
    'delivery',
    {
      channels: { hook: { type: 'webhook', url: hook.url } },
      formatters: {
        boom: { type: 'plugin', plugin: 'boom' },
        hang: { type: 'plugin', plugin: 'hang' },
        raw: { type: 'json' },
      },
    },
    { plugins },
  );
  await putDeliveryRules(
    h.live,
    {
      rules: [
        { id: 'r-boom', model: '*', channel: 'hook', formatter: 'boom' },
        { id: 'r-hang', model: '*', channel: 'hook', formatter: 'hang' },
        {
          id: 'r-rule',
          model: '*',
          when: { plugin: { name: 'boom-rule' } },
          channel: 'hook',
          formatter: 'raw',
        },
        { id: 'r-ok', model: '*', channel: 'hook', formatter: 'raw' },
      ],
    },
    { plugins },
  );
  await waitFor(() => h.svc.applied().delivery === 2, { what: 'rules applied' });
  assert.deepEqual(await h.svc.publish(prediction(1)), { queued: 1 });
  await waitFor(() => hook.got.length === 1, { what: 'the healthy rule delivered' });
  assert.equal(hook.got[0]!.headers['x-swarmml-rule'], 'r-ok');
  const skipped = h.events.filter((e) => e.type === 'delivery.skipped').map((e) => e.ruleId);
  assert.deepEqual(skipped.sort(), ['r-boom', 'r-hang']);
  const failedOps = events
    .filter((e) => e.type === 'plugin.failed')
    .map((e) => `${String(e.plugin)}:${String(e.op)}`);
  assert.ok(
    failedOps.includes('boom:format') &&
      failedOps.includes('hang:format') &&
      failedOps.includes('boom-rule:test'),
    failedOps.join(),
  );

  const live = new LiveConfig(r.client(), new Keys(r.prefix()));
  const src = new SourceService({
    live,
    sink: new InMemorySampleSink(),
    plugins,
    mqttClientIdBase: 'unused',
  });
  await src.start();
  await live.start();
  closers.push(
    () => live.close(),
    () => src.close(),
  );
  await putConfigDocument(
    live,
    'sources',
    { sources: [{ id: 's', type: 'plugin', plugin: 'boom-source', dataset: 'd' }] },
    { plugins },
  );
  await waitFor(() => src.status()[0]?.state === 'failed', { what: 'source marked failed' });
  assert.match(src.status()[0]!.lastError ?? '', /source exploded/);
});
