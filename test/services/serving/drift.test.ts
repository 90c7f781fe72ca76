import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog } from '../../../shared/store/event-log.js';
import { DriftWindow, buildReference, nextAlarm } from '../../../services/serving/drift/psi.js';
import { mlpModel } from '../../helpers/onnx-models.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import {
  startRegistryServing,
  storeUniform,
  uniformRows,
  type RegistryServing,
} from './registry-serving.js';

describe('population stability index (pure)', () => {
  const train = uniformRows(2000, 4, 1);
  const ref = buildReference(train.features, train.rows, 4, 10);

  test('same distribution scores low, a shifted one high', () => {
    const same = new DriftWindow(ref, 500);
    same.add(uniformRows(500, 4, 2).features, 500);
    assert.ok(same.psi() < 0.05, `same ${same.psi()}`);
    const shifted = new DriftWindow(ref, 500);
    shifted.add(uniformRows(500, 4, 3, 0.5).features, 500);
    assert.ok(shifted.psi() > 1, `shifted ${shifted.psi()}`);
  });

  test('the window forgets rows older than its size', () => {
    const w = new DriftWindow(ref, 200);
    w.add(uniformRows(200, 4, 4, 0.5).features, 200);
    assert.ok(w.psi() > 1);
    w.add(uniformRows(200, 4, 5).features, 200);
    assert.equal(w.count, 200);
    assert.ok(w.psi() < 0.1, `after refill ${w.psi()}`);
  });

  test('constant training features carry no signal and are left out', () => {
    const flat = new Float32Array(100 * 2).map((_, i) => (i % 2 === 0 ? 5 : (i * 0.37) % 1));
    const r = buildReference(flat, 100, 2, 10);
    assert.deepEqual([...r.active], [0, 1]);
  });

  test('the alarm fires once per crossing and re-arms below the clear level', () => {
    let s = { raised: false, fire: false };
    const fires: boolean[] = [];
    for (const score of [0.1, 0.3, 0.4, 0.15, 0.3, 0.05, 0.25]) {
      s = nextAlarm(s.raised, score, 0.2, 0.1);
      fires.push(s.fire);
    }
    assert.deepEqual(fires, [false, true, false, false, false, false, true]);
  });
});

describe('drift monitoring in serving', () => {
  let r: TestRedis;
  let s: RegistryServing;
  before(async () => {
    r = await startTestRedis();
    s = await startRegistryServing(r, r.prefix(), {
      DRIFT: '1',
      DRIFT_WINDOW: '400',
      DRIFT_MIN_ROWS: '200',
      DRIFT_CHECK_MS: '20',
    });
    await storeUniform(s.datasets, 'train', 1000, 8);
    await s.registry.addGeneration('watched', {
      type: 'classifier',
      weights: mlpModel([8, 4, 3], 2),
      lineage: { dataset: 'train', version: 1 },
    });
    await s.registry.promote('watched', 1);
    await waitFor(() => s.app.fleet.host('watched')?.gen === 1, { what: 'model live' });
  });
  after(async () => {
    await s?.stop();
    await r?.stop();
  });

  const send = async (seed: number, shift: number) => {
    const b = uniformRows(50, 8, seed, shift);
    const res = await s.post('/v2/models/watched/infer', {
      inputs: [{ name: 'x', shape: [50, 8], datatype: 'FP32', data: Array.from(b.features) }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const driftEvents = async () =>
    (await new EventLog(r.client(), s.keys).range({ count: 1000 })).filter(
      (e) => e.kind === 'serving.drift',
    );

  test('in-distribution inputs keep the gauge low; a shift raises it and one serving.drift event', async () => {
    await send(100, 0); // the first request loads the training reference
    await waitFor(() => s.drift!['states'].has('watched'), { what: 'reference loaded' });
    for (let i = 0; i < 8; i++) await send(200 + i, 0);
    await waitFor(() => s.drift!.score('watched') !== null, { what: 'a score' });
    await s.drift!.check();
    assert.ok(s.drift!.score('watched')! < 0.2, `in-distribution ${s.drift!.score('watched')}`);
    assert.equal((await driftEvents()).length, 0);

    for (let i = 0; i < 6; i++) await send(300 + i, 0.6);
    await s.drift!.check();
    const high = s.drift!.score('watched')!;
    assert.ok(high > 0.2, `shifted ${high}`);
    const metrics = (await s.get('/metrics')).body as string;
    assert.match(metrics, /swarmml_input_drift\{model="watched"\} [0-9.]+/);
    await waitFor(async () => (await driftEvents()).length === 1, { what: 'one drift event' });

    // Still drifting: no second event for the same crossing.
    for (let i = 0; i < 6; i++) await send(400 + i, 0.6);
    await s.drift!.check();
    await s.drift!.check();
    const evs = await driftEvents();
    assert.equal(evs.length, 1);
    const p = evs[0]!.payload as {
      model: string;
      gen: number;
      psi: number;
      topFeatures: unknown[];
    };
    assert.equal(p.model, 'watched');
    assert.equal(p.gen, 1);
    assert.ok(p.psi > 0.2);
    assert.equal(p.topFeatures.length, 5);
  });
});
