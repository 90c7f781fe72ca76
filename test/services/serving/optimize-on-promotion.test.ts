import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { createLogger } from '../../../shared/runtime/logger.js';
import {
  PromotionOptimizer,
  type OptimizationRecord,
} from '../../../services/serving/optimisation/optimizer.js';
import {
  acceptOptimized,
  bestBatch,
  maxAbsDiff,
} from '../../../services/serving/optimisation/optimize-check.js';
import { mlpModel } from '../../helpers/onnx-models.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import {
  startRegistryServing,
  storeUniform,
  uniformRows,
  type RegistryServing,
} from './registry-serving.js';

const f32 = (xs: number[]) => ({
  type: 'float32' as const,
  dims: [1, xs.length],
  data: Float32Array.from(xs),
});

describe('optimised-form checks (pure)', () => {
  test('outputs within tolerance are accepted; NaN mismatches, shape changes and larger gaps are not', () => {
    assert.equal(maxAbsDiff({ y: f32([1, 2]) }, { y: f32([1, 2.00001]) }) < 2e-5, true);
    assert.equal(
      acceptOptimized(maxAbsDiff({ y: f32([1, 2]) }, { y: f32([1, 2.00001]) }), 1e-4),
      true,
    );
    assert.equal(
      acceptOptimized(maxAbsDiff({ y: f32([1, 2]) }, { y: f32([1, 2.01]) }), 1e-4),
      false,
    );
    assert.equal(maxAbsDiff({ y: f32([NaN]) }, { y: f32([NaN]) }), 0);
    assert.equal(maxAbsDiff({ y: f32([NaN]) }, { y: f32([0]) }), Infinity);
    assert.equal(maxAbsDiff({ y: f32([1, 2]) }, { z: f32([1, 2]) }), Infinity);
    assert.equal(acceptOptimized(Infinity, 1), false);
  });
  test('the best batch is the one with the lowest time per row', () => {
    assert.equal(
      bestBatch(
        new Map([
          [1, 1],
          [8, 4],
          [32, 20],
        ]),
      ),
      8,
    );
  });
});

describe('optimise on promotion', () => {
  let r: TestRedis;
  let s: RegistryServing;
  const model = mlpModel([16, 32, 3], 5);

  before(async () => {
    r = await startTestRedis();
    s = await startRegistryServing(r, r.prefix(), {
      OPTIMIZE_ON_PROMOTION: '1',
      OPTIMIZE_TIME_MS: '20',
      OPTIMIZE_ROWS: '40',
    });
  });
  after(async () => {
    await s?.stop();
    await r?.stop();
  });

  test('a promoted generation gets a checked, timed optimised form, which serving then runs', async () => {
    await storeUniform(s.datasets, 'feats', 300, 16, { split: true });
    await s.registry.addGeneration('opt', {
      type: 'classifier',
      weights: model,
      lineage: { dataset: 'feats', version: 1 },
    });
    await s.registry.promote('opt', 1);
    const rec = await waitFor(
      async () =>
        (await s.registry.getGeneration('opt', 1)).extra?.optimization as
          OptimizationRecord | undefined,
      { timeoutMs: 40_000, what: 'optimisation record' },
    );
    assert.equal(rec.accepted, true, JSON.stringify(rec));
    assert.equal(rec.level, 'extended');
    assert.equal(rec.sizeBefore, model.length);
    assert.ok(rec.sizeAfter! > 0);
    assert.ok(rec.maxAbsDiff! <= 1e-4);
    assert.ok(rec.rowsChecked! > 0 && rec.rowsChecked! <= 40, `rows ${rec.rowsChecked}`);
    assert.match(rec.rowsFrom!, /feats@1 validation rows/);
    assert.ok([1, 8, 32, 64].includes(rec.bestBatch!));
    for (const l of [rec.latencyBeforeMs!, rec.latencyAfterMs!]) assert.ok(l.b1 > 0 && l.best > 0);

    const stored = await r.client().getBuffer(s.keys.modelGenOptimized('opt', 1));
    assert.ok(stored && stored.length === rec.sizeAfter);
    // What replicas load (and reload on the `optimized` message) is now the optimised form.
    assert.equal((await s.source.weights('opt', 1)).length, rec.sizeAfter);

    // Served answers still match the original graph run in-process.
    const x = uniformRows(1, 16, 99);
    const res = await s.post('/v2/models/opt/infer', {
      inputs: [{ name: 'x', shape: [1, 16], datatype: 'FP32', data: Array.from(x.features) }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const session = await ort.InferenceSession.create(model);
    const want = (await session.run({ x: new ort.Tensor('float32', x.features, [1, 16]) })).probs!
      .data as Float32Array;
    await session.release();
    const got = res.body.outputs[0].data as number[];
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-4));

    // Done once: a second replica's attempt finds the record and leaves it alone.
    const again = new PromotionOptimizer({
      redis: r.client(),
      keys: s.keys,
      registry: s.registry,
      datasets: s.datasets,
      log: createLogger('t', 'silent'),
    });
    assert.equal(await again.optimize('opt', 1), null);
  });

  test('of two replicas racing for one generation, exactly one optimises it', async () => {
    await s.registry.addGeneration('race', { type: 'classifier', weights: mlpModel([8, 4, 2], 3) });
    const make = () =>
      new PromotionOptimizer({
        redis: r.client(),
        keys: s.keys,
        registry: s.registry,
        datasets: s.datasets,
        log: createLogger('t', 'silent'),
        timeMs: 10,
      });
    const results = await Promise.all([make().optimize('race', 1), make().optimize('race', 1)]);
    assert.equal(results.filter((x) => x !== null).length, 1);
    const rec = results.find((x) => x !== null)!;
    assert.match(rec.rowsFrom!, /synthetic/);
    assert.equal(rec.accepted, true);
  });
});
