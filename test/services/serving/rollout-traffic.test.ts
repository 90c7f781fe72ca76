/**
 * The traffic side of a rollout on a real serving app over the real registry and Redis: the
 * sticky canary split, shadows at 100 % under 64 clients, faulty shadows, prediction ids and
 * records, version labels, and a restarted replica picking the rollout up from Redis.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readRollout, writeLabel, writeRollout, type RolloutState } from '../../../shared/index.js';
import type { Redis } from 'ioredis';
import { linearClassifierModel } from '../../helpers/onnx-models.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { runningRollout } from '../../helpers/rollout-state.js';
import { v2Body } from './harness.js';
import { startRegistryServing, type RegistryServing } from './registry-serving.js';

const M = 'iris-like';
let r: TestRedis;
let prefix: string;
let s: RegistryServing;
let db: Redis;

/** Three linear classifiers over 2 features that disagree on part of the plane. */
const classifier = (w: number[][], b: number[]) => linearClassifierModel({ weights: w, bias: b });

before(async () => {
  r = await startTestRedis();
  prefix = r.prefix();
  db = r.client();
  s = await startRegistryServing(r, prefix, { ONLINE_FLUSH_MS: '50' });
  const gens = [
    classifier(
      [
        [1, 0, -1],
        [0, 1, -1],
      ],
      [0, 0, 0],
    ),
    classifier(
      [
        [1, -1, 0],
        [0, 1, -1],
      ],
      [0, 0.2, 0],
    ),
    classifier(
      [
        [-1, 0, 1],
        [0, 1, -1],
      ],
      [0, 0, 0],
    ),
    // 3 features: every mirrored 2-feature request fails its input check
    classifier(
      [
        [1, 0],
        [0, 1],
        [1, 1],
      ],
      [0, 0],
    ),
  ];
  for (const weights of gens) {
    await s.registry.addGeneration(M, { type: 'classifier', weights });
  }
  await s.registry.promote(M, 1);
  await waitFor(() => s.app.fleet.host(M)?.gen === 1, {
    what: 'generation 1 live',
    timeoutMs: 30_000,
  });
});
after(async () => {
  await s?.stop();
  await r?.stop();
});

const state = (over: Parameters<typeof runningRollout>[1]) => runningRollout(M, over);

/** Stores the state (announced to serving) and waits until the replica acts on it. */
async function setRollout(next: RolloutState | null): Promise<void> {
  const cur = await readRollout(db, s.keys, M);
  const w = await writeRollout(db, s.keys, M, next, cur?.revision ?? null);
  assert.notEqual(w, 'conflict');
  await waitFor(
    () => {
      const v = s.app.rollout.views!.view(M).active;
      return next && next.status === 'running' ? v?.revision === (w as RolloutState).revision : !v;
    },
    { what: 'the replica to read the rollout' },
  );
  if (next) {
    const host = s.app.fleet.host(M)!;
    await waitFor(() => [next.challenger, ...next.shadows].every((g) => host.ready(g) || g > 4), {
      what: 'challenger and shadows loaded',
    });
  }
}

