/**
 * Ground truth and version labels through a real gateway in front of a real serving replica
 * (real Redis, onnxruntime): answers carry prediction ids, feedback joins them to the
 * generation that answered and to its shadows, once each; labels are set, served and removed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { writeRollout } from '../../../shared/index.js';
import { linearClassifierModel } from '../../helpers/onnx-models.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { runningRollout } from '../../helpers/rollout-state.js';
import { startRegistryServing, type RegistryServing } from '../serving/registry-serving.js';

const M = 'flowers';
const CLASSES = ['setosa', 'versicolor', 'virginica'];
let r: TestRedis;
let db: Redis;
let s: RegistryServing;
let g: TestGateway;

before(async () => {
  r = await startTestRedis();
  db = r.client();
  const prefix = r.prefix();
  s = await startRegistryServing(r, prefix, { ONLINE_FLUSH_MS: '50' });
  // Generation 1 always answers class 0; generation 2 always class 2.
  const always = (c: number) =>
    linearClassifierModel({ weights: [[0, 0, 0]], bias: [0, 1, 2].map((i) => (i === c ? 5 : 0)) });
  for (const c of [0, 2]) {
    await s.registry.addGeneration(M, {
      type: 'classifier',
      weights: always(c),
      io: { labelNames: CLASSES },
    });
  }
  await s.registry.promote(M, 1);
  await waitFor(() => s.app.fleet.host(M)?.gen === 1, {
    what: 'generation 1 live',
    timeoutMs: 30_000,
  });
  g = await startTestGateway(r, { env: { SERVING_UPSTREAM: s.url, SWARMML_PREFIX: prefix } });
});
after(async () => {
  await g?.close();
  await s?.stop();
  await r?.stop();
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${g.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${g.adminToken}`,
      'content-type': 'application/json',
      ...init.headers,
    },
  });

async function predict(): Promise<{ id: string; gen: string }> {
  const res = await api(`/v2/models/${M}/infer`, {
    method: 'POST',
    body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { id: string };
  assert.equal(res.headers.get('x-prediction-id'), body.id, 'the header passes the gateway');
  return { id: body.id, gen: res.headers.get('x-swarmml-generation')! };
}

test('feedback joins labels to the answering generation and its shadow, once each', async () => {
  const cur = await db.get(s.keys.modelRollout(M));
  const state = runningRollout(M, { phase: 'shadow' });
  assert.equal(cur, null);
  await writeRollout(db, s.keys, M, state, null);
  await waitFor(() => s.app.rollout.views!.view(M).active && s.app.fleet.host(M)!.ready(2), {
    what: 'shadow phase with generation 2 loaded',
  });
  const answers = [];
  for (let i = 0; i < 10; i++) answers.push(await predict());
  assert.ok(answers.every((a) => a.gen === '1'));
  await s.app.rollout.mirror!.idle();
  await s.app.rollout.recorder!.flush();

  // 6 labelled setosa (gen 1 right, gen 2 wrong), 2 by index 2 (gen 2 right), one unknown id.
  const items = [
    ...answers.slice(0, 6).map((a) => ({ id: a.id, label: 'setosa' })),
    ...answers.slice(6, 8).map((a) => ({ id: a.id, label: 2 })),
    { id: 'no-such-prediction', label: 0 },
    { id: answers[8]!.id, label: 'tulip' },
  ];
  const res = await api(`/api/v1/models/${M}/feedback`, {
    method: 'POST',
    body: JSON.stringify(items),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const out = (await res.json()) as {
    accepted: number;
    unknown: string[];
    duplicate: string[];
    invalid: { id: string; reason: string }[];
  };
  assert.equal(out.accepted, 8);
  assert.deepEqual(out.unknown, ['no-such-prediction']);
  assert.equal(out.invalid.length, 1);
  assert.match(out.invalid[0]!.reason, /no class "tulip".*setosa, versicolor, virginica/);

  // The same labels again count nothing; the one left open still takes a label.
  const again = await api(`/api/v1/models/${M}/feedback`, {
    method: 'POST',
    body: JSON.stringify([
      { id: answers[0]!.id, label: 0 },
      { id: answers[8]!.id, label: 'versicolor' },
    ]),
  });
  const a2 = (await again.json()) as { accepted: number; duplicate: string[] };
  assert.deepEqual(a2.duplicate, [answers[0]!.id]);
  assert.equal(a2.accepted, 1);

  const online = await api(`/api/v1/models/${M}/online`);
  assert.equal(online.status, 200);
  const body = (await online.json()) as {
    generations: {
      gen: number;
      feedback: number;
      accuracy: number;
      requests: number;
      shadow: { compared: number; agreement: number };
    }[];
    rollout: { status: string };
  };
  const byGen = new Map(body.generations.map((x) => [x.gen, x]));
  assert.equal(byGen.get(1)!.feedback, 9);
  assert.equal(byGen.get(1)!.accuracy, 6 / 9);
  assert.equal(byGen.get(2)!.feedback, 9);
  assert.equal(byGen.get(2)!.accuracy, 2 / 9);
  assert.equal(byGen.get(1)!.requests, 10);
  assert.equal(byGen.get(2)!.shadow.compared, 10);
  assert.equal(byGen.get(2)!.shadow.agreement, 0);
  assert.equal(body.rollout.status, 'running');
  // The serving replica's /metrics shows the same figures for its live generations.
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  const value = (name: string, gen: number) =>
    Number(new RegExp(`^${name}\\{model="${M}",gen="${gen}"\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
  assert.equal(value('swarmml_online_accuracy', 1), 6 / 9);
  assert.equal(value('swarmml_online_accuracy', 2), 2 / 9);
  assert.equal(value('swarmml_online_shadow_agreement', 2), 0);
  await writeRollout(db, s.keys, M, null, 0);
});

test('version labels: set through the API, served on the label routes, removed', async () => {
  const viewer = await api('/api/v1/tokens', {
    method: 'POST',
    body: JSON.stringify({ name: 'viewer', role: 'viewer' }),
  });
  const viewerToken = ((await viewer.json()) as { token: string }).token;
  const denied = await fetch(`${g.url}/api/v1/models/${M}/labels/stable`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${viewerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ gen: 1 }),
  });
  assert.equal(denied.status, 403);

  const put = await api(`/api/v1/models/${M}/labels/canary`, {
    method: 'PUT',
    body: JSON.stringify({ gen: 2 }),
  });
  assert.equal(put.status, 200, await put.clone().text());
  assert.deepEqual(((await put.json()) as { labels: unknown }).labels, { canary: 2 });
  const missing = await api(`/api/v1/models/${M}/labels/x`, {
    method: 'PUT',
    body: JSON.stringify({ gen: 7 }),
  });
  assert.equal(missing.status, 404);

  await waitFor(() => s.app.rollout.views!.view(M).labels.canary === 2, { what: 'label seen' });
  const res = await api(`/v1/models/${M}/labels/canary:predict`, {
    method: 'POST',
    body: JSON.stringify({ instances: [[1]] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-swarmml-generation'), '2');
  const v2 = await api(`/v2/models/${M}/labels/canary/infer`, {
    method: 'POST',
    body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] }),
  });
  assert.equal(((await v2.json()) as { model_version: string }).model_version, '2');

  const del = await api(`/api/v1/models/${M}/labels/canary`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  assert.equal((await api(`/api/v1/models/${M}/labels/canary`, { method: 'DELETE' })).status, 404);
  await waitFor(() => s.app.rollout.views!.view(M).labels.canary === undefined, {
    what: 'label gone',
  });
  const gone = await api(`/v1/models/${M}/labels/canary:predict`, {
    method: 'POST',
    body: JSON.stringify({ instances: [[1]] }),
  });
  assert.equal(gone.status, 404);
});
