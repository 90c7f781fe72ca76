import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { DatasetStore, EventLog, Keys, ModelRegistry } from '../../../shared/index.js';
import { argmaxRows, planChunks } from '../../../shared/protocol/batch-infer-params.js';
import { mlpModel } from '../../helpers/onnx-models.js';
import { api, startTestPlatform, type TestPlatform } from '../../helpers/platform.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import {
  startRegistryServing,
  uniformRows,
  type RegistryServing,
} from '../serving/registry-serving.js';

describe('batch inference plan (pure)', () => {
  test('chunks cover every row once, the last one shorter', () => {
    assert.deepEqual(planChunks(2500, 1000), [
      { start: 0, count: 1000 },
      { start: 1000, count: 1000 },
      { start: 2000, count: 500 },
    ]);
    assert.deepEqual(planChunks(0, 10), []);
  });
  test('argmax per row, first of ties', () => {
    assert.deepEqual([...argmaxRows(Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.5, 0]), 3)], [1, 0]);
  });
});

describe('batch-infer sessions (process backend, serving in-process)', () => {
  let r: TestRedis;
  let p: TestPlatform;
  let s: RegistryServing;
  let datasets: DatasetStore;
  const model = mlpModel([16, 32, 3], 11);
  const rows = uniformRows(2300, 16, 5);

  const runSession = async (body: Record<string, unknown>) => {
    const created = await api(p, 'POST', '/api/v1/sessions', {
      kind: 'batch-infer',
      model: 'clf',
      dataset: 'rows',
      ...body,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const done = await waitFor(
      async () => {
        const got = await api(p, 'GET', `/api/v1/sessions/${id}`);
        return ['succeeded', 'failed', 'stopped'].includes(got.body.state) ? got.body : undefined;
      },
      { timeoutMs: 60_000, what: 'session end' },
    );
    return { id, done };
  };

  before(async () => {
    r = await startTestRedis();
    p = await startTestPlatform(r);
    s = await startRegistryServing(r, p.prefix, { BATCH_WORKER: '1', MAX_BATCH: '128' });
    const keys = new Keys(p.prefix);
    datasets = new DatasetStore(r.client(), keys);
    const w = datasets.beginVersion('rows');
    await w.writeShard({
      ...rows,
      rows: 1000,
      features: rows.features.slice(0, 16_000),
      labels: rows.labels.slice(0, 1000),
    });
    await w.writeShard({
      ...rows,
      rows: 1300,
      features: rows.features.slice(16_000),
      labels: rows.labels.slice(1000),
    });
    await w.commit({
      kind: 'tabular',
      format: 'csv',
      features: 16,
      labelKind: 'class',
      labelNames: ['a', 'b', 'c'],
    });
    const registry = new ModelRegistry(r.client(), keys);
    await registry.addGeneration('clf', { type: 'classifier', weights: model });
    await registry.promote('clf', 1);
    await waitFor(() => s.app.fleet.host('clf')?.gen === 1, { what: 'model live' });
  });
  after(async () => {
    await s?.stop();
    await p?.close();
    await r?.stop();
  });

  test('scores a dataset version through the queue and writes the predictions as a dataset', async () => {
    const { id, done } = await runSession({ params: { chunkRows: 500 } });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.lastLogs ?? done));

    const out = await datasets.getVersion('rows-pred-clf-g1', 1);
    assert.equal(out.count, 2300);
    assert.equal(out.features, 3);
    assert.deepEqual(out.labelNames, ['a', 'b', 'c']);
    assert.deepEqual(out.source, { session: id, model: 'clf', gen: 1, dataset: 'rows@1' });
    const got = await datasets.readRows('rows-pred-clf-g1', 1, 0, 2300);
    assert.equal(got.kind, 'tabular');

    const session = await ort.InferenceSession.create(model);
    const want = (await session.run({ x: new ort.Tensor('float32', rows.features, [2300, 16]) }))
      .probs!.data as Float32Array;
    await session.release();
    if (got.kind !== 'tabular') return;
    let worst = 0;
    for (let i = 0; i < want.length; i++)
      worst = Math.max(worst, Math.abs(got.features[i]! - want[i]!));
    assert.ok(worst < 1e-5, `max difference ${worst}`);
    assert.deepEqual([...got.labels], [...argmaxRows(want, 3)]);

    const events = await new EventLog(r.client(), new Keys(p.prefix)).range({
      sessionId: id,
      count: 500,
    });
    const progress = events
      .filter((e) => e.kind === 'progress')
      .map((e) => e.payload as { done: number; total: number });
    assert.ok(progress.length >= 1);
    assert.deepEqual(progress.at(-1), { ...progress.at(-1), done: 2300, total: 2300 });
    // Collected outputs are not left behind.
    assert.equal((await r.client().keys(`${p.prefix}:batch:*`)).length, 0);
  });

  test('a chunk the model cannot answer fails the session without retries and writes nothing', async () => {
    const { done } = await runSession({
      params: { output: 'no-such-output', outputDataset: 'never' },
    });
    assert.equal(done.state, 'failed');
    await assert.rejects(datasets.getVersion('never', 1), /not found/);
  });
});
