import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { putRules } from '../../../shared/store/rules-store.js';
import { enqueueSession, parseSessionRequest } from '../../../shared/index.js';
import { BadInput } from '../../../shared/errors.js';
import { QUEUES } from '../../../shared/runtime/queues.js';
import { SessionJob } from '../../../shared/protocol/sessions.js';
import { DatasetStore } from '../../../shared/store/dataset-store.js';
import type { Keys } from '../../../shared/store/keys.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { reached, setup } from './harness.js';

describe('retraining triggers', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => {
    await redis.stop();
  });

  function sessionsQueue(keys: Keys) {
    const q = new Queue(QUEUES.sessions, {
      connection: redis.client({ forWorker: true }),
      prefix: keys.bullPrefix(),
    });
    return q;
  }

  const samplesRule = {
    model: 'digits',
    dataset: 'digits',
    newSamples: 100,
    params: { epochs: 3 },
  };
  const version = (version: number, count: number) => ({
    kind: 'dataset.version',
    payload: { name: 'digits', version, count, added: 0 },
  });

  test('N new labelled samples queue exactly one session, with its trigger', async (t) => {
    const { events, start, sessions, keys } = await setup(t, redis);
    const app = await start();
    await putRules(app.live, { retrain: [samplesRule] });
    await waitFor(() => app.listener.rulesVersion === 1, { what: 'rules v1' });
    const queue = sessionsQueue(keys);
    t.after(() => queue.close());

    // v1 is the first the rule sees: the count starts there. +60, then +110 in all.
    await events.append(version(1, 500));
    await events.append(version(2, 560));
    await events.append(version(3, 610));
    await events.append(version(3, 610)); // the same version announced twice
    const last = await events.append(version(4, 650)); // +40 since v3
    await waitFor(() => reached(app, last), { what: 'versions handled' });

    const { items } = await sessions.list();
    assert.equal(items.length, 1, 'exactly one session');
    const s = items[0]!;
    assert.equal(s.state, 'queued');
    assert.equal(s.trigger, 'samples: 110 new in digits@3 (rule 100)');
    const request = s.request as {
      model: string;
      dataset: string;
      trigger: string;
      params: unknown;
    };
    assert.equal(request.model, 'digits');
    assert.equal(request.dataset, 'digits@3');
    assert.deepEqual(request.params, { epochs: 3 });

    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed']);
    assert.equal(jobs.length, 1);
    const job = SessionJob.parse(jobs[0]!.data);
    assert.equal(job.sessionId, s.id);
    assert.equal(job.request.trigger, s.trigger);

    const archived = await events.range({ sessionId: s.id });
    assert.deepEqual(
      archived.map((e) => e.kind),
      ['session.queued', 'retrain.triggered'],
    );
    assert.equal((archived[1]!.payload as { trigger: string }).trigger, s.trigger);
  });

  test('the count starts at the dataset version production was trained on', async (t) => {
    const { client, events, start, sessions, keys, registry } = await setup(t, redis);
    const datasets = new DatasetStore(client, keys);
    const w = datasets.beginVersion('digits');
    await w.writeShard({
      kind: 'tabular',
      rows: 4,
      dim: 2,
      features: new Float32Array(8),
      labels: new Float32Array([0, 1, 0, 1]),
    });
    await w.commit({ kind: 'tabular', format: 'csv', features: 2, labelKind: 'class' });
    await registry.addGeneration('digits', {
      type: 'classifier',
      weights: Buffer.from('w'),
      lineage: { dataset: 'digits', version: 1 },
    });
    await registry.promote('digits', 1);
    const app = await start();
    await putRules(app.live, { retrain: [samplesRule] });
    await waitFor(() => app.listener.rulesVersion === 1, { what: 'rules v1' });

    const last = await events.append(version(2, 104));
    await waitFor(() => reached(app, last), { what: 'version handled' });
    const { items } = await sessions.list();
    assert.equal(items.length, 1, 'v2 holds 100 samples more than production saw');
    assert.equal(items[0]!.trigger, 'samples: 100 new in digits@2 (rule 100)');
  });

  test('a cron rule queues sessions on its schedule; removing it stops them', async (t) => {
    const { start, sessions, keys, bullRedis } = await setup(t, redis);
    const app = await start();
    const cron = '*/1 * * * * *';
    await putRules(app.live, { retrain: [{ model: 'nightly', dataset: 'digits', cron }] });
    const first = await waitFor(
      async () => (await sessions.list()).items.find((s) => s.trigger === `cron: ${cron}`),
      { timeoutMs: 5000, what: 'a cron session' },
    );
    assert.equal((first.request as { dataset: string }).dataset, 'digits');

    await putRules(app.live, { retrain: [] });
    const retrainQueue = new Queue(QUEUES.retrain, {
      connection: bullRedis,
      prefix: keys.bullPrefix(),
    });
    t.after(() => retrainQueue.close());
    await waitFor(async () => (await retrainQueue.getJobSchedulersCount()) === 0, {
      what: 'scheduler removed',
    });
  });

  test('a malformed request is refused with its path where it enters; repeats are no-ops', async (t) => {
    const { events, keys, sessions } = await setup(t, redis);
    const queue = sessionsQueue(keys);
    t.after(() => queue.close());
    const deps = { sessions, events, queue };
    assert.throws(
      () => parseSessionRequest({ model: 'bad name!', dataset: 'digits' }),
      (err: unknown) => err instanceof BadInput && /model/.test(err.message),
    );
    const command = parseSessionRequest({ model: 'm', dataset: 'd', trigger: 'api' });
    const a = await enqueueSession(deps, command, { id: 'fixed-1' });
    const b = await enqueueSession(deps, command, { id: 'fixed-1' });
    assert.deepEqual([a.created, b.created], [true, false]);
    assert.equal((await sessions.list()).total, 1);
    const counts = await queue.getJobCounts('waiting', 'prioritized');
    assert.equal((counts.waiting ?? 0) + (counts.prioritized ?? 0), 1);
    assert.equal((await events.range({ sessionId: 'fixed-1' })).length, 1);
  });
});