const row = (i: number) => [Math.sin(i) * 2, Math.cos(i * 1.7) * 2];
const infer = (i: number, headers: Record<string, string> = {}) =>
  fetch(`${s.url}/v2/models/${M}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(v2Body('x', [1, 2], row(i))),
  });

async function online(gen: number): Promise<Record<string, number>> {
  await s.app.rollout.recorder!.flush();
  const raw = await db.hgetall(s.keys.modelGenOnline(M, gen));
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: T[], width: number, fn: (t: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    [...Array(width).keys()].map(async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

test('canary: the split follows the percentage, one key always reaches one generation, counters per generation', async () => {
  await setRollout(state({ canaryPercent: 30 }));
  const before1 = await online(1);
  const before2 = await online(2);
  const N = 300;
  const keys = [...Array(N).keys()].map((i) => `client-${i}`);
  const first = new Map<string, string>();
  let answeredBy2 = 0;
  let sent = 0;
  const ask = async (i: number, headers: Record<string, string>) => {
    const res = await infer(i, headers);
    sent++;
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const g = res.headers.get('x-swarmml-generation')!;
    if (g === '2') answeredBy2++;
    return g;
  };
  await inParallel(keys, 16, async (k) => {
    first.set(k, await ask(keys.indexOf(k), { 'x-request-key': k }));
  });
  const onChallenger = [...first.values()].filter((g) => g === '2').length;
  assert.ok(onChallenger > N * 0.2 && onChallenger < N * 0.4, `${onChallenger}/${N} on 2`);
  // Sticky: asked again, in another order and with other inputs, each key gets the same.
  await inParallel([...keys].reverse().slice(0, 100), 16, async (k) => {
    assert.equal(await ask(1, { 'x-request-key': k }), first.get(k), k);
  });
  // Stepping up keeps every challenger client on the challenger (here keyed by the gateway).
  await setRollout(state({ canaryPercent: 60 }));
  let moved = 0;
  await inParallel(keys, 16, async (k) => {
    const g = await ask(2, { 'x-swarmml-client': k });
    if (first.get(k) === '2') assert.equal(g, '2', `${k} left the challenger`);
    else if (g === '2') moved++;
  });
  assert.ok(moved > N * 0.15, `${moved} more clients on the challenger at 60 %`);
  const a1 = await online(1);
  const a2 = await online(2);
  const d1 = a1.requests! - (before1.requests ?? 0);
  const d2 = a2.requests! - (before2.requests ?? 0);
  assert.equal(d1 + d2, sent);
  assert.equal(d2, answeredBy2);
  const buckets = Object.entries(a2).filter(([k]) => k.startsWith('lat:'));
  assert.equal(
    buckets.reduce((n, [, v]) => n + v, 0),
    a2.requests,
    'every request lands in one latency bucket',
  );
  assert.ok(a2.latencyMsSum! > 0);
  await setRollout(state({ status: 'aborted', canaryPercent: 0 }));
  const res = await infer(3, { 'x-request-key': keys.find((k) => first.get(k) === '2')! });
  await res.arrayBuffer();
  assert.equal(res.headers.get('x-swarmml-generation'), '1', 'an ended rollout splits nothing');
});

test('shadows at 100 % under 64 clients: no failed client request, every mirrored answer compared', async () => {
  await setRollout(
    state({
      phase: 'shadow',
      shadows: [3],
      policy: { shadowFraction: 1, shadowQueue: 100_000, shadowTimeoutMs: 30_000 },
    }),
  );
  const [b2, b3] = [await online(2), await online(3)];
  const failures: string[] = [];
  const ids: string[] = [];
  let done = 0;
  await inParallel([...Array(64 * 8).keys()], 64, async (i) => {
    const res = await infer(i);
    const body = (await res.json()) as { id?: string };
    if (res.status !== 200) failures.push(`${res.status} ${JSON.stringify(body)}`);
    assert.equal(
      res.headers.get('x-swarmml-generation'),
      '1',
      'production answers in shadow phase',
    );
    assert.equal(res.headers.get('x-prediction-id'), body.id);
    ids.push(body.id!);
    done++;
  });
  assert.deepEqual(failures, []);
  await s.app.rollout.mirror!.idle();
  const [a2, a3] = [await online(2), await online(3)];
  for (const [name, a, b] of [
    ['challenger', a2, b2],
    ['shadow', a3, b3],
  ] as const) {
    const d = (f: string) => (a[f] ?? 0) - (b[f] ?? 0);
    assert.equal(d('shadowSent'), done, `${name}: every request mirrored`);
    assert.equal(d('shadowDropped'), 0, name);
    assert.equal(d('shadowCompared'), done, `${name}: every answer compared`);
    assert.ok(
      d('shadowAgreed') > 0 && d('shadowAgreed') < done,
      `${name} agreed ${d('shadowAgreed')}`,
    );
  }
  // The prediction record has the answer and both shadows' answers.
  await s.app.rollout.recorder!.flush();
  const rec = JSON.parse((await db.get(s.keys.prediction(ids[0]!)))!) as {
    gen: number;
    kind: string;
    shadows: { gen: number }[];
  };
  assert.equal(rec.gen, 1);
  assert.equal(rec.kind, 'class');
  assert.deepEqual(rec.shadows.map((x) => x.gen).sort(), [2, 3]);
  assert.ok((await db.ttl(s.keys.prediction(ids[0]!))) > 6 * 24 * 3600);
});

test('a shadow that fails, times out or is missing never fails the client; each is counted', async () => {
  await setRollout(
    state({
      phase: 'shadow',
      // 4 rejects the inputs, 9 does not exist; the challenger gets 1 ms to answer
      shadows: [4, 9],
      policy: { shadowFraction: 1, shadowQueue: 8, shadowTimeoutMs: 1 },
    }),
  );
  const [b2, b4, b9] = [await online(2), await online(4), await online(9)];
  const failures: string[] = [];
  let done = 0;
  await inParallel([...Array(64 * 4).keys()], 64, async (i) => {
    const res = await infer(i);
    if (res.status !== 200) failures.push(`${res.status} ${await res.text()}`);
    else await res.arrayBuffer();
    done++;
  });
  assert.deepEqual(failures, []);
  await s.app.rollout.mirror!.idle();
  const [a2, a4, a9] = [await online(2), await online(4), await online(9)];
  const d = (a: Record<string, number>, b: Record<string, number>, f: string) =>
    (a[f] ?? 0) - (b[f] ?? 0);
  for (const [a, b, g] of [
    [a2, b2, 2],
    [a4, b4, 4],
    [a9, b9, 9],
  ] as const) {
    assert.equal(d(a, b, 'shadowSent') + d(a, b, 'shadowDropped'), done, `gen ${g} offered`);
    assert.ok(d(a, b, 'shadowDropped') > 0, `gen ${g}: a queue of 8 sheds load`);
  }
  assert.equal(d(a4, b4, 'shadowErrors'), d(a4, b4, 'shadowSent'), 'every bad-input run an error');
  assert.equal(d(a4, b4, 'shadowCompared'), 0);
  assert.equal(d(a9, b9, 'shadowErrors'), d(a9, b9, 'shadowSent'), 'a missing generation errs');
  assert.ok(d(a2, b2, 'shadowErrors') > 0, 'a 1 ms deadline times runs out');
  assert.equal(d(a4, b4, 'errors'), d(a4, b4, 'shadowErrors'));
});

test('prediction ids: KServe echoes the request id, TF Serving answers a fresh one in the header', async () => {
  await setRollout(null);
  const res = await fetch(`${s.url}/v2/models/${M}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(v2Body('x', [1, 2], [1, 0], { id: 'my-req-1' })),
  });
  const body = (await res.json()) as { id: string };
  assert.equal(body.id, 'my-req-1');
  assert.equal(res.headers.get('x-prediction-id'), 'my-req-1');
  const tf = await fetch(`${s.url}/v1/models/${M}/versions/2:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [[1, 0]] }),
  });
  assert.equal(tf.status, 200, await tf.clone().text());
  const id = tf.headers.get('x-prediction-id')!;
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(tf.headers.get('x-swarmml-generation'), '2');
  const rec = await waitFor(async () => {
    await s.app.rollout.recorder!.flush();
    return db.get(s.keys.prediction(id));
  });
  assert.equal((JSON.parse(rec) as { gen: number }).gen, 2);
});

test('version labels: TF Serving and KServe label routes answer from the labelled generation', async () => {
  await writeLabel(db, s.keys, M, 'stable', 1);
  await writeLabel(db, s.keys, M, 'canary', 3);
  await waitFor(() => s.app.rollout.views!.view(M).labels.canary === 3, { what: 'labels read' });
  const tf = await s.post(`/v1/models/${M}/labels/canary:predict`, { instances: [[1, 0]] });
  assert.equal(tf.status, 200, JSON.stringify(tf.body));
  const v2 = await fetch(`${s.url}/v2/models/${M}/labels/stable/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(v2Body('x', [1, 2], [1, 0])),
  });
  assert.equal(v2.status, 200);
  assert.equal(((await v2.json()) as { model_version: string }).model_version, '1');
  const tfGen = await fetch(`${s.url}/v1/models/${M}/labels/canary:predict`, {
    method: 'POST',
    body: JSON.stringify({ instances: [[1, 0]] }),
  });
  await tfGen.arrayBuffer();
  assert.equal(tfGen.headers.get('x-swarmml-generation'), '3');
  const ready = await s.get(`/v2/models/${M}/labels/canary/ready`);
  assert.equal(ready.status, 200);
  const missing = await s.post(`/v1/models/${M}/labels/nope:predict`, { instances: [[1, 0]] });
  assert.equal(missing.status, 404);
  assert.match(JSON.stringify(missing.body), /canary, stable/);
  // Generation 3 is held loaded while a label points at it.
  assert.ok(s.app.fleet.host(M)!.loadedVersions().includes(3));
});

test('a restarted replica reads the running rollout from Redis and splits at once', async () => {
  await setRollout(state({ canaryPercent: 100 }));
  await s.stop();
  s = await startRegistryServing(r, prefix, { ONLINE_FLUSH_MS: '50' });
  // No announcement after the start: the state comes from the read at start.
  assert.equal(s.app.rollout.views!.view(M).active?.canaryPercent, 100);
  await waitFor(() => s.app.fleet.host(M)!.ready(2), { what: 'challenger loaded' });
  const res = await infer(5, { 'x-request-key': 'anyone' });
  await res.arrayBuffer();
  assert.equal(res.headers.get('x-swarmml-generation'), '2');
});
