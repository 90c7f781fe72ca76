/**
 * The platform judges every candidate itself, end to end with real parts: the gateway's
 * upload route, the event listener, the evaluation worker (BullMQ, onnxruntime in a child
 * process) and the event handler carrying out the decisions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EventLog,
  splitInfo,
  type DatasetStore,
  type Generation,
  type ModelRegistry,
} from '../../../shared/index.js';
import { api, type TestPlatform } from '../../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../helpers/digits-platform.js';
import { linearClassifierModel, mlpModel, seededFloats } from '../../helpers/onnx-models.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * 120 rows, two features, 30% class 1: x0 leans -1 for class 0 and +1 for class 1 with
 * noise enough to overlap a little; x1 is noise. A recorded split holds out about 24 rows.
 */
async function storeSkewed(datasets: DatasetStore): Promise<void> {
  const n = 120;
  const u = seededFloats(3 * n, 5);
  const features = new Float32Array(2 * n);
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const y = (u[3 * i]! + 1) / 2 < 0.3 ? 1 : 0;
    labels[i] = y;
    features[2 * i] = (y ? 1 : -1) + 1.3 * u[3 * i + 1]!;
    features[2 * i + 1] = u[3 * i + 2]!;
  }
  const w = datasets.beginVersion('skewed');
  await w.writeShard({ kind: 'tabular', rows: n, dim: 2, features, labels });
  await w.commit({
    kind: 'tabular',
    format: 'csv',
    features: 2,
    count: n,
    labelKind: 'class',
    labelNames: ['common', 'rare'],
    split: splitInfo(42, 0.2, n),
  });
}

/** Separates on x0; `scale` sharpens it without moving the boundary. */
const goodModel = (scale: number) =>
  linearClassifierModel({
    weights: [
      [-1, 1],
      [0, 0],
    ],
    bias: [0, 0],
    scale,
  });
/** Always answers the rare class: below a majority-class guess. */
const rareModel = () =>
  linearClassifierModel({
    weights: [
      [0, 0],
      [0, 0],
    ],
    bias: [0, 1],
  });

