import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { putRules } from '../../../shared/store/rules-store.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { freePort } from '../../../shared/runtime/net.js';
import { startFakeHandler } from './fake-handler.js';
import { Queue } from 'bullmq';
import { QUEUES, evaluationJobId, readRollout } from '../../../shared/index.js';
import { evaluatedPayload, reached, setup, TOKEN } from './harness.js';

describe('event-listener end to end', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test('events in the archive come out as decisions with reasons', async (t) => {
    const { events, handler, start, registry, keys, bullRedis, client } = await setup(t, redis);
    await registry.addGeneration('digits', {
      type: 'classifier',
      weights: Buffer.from('w1'),
      metrics: { valAccuracy: 0.9 },
    });
    await registry.promote('digits', 1);
    const queue = new Queue(QUEUES.evaluations, {
      connection: bullRedis,
      prefix: keys.bullPrefix(),
    });
    t.after(() => queue.close());
    const app = await start();

    const req = { model: 'digits', timeBudgetS: 3600 };
    await events.append({ kind: 'session.queued', sessionId: 'a', payload: { request: req } });
    await events.append({ kind: 'session.started', sessionId: 'a', payload: {} });
    await events.append({
      kind: 'epoch',
      sessionId: 'a',
      payload: { epoch: 1, epochs: 5, loss: 0.7 },
    });
    const nanId = await events.append({
      kind: 'epoch',
      sessionId: 'a',
      payload: JSON.parse(JSON.stringify({ epoch: 2, epochs: 5, loss: NaN })) as unknown,
    });
    // What a candidate reports decides nothing: it is queued for the platform's evaluation.
    const candidateId = await events.append({
      kind: 'generation.candidate',
      sessionId: 'b',
      payload: { model: 'digits', gen: 2, metrics: { valAccuracy: 0.99 } },
    });
    const worseId = await events.append({
      kind: 'generation.evaluated',
      sessionId: 'b',
      payload: evaluatedPayload({ gen: 2, accuracy: 0.41, against: { gen: 1, accuracy: 0.9 } }),
    });
    const betterId = await events.append({
      kind: 'generation.evaluated',
      sessionId: 'c',
      payload: evaluatedPayload({ gen: 3, accuracy: 0.97, against: { gen: 1, accuracy: 0.9 } }),
    });
    // Evaluated while there was no production: its comparison no longer holds.
    const staleId = await events.append({
      kind: 'generation.evaluated',
      payload: evaluatedPayload({ gen: 4, accuracy: 0.97, against: null }),
    });
    const exitId = await events.append({
      kind: 'session.finished',
      sessionId: 'd',
      payload: { state: 'failed', exitCode: 137, signal: 'SIGKILL' },
    });

    await waitFor(() => handler.received.length >= 3, { what: 'three decisions' });
    const byCause = new Map(handler.received.map((r) => [r.causeId, r]));
    assert.equal(byCause.get(nanId)?.decision.action, 'stop');
    assert.equal(byCause.get(nanId)?.sessionId, 'a');
    assert.match(byCause.get(nanId)!.decision.reason, /NaN/);
    assert.equal(byCause.has(candidateId), false);
    const reject = byCause.get(worseId)!.decision;
    assert.deepEqual([reject.action, reject.model, reject.gen], ['reject', 'digits', 2]);
    assert.match(
      reject.reason,
      /measured accuracy 0\.41 .* does not beat production gen 1 \(0\.9 on the same rows\)/,
    );
    // Better than production: it becomes the challenger of a staged rollout, not production.
    assert.equal(byCause.has(betterId), false);
    const rollout = await readRollout(client, keys, 'digits');
    assert.deepEqual([rollout?.challenger, rollout?.production, rollout?.phase], [3, 1, 'shadow']);
    assert.equal(byCause.has(staleId), false);
    assert.equal(byCause.get(exitId)?.decision.action, 'flag');
    assert.match(byCause.get(exitId)!.decision.reason, /137/);
    await waitFor(() => reached(app, exitId), { what: 'caught up' });
    assert.equal(handler.received.length, 3, 'nothing else decided');
    // Both waiting candidates are queued for evaluation against production gen 1.
    const queued = await queue.getJobs(['waiting', 'prioritized', 'delayed']);
    assert.deepEqual(queued.map((j) => j.id).sort(), [
      evaluationJobId({ model: 'digits', gen: 2, against: 1 }),
      evaluationJobId({ model: 'digits', gen: 4, against: 1 }),
    ]);
    assert.deepEqual(queued.find((j) => j.data.gen === 2)?.data, {
      model: 'digits',
      gen: 2,
      against: 1,
      sessionId: 'b',
    });
  });

  test('a restart resumes from the stored cursor without deciding anything twice', async (t) => {
    const { events, handler, start, sessions } = await setup(t, redis);
    // A live session, its budget long enough not to matter.
    await sessions.create({ id: 'r1', kind: 'train', request: { model: 'm', timeBudgetS: 3600 } });
    const first = await start();
    await events.append({
      kind: 'session.queued',
      sessionId: 'r1',
      payload: { request: { model: 'm', timeBudgetS: 3600 } },
    });
    for (const [i, loss] of [0.5, 0.6, 0.7].entries()) {
      await events.append({
        kind: 'epoch',
        sessionId: 'r1',
        payload: { epoch: i + 1, epochs: 9, loss },
      });
    }
    const lastBefore = await events.append({
      kind: 'log',
      sessionId: 'r1',
      payload: { lines: ['x'] },
    });
    await waitFor(() => reached(first, lastBefore), {
      what: 'first listener caught up',
    });
    assert.equal(handler.received.length, 0, 'two rises are not yet three');
    await first.close();

    // While it is down: one more rise (the third) and a crashed worker.
    const riseId = await events.append({
      kind: 'epoch',
      sessionId: 'r1',
      payload: { epoch: 4, epochs: 9, loss: 0.8 },
    });
    const crashId = await events.append({
      kind: 'session.finished',
      sessionId: 'x',
      payload: { state: 'failed', exitCode: 1 },
    });
    const second = await start();
    await waitFor(() => reached(second, crashId), {
      what: 'second listener caught up',
    });
    assert.deepEqual(
      handler.received.map((r) => [r.causeId, r.decision.action]),
      [
        [riseId, 'stop'],
        [crashId, 'flag'],
      ],
      'the rise is seen against the replayed epochs, and the crash once',
    );
  });

  test('a rules change applies within a second, without restart', async (t) => {
    const { events, handler, start } = await setup(t, redis);
    const app = await start();
    const queued = { request: { model: 'p', timeBudgetS: 3600 } };
    await events.append({ kind: 'session.queued', sessionId: 's', payload: queued });
    await events.append({
      kind: 'epoch',
      sessionId: 's',
      payload: { epoch: 1, epochs: 9, loss: 0.5 },
    });
    const beforeId = await events.append({
      kind: 'epoch',
      sessionId: 's',
      payload: { epoch: 2, epochs: 9, loss: 0.6 },
    });
    await waitFor(() => reached(app, beforeId), { what: 'caught up' });
    assert.equal(handler.received.length, 0);

    await putRules(app.live, { perModel: { p: { stop: { lossRiseEpochs: 1 } } } });
    await waitFor(() => app.listener.rulesVersion === 1, { timeoutMs: 1000, what: 'rules v1' });
    const riseId = await events.append({
      kind: 'epoch',
      sessionId: 's',
      payload: { epoch: 3, epochs: 9, loss: 0.7 },
    });
    const d = await waitFor(() => handler.received[0], {
      what: 'a stop',
    });
    assert.equal(d.causeId, riseId);
    assert.equal(d.decision.rule, 'stop.lossRiseEpochs');
  });

  test('a session past its time budget is stopped by the clock, once', async (t) => {
    const { events, handler, start } = await setup(t, redis);
    const app = await start();
    await events.append({
      kind: 'session.queued',
      sessionId: 'slow',
      payload: { request: { model: 'q', timeBudgetS: 1 } },
    });
    await events.append({ kind: 'session.started', sessionId: 'slow', payload: {} });
    const d = await waitFor(() => handler.received[0], {
      timeoutMs: 5000,
      what: 'a budget stop',
    });
    assert.equal(d.decision.rule, 'stop.timeBudget');
    assert.equal(d.sessionId, 'slow');
    // More epochs and clock ticks after the stop decide nothing more.
    const lateId = await events.append({
      kind: 'epoch',
      sessionId: 'slow',
      payload: { epoch: 1, epochs: 2, loss: NaN },
    });
    await waitFor(() => reached(app, lateId), { what: 'late epoch handled' });
    assert.equal(handler.received.length, 1);
  });

  test('a decision waits for an absent handler and is delivered once it is up', async (t) => {
    const port = await freePort();
    const { events, start } = await setup(t, redis, { handlerUrl: `http://127.0.0.1:${port}` });
    const app = await start();
    const crashId = await events.append({
      kind: 'session.finished',
      sessionId: 'w',
      payload: { state: 'failed', exitCode: 2 },
    });
    const nextId = await events.append({ kind: 'log', sessionId: 'w', payload: { lines: [] } });
    await new Promise((r) => setTimeout(r, 300)); // let a few connection attempts fail
    assert.equal(reached(app, crashId), false, 'the cursor stays before an undelivered decision');
    const handler = await startFakeHandler({ token: TOKEN, events, port });
    t.after(() => handler.close());
    await waitFor(() => reached(app, nextId), { what: 'delivery after the handler came up' });
    assert.deepEqual(
      handler.received.map((r) => [r.causeId, r.decision.action]),
      [[crashId, 'flag']],
    );
  });
});
