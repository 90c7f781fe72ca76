/** The pure parts of rollout traffic: canary buckets, answer summaries, label paths, latency buckets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketOf, toChallenger } from '../../../services/serving/rollout/canary-split.js';
import { agree, summarize } from '../../../services/serving/rollout/output-summary.js';
import { resolveLabelPath } from '../../../services/serving/rollout/label-paths.js';
import { latencyField } from '../../../services/serving/rollout/online-recorder.js';

test('canary buckets are even, stable, and a higher percentage keeps every earlier key', () => {
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 20_000; i++) counts[Math.floor(bucketOf(`k${i}`, 'm', 2) / 10)]!++;
  for (const c of counts) assert.ok(c > 1700 && c < 2300, `decile count ${c}`);
  assert.equal(bucketOf('alice', 'm', 2), bucketOf('alice', 'm', 2));
  const moved = [...Array(1000).keys()].filter(
    (i) => bucketOf(`k${i}`, 'm', 2) !== bucketOf(`k${i}`, 'm', 3),
  ).length;
  assert.ok(moved > 900, 'another challenger picks other clients');
  for (let i = 0; i < 1000; i++) {
    if (toChallenger(`k${i}`, 'm', 2, 10)) assert.ok(toChallenger(`k${i}`, 'm', 2, 50));
  }
  assert.equal(toChallenger('x', 'm', 2, 0), false);
  assert.equal(toChallenger(undefined, 'm', 2, 100), true);
});

test('answers summarise as argmax classes or first values and agree within 1e-6 relative', () => {
  const scores = summarize({
    probabilities: {
      type: 'float32',
      dims: [2, 3],
      data: Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.2, 0.3]),
    },
  })!;
  assert.deepEqual(scores, { kind: 'class', rows: [1, 0] });
  const ids = summarize({
    label: { type: 'int64', dims: [2], data: BigInt64Array.from([2n, 0n]) },
  })!;
  assert.deepEqual(ids, { kind: 'class', rows: [2, 0] });
  const value = (v: number) =>
    summarize({ y: { type: 'float32', dims: [1, 1], data: Float32Array.from([v]) } })!;
  assert.equal(value(3).kind, 'value');
  assert.ok(agree(value(1000), value(1000.0005)));
  assert.ok(!agree(value(1000), value(1000.01)));
  assert.ok(!agree(scores, { kind: 'class', rows: [1, 2] }));
});

test('label paths become version paths; an unknown label is a 404 naming the labels', () => {
  const labels: Record<string, number> = { stable: 3, canary: 4 };
  const resolve = (p: string) =>
    resolveLabelPath(
      p,
      (_m, l) => labels[l],
      () => Object.keys(labels),
    );
  assert.equal(
    resolve('/v1/models/iris/labels/stable:predict'),
    '/v1/models/iris/versions/3:predict',
  );
  assert.equal(resolve('/v1/models/iris/labels/canary'), '/v1/models/iris/versions/4');
  assert.equal(resolve('/v2/models/iris/labels/canary/infer'), '/v2/models/iris/versions/4/infer');
  assert.equal(resolve('/v2/models/iris/infer'), '/v2/models/iris/infer');
  assert.throws(
    () => resolve('/v2/models/iris/labels/nope/infer'),
    /no version label "nope"; labels: stable, canary/,
  );
});

test('latencies fall in the first bucket at or above them', () => {
  assert.equal(latencyField(0.2), 'lat:0.5');
  assert.equal(latencyField(1), 'lat:1');
  assert.equal(latencyField(12), 'lat:15');
  assert.equal(latencyField(99_999), 'lat:+Inf');
});
