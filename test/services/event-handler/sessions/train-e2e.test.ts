import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelRegistry } from '../../../../shared/index.js';
import { api, startLongTraining, type TestPlatform } from '../../../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../../helpers/digits-platform.js';
import { waitFor } from '../../../helpers/wait.js';

describe('training sessions end to end (process backend)', () => {
  let d: DigitsPlatform;
  let p: TestPlatform;
  let registry: ModelRegistry;
  before(async () => {
    d = await startDigitsPlatform();
    ({ p, registry } = d);
  });
  after(async () => {
    await d?.close();
  });

  test('a train session runs a real trainer, reports epochs and registers a candidate', async () => {
    const created = await api(p, 'POST', '/api/v1/sessions', {
      model: 'digits-mlp',
      dataset: 'digits',
      trainer: 'mlp',
      params: { hidden: [128], epochs: 12, learningRate: 0.003, seed: 1 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const done = await waitFor(
      async () => {
        const s = await api(p, 'GET', `/api/v1/sessions/${id}`);
        return ['succeeded', 'failed', 'stopped'].includes(s.body.state) ? s.body : undefined;
      },
      { timeoutMs: 60_000, what: 'session end' },
    );
    assert.equal(done.state, 'succeeded', JSON.stringify(done.lastLogs));
    assert.equal(done.exitCode, 0);
    const epochs = done.events.filter((e: { kind: string }) => e.kind === 'epoch');
    assert.equal(epochs.length, 12);
    assert.ok(done.events.some((e: { kind: string }) => e.kind === 'session.started'));
    const gens = await registry.listGenerations('digits-mlp');
    assert.equal(gens.length, 1);
    assert.deepEqual(gens[0]!.lineage, { dataset: 'digits', version: 1 });
    assert.ok(gens[0]!.metrics.valAccuracy! >= 0.95, `valAccuracy ${gens[0]!.metrics.valAccuracy}`);
    // The event listener accepts the first candidate (no production yet): generation 1.
    const prod = await waitFor(() => registry.getProduction('digits-mlp'), {
      timeoutMs: 15_000,
      what: 'promotion',
    });
    assert.equal(prod.gen, 1);
    // The platform's own figures, recorded on the generation, agree with what the trainer said.
    const measured = prod.evaluation!;
    assert.equal(measured.task, 'classification');
    assert.ok(
      Math.abs(measured.metrics.accuracy! - gens[0]!.metrics.valAccuracy!) < 0.005,
      `measured ${measured.metrics.accuracy} vs reported ${gens[0]!.metrics.valAccuracy}`,
    );
    assert.equal(measured.baseline?.kind, 'majority-class');
    assert.equal(measured.perClass?.length, 10);
    assert.ok(measured.latencyMs!.b1 > 0 && measured.latencyMs!.bestBatch >= 1);
  });

  test('a candidate with deliberately poor params is rejected with its reason; production stays 1', async () => {
    const created = await api(p, 'POST', '/api/v1/sessions', {
      model: 'digits-mlp',
      dataset: 'digits',
      trainer: 'softmax',
      params: { epochs: 1, learningRate: 1e-6, seed: 3 },
    });
    assert.equal(created.status, 201);
    const rejected = await waitFor(
      async () => {
        const gens = await registry.listGenerations('digits-mlp');
        return gens.find((g) => g.gen === 2 && g.status === 'rejected');
      },
      { timeoutMs: 60_000, what: 'rejection' },
    );
    // Judged on what the platform measured, against production on the same held-out rows.
    assert.match(
      rejected.reason ?? '',
      /^measured accuracy 0\.\d+ on digits@1 \(\d+ held-out rows\) does not beat production gen 1/,
    );
    assert.equal(rejected.evaluation?.rows?.dataset, 'digits');
    assert.equal((await registry.getProduction('digits-mlp'))!.gen, 1);
    const s = await api(p, 'GET', `/api/v1/sessions/${created.body.id}`);
    const decision = s.body.events.find((e: { kind: string }) => e.kind === 'decision');
    assert.equal(decision.payload.action, 'reject');
  });

  test('bad requests are refused with 400/404 and nothing is queued', async () => {
    const before = (await api(p, 'GET', '/api/v1/sessions')).body.total as number;
    const unknownDs = await api(p, 'POST', '/api/v1/sessions', { model: 'm', dataset: 'nope' });
    assert.equal(unknownDs.status, 404);
    assert.match(unknownDs.body.message, /dataset nope/);
    const unknownVersion = await api(p, 'POST', '/api/v1/sessions', {
      model: 'm',
      dataset: 'digits@9',
    });
    assert.equal(unknownVersion.status, 404);
    const badTrainer = await api(p, 'POST', '/api/v1/sessions', {
      model: 'm',
      dataset: 'digits',
      trainer: 'xgboost',
    });
    assert.equal(badTrainer.status, 400);
    assert.equal(badTrainer.body.issues[0].path, 'trainer');
    const badParams = await api(p, 'POST', '/api/v1/sessions', {
      model: 'm',
      dataset: 'digits',
      params: { epochs: 0, learningRate: -1 },
    });
    assert.equal(badParams.status, 400);
    assert.match(JSON.stringify(badParams.body), /epochs/);
    const after = (await api(p, 'GET', '/api/v1/sessions')).body.total as number;
    assert.equal(after, before);
  });

  test('stop via the API ends the worker and marks the session stopped', async () => {
    const id = await startLongTraining(p, 'digits-slow');
    await waitFor(
      async () =>
        (await api(p, 'GET', `/api/v1/sessions/${id}`)).body.events.some(
          (e: { kind: string }) => e.kind === 'epoch',
        ),
      {
        timeoutMs: 30_000,
        what: 'first epoch',
      },
    );
    const t0 = Date.now();
    const stopped = await api(p, 'POST', `/api/v1/sessions/${id}/stop`);
    assert.equal(stopped.status, 200);
    const s = await waitFor(
      async () => {
        const b = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
        return b.state === 'stopped' ? b : undefined;
      },
      { timeoutMs: 15_000, what: 'stopped' },
    );
    // A figure, not a gate: the stop's grace period plus the exit, on a shared machine.
    console.log(`# stop to stopped: ${Date.now() - t0} ms`);
    assert.equal(s.state, 'stopped');
    assert.equal((await registry.listGenerations('digits-slow').catch(() => [])).length, 0);
  });
});
