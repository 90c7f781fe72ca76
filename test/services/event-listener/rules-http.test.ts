import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LiveConfig } from '../../../shared/store/live-config.js';
import { rulesRoutes } from '../../../services/gateway/config/rules-routes.js';
import type { EffectiveRules } from '../../../shared/protocol/rules.js';
import { Keys } from '../../../shared/store/keys.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { log } from './harness.js';

let redis: TestRedis;
let gw: TestGateway;
let live: LiveConfig;

before(async () => {
  redis = await startTestRedis();
  const prefix = redis.prefix();
  live = new LiveConfig(redis.client(), new Keys(prefix), { log });
  gw = await startTestGateway(redis, {
    env: { SWARMML_PREFIX: prefix },
    routes: [rulesRoutes(live)],
  });
});
after(async () => {
  await gw.close();
  await live.close();
  await redis.stop();
});

function put(body: string, token = gw.adminToken) {
  return fetch(`${gw.url}/api/v1/rules`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
}

async function current() {
  const res = await fetch(`${gw.url}/api/v1/rules`, {
    headers: { authorization: `Bearer ${gw.adminToken}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as { version: number; doc: unknown; effective: EffectiveRules };
}

test('PUT /api/v1/rules stores a version; GET shows it with the defaults filled in', async () => {
  const res = await put(JSON.stringify({ accept: { margin: 0.02 } }));
  assert.equal(res.status, 200);
  const body = (await res.json()) as { version: number };
  assert.equal(body.version, 1);
  const now = await current();
  assert.equal(now.version, 1);
  assert.equal(now.effective.accept.margin, 0.02);
  assert.equal(now.effective.stop.lossRiseEpochs, 3);
});

test('malformed rules are a 400 naming the path, and nothing changes', async () => {
  const before = await current();
  const res = await put(
    JSON.stringify({
      stop: { plateauEpochs: -2 },
      retrain: [{ model: 'm', dataset: 'd', cron: 'every day' }],
    }),
  );
  assert.equal(res.status, 400);
  const body = (await res.json()) as {
    error: string;
    message: string;
    details: { issues: { path: string; message: string }[] };
  };
  assert.equal(body.error, 'BAD_INPUT');
  assert.match(body.message, /stop\.plateauEpochs/);
  assert.deepEqual(
    body.details.issues.map((i) => i.path),
    ['stop.plateauEpochs', 'retrain.0.cron'],
  );
  assert.equal((await put('{"stop": ')).status, 400, 'broken JSON too');
  const after = await current();
  assert.equal(after.version, before.version);
  assert.deepEqual(after.doc, before.doc);
});

test('changing rules takes an admin token', async () => {
  const res = await put('{}', 'not-a-token');
  assert.equal(res.status, 401);
});
