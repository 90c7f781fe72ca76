import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { api, type TestPlatform } from '../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../helpers/digits-platform.js';
import { waitFor } from '../helpers/wait.js';

// Debian's interpreter, where python3-numpy and python3-onnx are installed (scripts/setup.sh
// --test). Not skipped when missing: CI must say that the SDK went untested.
const PYTHON = '/usr/bin/python3';

interface Ev {
  kind: string;
  seq?: number;
  payload: Record<string, unknown>;
}

async function finished(p: TestPlatform, id: string, timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const b = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
      return ['succeeded', 'failed', 'stopped'].includes(b.state) ? b : undefined;
    },
    { timeoutMs, what: `session ${id} to end` },
  );
}

describe('the Python worker SDK (sdk/python)', () => {
  test('its own unit tests pass: python3 -m unittest discover sdk/python/tests', () => {
    const r = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.'], {
      cwd: resolve('sdk/python'),
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.error, undefined, `${PYTHON}: ${String(r.error)}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Ran (\d+) tests/);
    assert.match(r.stderr, /\nOK\s*$/);
  });

  describe('as a session worker on a real platform (digits)', () => {
    let platform: DigitsPlatform;
    let p: TestPlatform;
    before(async () => {
      const env = { ALLOWED_COMMANDS: PYTHON };
      platform = await startDigitsPlatform({ handlerEnv: env, gatewayEnv: env });
      p = platform.p;
      // A rule on the custom metric for one model: macroF1 (higher is better, a built-in
      // figure's name) plateaus at once with a minimum gain of 1.
      const rules = await api(p, 'PUT', '/api/v1/rules', {
        metrics: { epochTimeS: { higherIsBetter: false } },
        perModel: {
          'lin-stop': {
            stop: {
              lossMetric: 'macroF1',
              plateauEpochs: 2,
              plateauMinDelta: 1,
              lossRiseEpochs: null,
            },
          },
        },
      });
      assert.equal(rules.status, 200, JSON.stringify(rules.body));
    });
    after(async () => {
      await platform?.close();
    });

    test('streams rows as numpy arrays and resends an event whose answer was lost, archived once', async () => {
      const created = await api(p, 'POST', '/api/v1/sessions', {
        model: 'sdk-live',
        dataset: 'digits',
        trainer: 'external',
        container: { command: [PYTHON, resolve('sdk/python/tests/live_gateway.py')] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const done = await finished(p, created.body.id as string);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.lastLogs ?? done.events));
      const events = done.events as Ev[];
      const log = events.find((e) => e.kind === 'log');
      assert.ok(log, 'the summary log line');
      const s = JSON.parse(String((log.payload.lines as string[])[0]).slice('live '.length));
      const meta = (await api(p, 'GET', '/api/v1/datasets/digits/versions/1')).body;
      assert.equal(s.count, meta.count);
      assert.deepEqual(s.train, [meta.split.trainCount, 64]);
      assert.deepEqual(s.validation, [meta.split.validationCount, 64]);
      assert.equal(s.trainDtype, 'float32');
      assert.deepEqual(s.labels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // 500-row calls over the whole version: each train row once.
      assert.equal(
        s.batches.reduce((a: number, b: number) => a + b, 0),
        meta.split.trainCount,
      );
      assert.ok(s.batches.length >= Math.floor(meta.count / 500));
      // The first epoch's answer was dropped after the gateway archived it: resent once,
      // answered as a duplicate, archived once.
      assert.equal(s.dropped, 1);
      assert.equal(s.duplicates, 1);
      const epochs = events.filter((e) => e.kind === 'epoch');
      assert.deepEqual(
        epochs.map((e) => [e.payload.epoch, e.payload.macroF1]),
        [
          [1, 0.65],
          [2, 0.75],
        ],
      );
      assert.deepEqual(
        events.filter((e) => e.kind === 'worker.exiting').map((e) => e.payload),
        [{ exitCode: 0 }],
      );
    });

    test('the numpy linear example: macroF1 in the archive, the API and the accepted generation', async () => {
      const created = await api(p, 'POST', '/api/v1/sessions', {
        model: 'lin',
        dataset: 'digits',
        trainer: 'external',
        params: { epochs: 20 },
        container: { command: [PYTHON, resolve('examples/linear/train.py')] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as string;
      const done = await finished(p, id);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.lastLogs));
      const epochs = (done.events as Ev[]).filter((e) => e.kind === 'epoch');
      assert.equal(epochs.length, 20);
      const last = epochs[19]!.payload;
      assert.ok((last.macroF1 as number) > 0.85, JSON.stringify(last));
      assert.equal(typeof last.epochTimeS, 'number');
      // The archive itself (the events API), not only the session view.
      const archived = (await api(p, 'GET', `/api/v1/events?sessionId=${id}&count=100`)).body;
      const list = (Array.isArray(archived) ? archived : archived.events) as Ev[];
      assert.ok(
        list.some((e) => e.kind === 'epoch' && e.payload.macroF1 === last.macroF1),
        JSON.stringify(archived).slice(0, 500),
      );
      const gen = await waitFor(
        async () => {
          const [g] = await platform.registry.listGenerations('lin');
          return g && g.status !== 'candidate' ? g : undefined;
        },
        { timeoutMs: 60_000, what: 'the candidate decided' },
      );
      assert.equal(gen.status, 'production', gen.reason);
      assert.equal(gen.metrics.macroF1, last.macroF1);
      const shown = (await api(p, 'GET', `/api/v1/models/lin/generations/${gen.gen}`)).body;
      assert.equal(shown.metrics.macroF1, last.macroF1);
      // What the platform measured agrees with what the numpy trainer reported.
      assert.ok(Math.abs(gen.evaluation!.metrics.macroF1! - (last.macroF1 as number)) < 0.02);
    });

    test('a stop rule on macroF1 stops the session: SIGTERM, the worker ends after its epoch', async () => {
      const created = await api(p, 'POST', '/api/v1/sessions', {
        model: 'lin-stop',
        dataset: 'digits',
        trainer: 'external',
        params: { epochs: 5000 },
        container: { command: [PYTHON, resolve('examples/linear/train.py')] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const done = await finished(p, created.body.id as string);
      assert.equal(done.state, 'stopped', JSON.stringify(done.lastLogs));
      const events = done.events as Ev[];
      const decision = events.find((e) => e.kind === 'decision');
      assert.equal(decision?.payload.rule, 'stop.plateauEpochs');
      assert.match(
        String(decision?.payload.reason),
        /^macroF1 plateaued: best [0-9.]+ in the last 2 epochs/,
      );
      const epochs = events.filter((e) => e.kind === 'epoch');
      assert.ok(epochs.length < 5000 && epochs.length >= 3, `${epochs.length} epochs`);
      // The SDK's stop flag: the example logged it and exited 0 on its own, uploading nothing.
      const lines = events
        .filter((e) => e.kind === 'log')
        .flatMap((e) => e.payload.lines as string[]);
      assert.ok(
        lines.some((l) => l.startsWith('stop requested: stopped after epoch')),
        lines.join('\n'),
      );
      await assert.rejects(platform.registry.listGenerations('lin-stop'), /not found/);
    });

    test('save_checkpoint / load_checkpoint: a worker killed with SIGKILL is resumed from its checkpoint', async () => {
      const epochs = 14;
      const created = await api(p, 'POST', '/api/v1/sessions', {
        model: 'sdk-resume',
        dataset: 'digits',
        trainer: 'external',
        params: { epochs },
        container: { command: [PYTHON, resolve('sdk/python/tests/resumable_worker.py')] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as string;
      const ckKey = platform.keys.sessionCheckpoint(id);
      const redis = platform.r.client();
      const running = await waitFor(
        async () => {
          const b = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
          const n = (b.events as Ev[]).filter((e) => e.kind === 'epoch').length;
          return n >= 3 && (await redis.exists(ckKey)) ? b : undefined;
        },
        { timeoutMs: 30_000, what: 'three epochs and a checkpoint' },
      );
      process.kill(Number(running.workerId), 'SIGKILL');
      const done = await finished(p, id);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.lastLogs ?? done.events));
      const events = done.events as Ev[];
      const at = events.map((e) => e.kind).lastIndexOf('session.requeued');
      assert.ok(at > 0, 're-queued once its worker was lost');
      const after = events.slice(at + 1);
      const lines = after
        .filter((e) => e.kind === 'log')
        .flatMap((e) => e.payload.lines as string[]);
      const resumedAt = Number(/^resumed at epoch (\d+)$/.exec(lines[0] ?? '')?.[1]);
      assert.ok(resumedAt > 1, lines.join('\n'));
      assert.deepEqual(
        after.filter((e) => e.kind === 'epoch').map((e) => e.payload.epoch),
        Array.from({ length: epochs - resumedAt + 1 }, (_, i) => resumedAt + i),
      );
      // Each epoch counted once across the two workers.
      assert.ok(lines.includes(`weights ${epochs}`), lines.join('\n'));
      assert.equal(await redis.exists(ckKey), 0, 'an ended session keeps no checkpoint');
    });

    test('workers lost before saying hello are re-queued without spending MAX_RESUMES', async () => {
      // MAX_RESUMES is 3: one resume of a worker that ran, then four relaunches that never
      // said hello (what a node refusing the relaunch looks like), then one that finishes.
      const created = await api(p, 'POST', '/api/v1/sessions', {
        model: 'sdk-false-starts',
        dataset: 'digits',
        trainer: 'external',
        params: { false_starts: 4 },
        container: { command: [PYTHON, resolve('sdk/python/tests/false_start_worker.py')] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const done = await finished(p, created.body.id as string);
      const events = done.events as Ev[];
      assert.equal(done.state, 'succeeded', JSON.stringify(events.slice(-6)));
      const requeued = events.filter((e) => e.kind === 'session.requeued');
      assert.deepEqual(
        requeued.map((e) => [e.payload.attempt, e.payload.ran]),
        [
          [1, true],
          [2, false],
          [3, false],
          [4, false],
          [5, false],
        ],
      );
      const lines = events.filter((e) => e.kind === 'log').flatMap((e) => e.payload.lines);
      assert.ok(lines.includes('resumed after 4 false starts'), lines.join('\n'));
    });
  });
});
