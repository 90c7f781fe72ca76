import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, createSampleAppender, splitInfo } from '../../../shared/index.js';
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

/** Rows as the harness's libsvm() writes them, as append JSON. */
function sampleRows(from: number, n: number, dim: number, classes: number) {
  return Array.from({ length: n }, (_, i) => {
    const row = from + i;
    return {
      features: Array.from({ length: dim }, (_, j) => ((row * 7 + j * 3) % 11) / 10),
      label: row % classes,
    };
  });
}

const close = (a: number, b: number) => Math.abs(a - b) < 1e-6 * Math.max(1, Math.abs(b));

test('an append is a new version referencing the old shards, with merged stats and split', async () => {
  const base = await upload(h, 'live', libsvm(300, 4, 3));
  assert.equal(base.status, 201);
  const res = await call(h, 'POST', '/api/v1/datasets/live/append', {
    rows: sampleRows(300, 50, 4, 3),
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const v = res.body;
  assert.deepEqual([v.version, v.parent, v.count], [2, 1, 350]);

  const stored = await h.datasets.getVersion('live', 2);
  const v1 = await h.datasets.getVersion('live', 1);
  assert.deepEqual(
    stored.shards.slice(0, v1.shards.length),
    v1.shards,
    'base shards listed, not copied',
  );
  assert.equal(stored.shards.length, v1.shards.length + 1);
  assert.equal(stored.shards.at(-1)!.version, 2);

  // The same 350 rows uploaded in one go give the same statistics and split.
  const whole = await upload(h, 'whole', libsvm(350, 4, 3));
  assert.deepEqual(v.split, splitInfo(42, 0.2, 350));
  assert.deepEqual(v.split, whole.body.split);
  assert.deepEqual(v.stats.labels, whole.body.stats.labels);
  for (const k of ['mean', 'std', 'min', 'max'] as const) {
    v.stats.features[k].forEach((x: number, j: number) =>
      assert.ok(
        close(x, whole.body.stats.features[k][j]),
        `${k}[${j}] ${x} vs ${whole.body.stats.features[k][j]}`,
      ),
    );
  }
  assert.deepEqual(v.stats.features.count, whole.body.stats.features.count);

  // Rows read back across the old and the new shard.
  const rows = await call(
    h,
    'GET',
    '/api/v1/datasets/live/versions/2/rows?start=295&count=10&format=json',
  );
  assert.deepEqual(
    rows.body.labels,
    [295, 296, 297, 298, 299, 300, 301, 302, 303, 304].map((x) => x % 3),
  );

  const ev = (await h.events.range({ count: 100 })).filter((e) => e.kind === 'dataset.version');
  assert.deepEqual(ev.at(-2)?.payload, {
    name: 'live',
    version: 2,
    count: 350,
    added: 50,
    parent: 1,
  });
});

test('appendSamples creates a dataset, maps text labels and extends the classes', async () => {
  const append = createSampleAppender({
    datasets: h.datasets,
    events: h.events,
    keys: h.keys,
    log: createLogger('t', 'silent'),
  });
  const v1 = await append('pets', [
    { features: [1, 2], label: 'dog' },
    { features: [3, null], label: 'cat' },
  ]);
  assert.equal(v1.version, 1);
  assert.deepEqual(v1.labelNames, ['cat', 'dog']);
  assert.equal(v1.labelKind, 'class');
  const v2 = await append('pets', [
    { features: [5, 6], label: 'emu' },
    { features: [7, 8], label: 'dog' },
  ]);
  assert.deepEqual([v2.version, v2.parent, v2.count], [2, 1, 4]);
  assert.deepEqual(v2.labelNames, ['cat', 'dog', 'emu'], 'earlier ids keep their meaning');
  const rows = await call(h, 'GET', '/api/v1/datasets/pets/versions/2/rows?format=json');
  assert.deepEqual(rows.body.labels, [1, 0, 2, 1]);
  assert.equal(rows.body.values[1][1], null, 'NaN (missing) is null in JSON');
  assert.deepEqual((v2.stats as { labels: unknown }).labels, {
    kind: 'class',
    histogram: [1, 2, 1],
  });
});

test('appends to one dataset at once all land, one version each', async () => {
  await call(h, 'POST', '/api/v1/datasets/burst/append', { rows: sampleRows(0, 10, 3, 2) });
  const answers = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      call(h, 'POST', '/api/v1/datasets/burst/append', { rows: sampleRows(10 + i * 5, 5, 3, 2) }),
    ),
  );
  assert.ok(answers.every((a) => a.status === 201));
  const info = await call(h, 'GET', '/api/v1/datasets/burst');
  assert.equal(info.body.latest, 7);
  const last = await call(h, 'GET', '/api/v1/datasets/burst/versions/7');
  assert.equal(last.body.count, 40, 'no append was lost to a race');
});

test('bad appends are refused and store nothing', async () => {
  await call(h, 'POST', '/api/v1/datasets/strict/append', { rows: sampleRows(0, 5, 3, 2) });
  const tooMany = await call(h, 'POST', '/api/v1/datasets/strict/append', {
    rows: Array.from({ length: 10_001 }, () => ({ features: [1, 2, 3], label: 0 })),
  });
  assert.equal(tooMany.status, 400);
  const wrongDim = await call(h, 'POST', '/api/v1/datasets/strict/append', {
    rows: [{ features: [1, 2], label: 0 }],
  });
  assert.equal(wrongDim.status, 400);
  assert.match(wrongDim.body.message, /has 2 features, the dataset has 3/);
  const noRows = await call(h, 'POST', '/api/v1/datasets/strict/append', { rows: [] });
  assert.equal(noRows.status, 400);
  const info = await call(h, 'GET', '/api/v1/datasets/strict');
  assert.equal(info.body.latest, 1);

  const regression = await call(h, 'POST', '/api/v1/datasets/reg/append', {
    rows: [{ features: [1], label: 0.5 }],
  });
  assert.equal(regression.body.labelKind, 'regression');
  const text = await call(h, 'POST', '/api/v1/datasets/reg/append', {
    rows: [{ features: [1], label: 'x' }],
  });
  assert.equal(text.status, 400);
});
