/**
 * The serving side of candidate evaluation: jobs from the real `evaluations` queue, the
 * stored ONNX run by onnxruntime in the child process, figures recorded on the generation
 * and archived as `generation.evaluated`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import {
  DatasetStore,
  EvaluatedPayload,
  EventLog,
  Keys,
  ModelRegistry,
  QUEUES,
  createLogger,
  evaluationJobId,
  regressionFigures,
  splitInfo,
  validationMask,
  type EvaluationJob,
} from '../../../shared/index.js';
import { startCandidateEvaluation } from '../../../services/serving/evaluation/evaluation-worker.js';
import { addConstantModel, mlpModel, seededFloats } from '../../helpers/onnx-models.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

const log = createLogger('test', process.env.TEST_LOG ?? 'silent');
const N = 300;

describe('candidate evaluation on a serving replica', () => {
  let r: TestRedis;
  let keys: Keys;
  let registry: ModelRegistry;
  let events: EventLog;
  let queue: Queue<EvaluationJob>;
  let worker: { close(): Promise<void> };
  let x: Float32Array;
  let y: Float32Array;

  before(async () => {
    r = await startTestRedis();
    keys = new Keys(r.prefix());
    const client = r.client();
    registry = new ModelRegistry(client, keys);
    events = new EventLog(client, keys);
    // A regression: y = x + 0.5 + noise, one feature.
    x = seededFloats(N, 1, 3);
    const noise = seededFloats(N, 2, 0.1);
    y = Float32Array.from(x, (v, i) => v + 0.5 + noise[i]!);
    const w = new DatasetStore(client, keys).beginVersion('line');
    // Two shards, so the split's row numbering runs across them.
    for (const [from, to] of [
      [0, 170],
      [170, N],
    ] as const) {
      await w.writeShard({
        kind: 'tabular',
        rows: to - from,
        dim: 1,
        features: x.slice(from, to),
        labels: y.slice(from, to),
      });
    }
    await w.commit({
      kind: 'tabular',
      format: 'csv',
      features: 1,
      count: N,
      labelKind: 'regression',
      split: splitInfo(9, 0.25, N),
    });
    queue = new Queue(QUEUES.evaluations, {
      connection: r.client({ forWorker: true }),
      prefix: keys.bullPrefix(),
    });
    worker = startCandidateEvaluation({
      connection: r.client({ forWorker: true }),
      redis: client,
      keys,
      log,
      nice: 0,
    });
  });
  after(async () => {
    await worker?.close();
    await queue?.close();
    await r?.stop();
  });

  async function add(weights: Buffer, dataset = 'line'): Promise<number> {
    const g = await registry.addGeneration('line', {
      type: 'regressor',
      weights,
      metrics: { valRmse: 0.05 },
      lineage: { dataset, version: 1 },
    });
    return g.gen;
  }

  async function evaluated(job: EvaluationJob): Promise<EvaluatedPayload> {
    await queue.add('evaluate', job, { jobId: evaluationJobId(job), attempts: 2 });
    return waitFor(
      async () => {
        const all = await events.range({ count: 1000 });
        const e = all.find(
          (ev) =>
            ev.kind === 'generation.evaluated' && (ev.payload as { gen: number }).gen === job.gen,
        );
        return e ? EvaluatedPayload.parse(e.payload) : undefined;
      },
      { timeoutMs: 30_000, what: `evaluation of gen ${job.gen}` },
    );
  }

  test('a regressor: RMSE, MAE and R² on the held-out rows, the training mean, production on the same rows', async () => {
    const prodGen = await add(addConstantModel({ value: 2, width: 1 }));
    await registry.promote('line', prodGen);
    const gen = await add(addConstantModel({ value: 0.5, width: 1 }));
    const p = await evaluated({ model: 'line', gen, against: prodGen });
    assert.equal(p.error, undefined);
    assert.equal(p.task, 'regression');
    assert.deepEqual(p.reported, { valRmse: 0.05 });

    // The same figures, worked out here from the split's held-out rows.
    const mask = validationMask(9, 0.25, 0, N);
    const held = [...mask.keys()].filter((i) => mask[i]);
    const train = [...mask.keys()].filter((i) => !mask[i]);
    const labels = held.map((i) => y[i]!);
    const want = regressionFigures(
      held.map((i) => x[i]! + 0.5),
      labels,
    );
    assert.deepEqual(p.rows, {
      dataset: 'line',
      version: 1,
      split: 'recorded',
      seed: 9,
      validationFraction: 0.25,
      count: held.length,
      available: held.length,
      trainCount: train.length,
    });
    for (const m of ['rmse', 'mae', 'r2'] as const) {
      assert.ok(Math.abs(p.metrics[m]! - want[m]) < 1e-5, `${m} ${p.metrics[m]} vs ${want[m]}`);
    }
    const mean = train.reduce((s, i) => s + y[i]!, 0) / train.length;
    assert.equal(p.baseline?.kind, 'training-mean');
    assert.ok(Math.abs(p.baseline.value - mean) < 1e-5);
    assert.ok(p.baseline.metrics.r2! <= 0.05, 'the mean explains (almost) nothing');
    assert.equal(p.against?.gen, prodGen);
    assert.ok(Math.abs(p.against.metrics.mae! - 1.5) < 0.05, JSON.stringify(p.against));
    // The paired bootstrap: the candidate's RMSE is clearly below production's.
    const q = p.paired!.bootstrap!.quantiles.rmse!;
    assert.ok(q['0.99']! < -1, JSON.stringify(q));
    assert.ok(p.latencyMs!.b1 > 0 && [1, 8, 32, 64].includes(p.latencyMs!.bestBatch));
    // The same record is on the generation.
    const g = await registry.getGeneration('line', gen);
    assert.deepEqual(g.evaluation?.metrics, p.metrics);
  });

  test('a model that cannot take the rows is recorded with why, and the archive says so', async () => {
    const gen = await add(mlpModel([4, 1], 3));
    const p = await evaluated({ model: 'line', gen, against: null });
    assert.match(p.error ?? '', /takes 4 values per row; the dataset has 1/);
    assert.deepEqual(p.metrics, {});
    assert.match((await registry.getGeneration('line', gen)).evaluation?.error ?? '', /4 values/);
  });

  test('a generation decided before its turn is not evaluated', async () => {
    const gen = await add(addConstantModel({ value: 0.5, width: 1 }));
    await registry.reject('line', gen, 'by hand');
    const job = { model: 'line', gen, against: null };
    await queue.add('evaluate', job, { jobId: evaluationJobId(job) });
    await waitFor(async () => (await queue.getJobState(evaluationJobId(job))) === 'completed', {
      what: 'job done',
    });
    const all = await events.range({ count: 1000 });
    assert.equal(
      all.some(
        (e) => e.kind === 'generation.evaluated' && (e.payload as { gen: number }).gen === gen,
      ),
      false,
    );
    assert.equal((await registry.getGeneration('line', gen)).evaluation, undefined);
  });
});
