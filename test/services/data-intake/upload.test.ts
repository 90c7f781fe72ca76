import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { splitInfo } from '../../../shared/index.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { call, libsvm, startIntakeHarness, upload, type IntakeHarness } from './harness.js';

let r: TestRedis;
let h: IntakeHarness;
before(async () => {
  r = await startTestRedis();
  h = await startIntakeHarness(r);
});
after(async () => {
  await h.close();
  await r.stop();
});

test('an upload through the gateway becomes version 1 with stats, split and an event', async () => {
  const res = await upload(h, 'iris-ish', libsvm(500, 4), '?filename=iris.svm');
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const v = res.body;
  assert.equal(v.name, 'iris-ish');
  assert.equal(v.version, 1);
  assert.equal(v.format, 'libsvm');
  assert.equal(v.kind, 'tabular');
  assert.equal(v.count, 500);
  assert.equal(v.features, 4);
  assert.equal(v.labelKind, 'class');
  assert.deepEqual(v.labelNames, ['0', '1', '2']);
  assert.equal(v.shards, undefined, 'the shard list stays internal');
  assert.ok(v.shardCount >= 1);
  assert.deepEqual(v.split, splitInfo(42, 0.2, 500));
  assert.equal(v.stats.rows, 500);
  assert.deepEqual(v.stats.labels.histogram, [167, 167, 166]);
  // Feature 1 of row r is ((r*7) % 11) / 10.
  let sum = 0;
  for (let i = 0; i < 500; i++) sum += ((i * 7) % 11) / 10;
  assert.ok(Math.abs(v.stats.features.mean[0] - sum / 500) < 1e-6);

  const events = await h.events.range({ count: 100 });
  const ev = events.find((e) => e.kind === 'dataset.version');
  assert.deepEqual(ev?.payload, {
    name: 'iris-ish',
    version: 1,
    count: 500,
    added: 500,
    parent: null,
  });
});

test('pushing to an existing name makes the next version; both are listed', async () => {
  const a = await upload(h, 'grow', libsvm(100, 3));
  const b = await upload(h, 'grow', libsvm(150, 3), '?seed=7&fraction=0.5');
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.equal(b.body.version, 2);
  assert.deepEqual(b.body.split, splitInfo(7, 0.5, 150));

  const list = await call(h, 'GET', '/api/v1/datasets');
  const grow = list.body.find((d: { name: string }) => d.name === 'grow');
  assert.deepEqual({ latest: grow.latest, versions: grow.versions }, { latest: 2, versions: 2 });

  const info = await call(h, 'GET', '/api/v1/datasets/grow');
  assert.equal(info.status, 200);
  assert.deepEqual(
    info.body.versions.map((x: { version: number; count: number }) => [x.version, x.count]),
    [
      [1, 100],
      [2, 150],
    ],
  );
  const v1 = await call(h, 'GET', '/api/v1/datasets/grow/versions/1');
  assert.equal(v1.body.count, 100);
  assert.equal(v1.body.stats.rows, 100);
  const latest = await call(h, 'GET', '/api/v1/datasets/grow/versions/latest');
  assert.equal(latest.body.version, 2);
});

test('the format comes from the query or the content type', async () => {
  const csv = 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n';
  const byType = await upload(h, 'csv-type', csv, '', { 'content-type': 'text/csv' });
  assert.equal(byType.status, 201, JSON.stringify(byType.body));
  assert.equal(byType.body.format, 'csv');
  assert.deepEqual(byType.body.featureNames, ['a', 'b']);
  assert.deepEqual(byType.body.labelNames, ['x', 'y']);

  const jsonl = '{"features":[1,2],"label":0}\n{"features":[3,4],"label":1}\n';
  const byQuery = await upload(h, 'jsonl-q', jsonl, '?format=jsonl');
  assert.equal(byQuery.status, 201, JSON.stringify(byQuery.body));
  assert.equal(byQuery.body.format, 'jsonl');
  assert.equal(byQuery.body.count, 2);
});

test('unknown names and versions answer 404', async () => {
  assert.equal((await call(h, 'GET', '/api/v1/datasets/nope')).status, 404);
  await upload(h, 'one', libsvm(10, 2));
  const missing = await call(h, 'GET', '/api/v1/datasets/one/versions/9');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body.details.known, [1]);
});

test('reads need a token, uploads a write role', async () => {
  const anon = await fetch(`${h.url}/api/v1/datasets`);
  assert.equal(anon.status, 401);
  const viewer = await call(h, 'POST', '/api/v1/tokens', { name: 'v', role: 'viewer' });
  assert.equal(viewer.status, 201, JSON.stringify(viewer.body));
  const res = await fetch(`${h.url}/api/v1/datasets/x`, {
    method: 'POST',
    headers: { authorization: `Bearer ${viewer.body.token}` },
    body: libsvm(5, 2),
  });
  assert.equal(res.status, 403);
});

test('the intake refuses requests without the internal token', async () => {
  const res = await fetch(`${h.intakeUrl}/datasets/direct`, { method: 'POST', body: libsvm(5, 2) });
  assert.equal(res.status, 401);
  const wrong = await fetch(`${h.intakeUrl}/datasets/direct`, {
    method: 'POST',
    headers: { authorization: 'Bearer not-the-token-at-all' },
    body: libsvm(5, 2),
  });
  assert.equal(wrong.status, 401);
});