describe('candidates are decided on figures the platform measures', () => {
  let d: DigitsPlatform;
  let p: TestPlatform;
  let registry: ModelRegistry;
  let operator: string;

  before(async () => {
    d = await startDigitsPlatform();
    ({ p, registry } = d);
    await storeSkewed(d.datasets);
    const t = await api(p, 'POST', '/api/v1/tokens', { name: 'ops', role: 'operator' });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    operator = t.body.token as string;
  });
  after(async () => {
    await d?.close();
  });

  /** Uploads an ONNX file as the operator; answers the new generation. */
  async function upload(model: string, bytes: Buffer, query: string): Promise<Generation> {
    const res = await fetch(`${p.url}/api/v1/models/${model}/generations?${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });
    const body = (await res.json()) as Generation;
    assert.equal(res.status, 201, JSON.stringify(body));
    return body;
  }

  /** The archive so far. */
  async function archived() {
    const events = await new EventLog(d.r.client(), d.keys).range({ count: 10_000 });
    return events as Array<{
      kind: string;
      payload: { action?: string; model?: string; gen?: number; rule?: string; reason?: string };
    }>;
  }

  /** Waits until the listener's decision on `gen` has been carried out. */
  function decided(model: string, gen: number): Promise<Generation> {
    return waitFor(
      async () => {
        const g = await registry.getGeneration(model, gen);
        return g.status === 'candidate' ? undefined : g;
      },
      { timeoutMs: 30_000, what: `${model}/${gen} decided` },
    );
  }

  test('an operator upload declaring valAccuracy 0.9999 for a poor model is not promoted', async () => {
    const metrics = encodeURIComponent(JSON.stringify({ valAccuracy: 0.9999 }));
    const g = await upload('claims', mlpModel([64, 10], 3), `metrics=${metrics}&dataset=digits@1`);
    assert.deepEqual(g.metrics, { valAccuracy: 0.9999 }, 'recorded as reported');
    const done = await decided('claims', g.gen);
    assert.equal(done.status, 'rejected');
    assert.equal(await registry.getProduction('claims'), null);
    const measured = done.evaluation!.metrics.accuracy!;
    assert.ok(measured < 0.3, String(measured));
    assert.match(
      done.reason!,
      /^reported valAccuracy 0\.9999 but measured accuracy 0\.\d+ on digits@1 \(\d+ held-out rows\): overstated by/,
    );
    // No session to flag: the flag stands as its own archived decision, with the model named.
    const flag = (await archived()).find(
      (e) => e.kind === 'decision' && e.payload.action === 'flag' && e.payload.model === 'claims',
    );
    assert.equal(flag?.payload.rule, 'accept.reportedMismatch');
    assert.equal(flag?.payload.gen, g.gen);
  });

  test('an upload naming no dataset version cannot be judged and is rejected with why', async () => {
    const g = await upload('nolineage', goodModel(1), '');
    const done = await decided('nolineage', g.gen);
    assert.equal(done.status, 'rejected');
    assert.match(done.reason!, /names no dataset version to be evaluated on/);
  });

  test('below the majority-class baseline is rejected, with no production and with one', async () => {
    const first = await upload('skew', rareModel(), 'dataset=skewed@1');
    const lone = await decided('skew', first.gen);
    assert.equal(lone.status, 'rejected');
    const base = lone.evaluation!.baseline!;
    assert.deepEqual([base.kind, base.value, base.label], ['majority-class', 0, 'common']);
    assert.ok(lone.evaluation!.metrics.accuracy! < base.metrics.accuracy!);
    assert.match(
      lone.reason!,
      /^accuracy 0\.\d+ does not beat the majority-class baseline \(always class 0 "common": accuracy 0\.\d+\) by more than 0\.02 on skewed@1/,
    );

    const good = await upload('skew', goodModel(1), 'dataset=skewed@1');
    assert.equal((await decided('skew', good.gen)).status, 'production');

    const again = await upload('skew', rareModel(), 'dataset=skewed@1');
    const judged = await decided('skew', again.gen);
    assert.equal(judged.status, 'rejected');
    assert.match(judged.reason!, /does not beat the majority-class baseline/);
    assert.equal((await registry.getProduction('skew'))!.gen, good.gen);
    // Production was run on the same rows for the comparison.
    assert.equal(judged.evaluation!.against!.gen, good.gen);
  });

  test('an accuracy tie with a lower log loss is accepted (the tie-break)', async () => {
    // Promoted at once rather than through a staged rollout (docs/rollout.md): no traffic here.
    const rules = await api(p, 'PUT', '/api/v1/rules', {
      perModel: { tie: { rollout: { mode: 'direct' } } },
    });
    assert.equal(rules.status, 200, JSON.stringify(rules.body));
    const soft = await upload('tie', goodModel(0.5), 'dataset=skewed@1');
    const prod = await decided('tie', soft.gen);
    assert.equal(prod.status, 'production');
    const sharp = await upload('tie', goodModel(4), 'dataset=skewed@1');
    const done = await decided('tie', sharp.gen);
    const c = done.evaluation!;
    const q = c.against!;
    assert.equal(q.gen, soft.gen);
    assert.equal(c.metrics.accuracy, q.metrics.accuracy, 'the same accuracy on the same rows');
    assert.ok(c.metrics.logLoss! < q.metrics.logLoss!, JSON.stringify([c.metrics, q.metrics]));
    assert.ok(c.rows!.count < 40, `a small held-out set: ${c.rows!.count} rows`);
    assert.equal(done.status, 'production', done.reason);
    const promoted = (await archived()).find(
      (e) =>
        e.kind === 'generation.promoted' &&
        e.payload.model === 'tie' &&
        e.payload.gen === sharp.gen,
    );
    assert.match(promoted!.payload.reason!, /ties production gen 1 .*; tie-break logLoss/);
  });
});
