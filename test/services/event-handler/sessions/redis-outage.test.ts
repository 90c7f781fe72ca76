import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLog, type ModelRegistry, type StoredEvent } from '../../../../shared/index.js';
import { api, type TestPlatform } from '../../../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../../helpers/digits-platform.js';
import { waitFor } from '../../../helpers/wait.js';

/** The kinds a worker posts itself (numbered with seq); the rest come from services. */
const WORKER_KINDS = new Set([
  'session.started',
  'epoch',
  'log',
  'generation.candidate',
  'worker.exiting',
]);

const OUTAGE_MS = 20_000;
const EPOCHS = 80;

describe('a Redis outage in the middle of a training', () => {
  let d: DigitsPlatform;
  let p: TestPlatform;
  let registry: ModelRegistry;
  before(async () => {
    // The handler's client gives up on a request after 3 reconnects (about a second) rather
    // than ioredis' 20 (about 70 s): a 20 s outage then fails archive writes, as a longer one
    // does with the defaults.
    d = await startDigitsPlatform({ handlerRedis: { maxRetriesPerRequest: 3 } });
    ({ p, registry } = d);
  });
  after(async () => {
    await d?.close();
  });

  test('Redis stopped for 20 s mid-training: the session succeeds, every worker event archived once, in seq order', async () => {
    // Only the outage may end this training: no loss rule stops it early.
    const rules = await api(p, 'PUT', '/api/v1/rules', {
      perModel: { outage: { stop: { plateauEpochs: null, lossRiseEpochs: null } } },
    });
    assert.equal(rules.status, 200, JSON.stringify(rules.body));
    const created = await api(p, 'POST', '/api/v1/sessions', {
      model: 'outage',
      dataset: 'digits',
      params: { hidden: [256, 128], epochs: EPOCHS, batchSize: 8, seed: 1 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const archive = new EventLog(d.r.client(), d.keys);
    await waitFor(
      async () =>
        (await archive.range({ sessionId: id, count: 1000 })).filter((e) => e.kind === 'epoch')
          .length >= 2,
      { timeoutMs: 60_000, what: 'two epochs archived' },
    );

    // The fault: Redis goes away (a clean stop: the AOF is complete) and comes back on the
    // same port and data dir after the outage. The sleep is the outage's length.
    await d.r.server.stop();
    await sleep(OUTAGE_MS);
    await d.r.server.start();

    const done = await waitFor(
      async () => {
        const b = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
        const finished = (b.events ?? []).some(
          (e: { kind: string }) => e.kind === 'session.finished',
        );
        return ['succeeded', 'failed', 'stopped'].includes(b.state) && finished ? b : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 200, what: 'session end after the outage' },
    );
    assert.equal(
      done.state,
      'succeeded',
      JSON.stringify({ reason: done.reason, logs: done.lastLogs }),
    );
    assert.equal(done.exitCode, 0);

    const events: StoredEvent[] = await archive.range({ sessionId: id, count: 10_000 });
    const fromWorker = events.filter((e) => WORKER_KINDS.has(e.kind));
    // The worker's events in the order it sent them (its seq order): hello, the dataset line,
    // one epoch after another, its candidate, then its exit.
    assert.deepEqual(
      fromWorker.map((e) =>
        e.kind === 'epoch' ? `epoch ${(e.payload as { epoch: number }).epoch}` : e.kind,
      ),
      [
        'session.started',
        'log',
        ...Array.from({ length: EPOCHS }, (_, i) => `epoch ${i + 1}`),
        'generation.candidate',
        'worker.exiting',
      ],
      'every worker event exactly once, in seq order',
    );
    const exiting = fromWorker.at(-1)!.payload as { exitCode: number };
    assert.equal(exiting.exitCode, 0);
    // Nothing contradicts the success: no flag on the worker, and its one generation is
    // decided on its metrics, once.
    assert.ok(!events.some((e) => e.kind === 'worker.flagged'), 'no worker flagged');
    assert.deepEqual(done.flags ?? [], []);
    const gens = await waitFor(
      async () => {
        const g = await registry.listGenerations('outage');
        return g.length === 1 && g[0]!.status !== 'candidate' ? g : undefined;
      },
      { timeoutMs: 30_000, what: 'the candidate decided' },
    );
    assert.equal(gens[0]!.sessionId, id);
    // The decision's event may be archived after the generation's status changed.
    const decided = await waitFor(
      async () => {
        const all = await archive.range({ sessionId: id, count: 10_000 });
        const ds = all.filter((e) => e.kind === 'decision');
        return ds.length > 0 ? ds : undefined;
      },
      { timeoutMs: 30_000, what: 'the decision archived' },
    );
    assert.equal(decided.length, 1);
  });
});
