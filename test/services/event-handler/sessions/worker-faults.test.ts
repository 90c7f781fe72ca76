import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, type Keys } from '../../../../shared/index.js';
import { api, startLongTraining, type TestPlatform } from '../../../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../../helpers/digits-platform.js';
import { waitFor } from '../../../helpers/wait.js';

// Ended once the record is terminal and the archive holds its session.finished (written just after).
const ended = (s: { state: string; events?: { kind: string }[] }) =>
  ['succeeded', 'failed', 'stopped'].includes(s.state) &&
  (s.events ?? []).some((e) => e.kind === 'session.finished');

describe('worker faults', () => {
  let d: DigitsPlatform;
  let p: TestPlatform;
  let keys: Keys;
  before(async () => {
    // No checkpoint is taken while these run: a killed trainer fails, it is not resumed
    // (checkpoint-resume.test.ts covers resuming).
    d = await startDigitsPlatform({ handlerEnv: { CHECKPOINT_EVERY_S: '86400' } });
    ({ p, keys } = d);
    const datasets = d.datasets;
    // Real-valued labels: a classifier cannot train on them, so the trainer throws.
    const w = datasets.beginVersion('regression');
    await w.writeShard({
      kind: 'tabular',
      rows: 4,
      dim: 2,
      features: new Float32Array(8),
      labels: Float32Array.of(0.5, 1.5, 2.5, 3.5),
    });
    await w.commit({ kind: 'tabular', format: 'csv', features: 2, labelKind: 'regression' });
  });
  after(async () => {
    await d?.close();
  });

  async function startLong(model: string): Promise<string> {
    const id = await startLongTraining(p, model);
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
    return id;
  }

  test('a trainer killed with SIGKILL, with no checkpoint: failed, exit code 137 archived, no candidate', async () => {
    const id = await startLong('killed');
    const s = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
    process.kill(Number(s.workerId), 'SIGKILL');
    const done = await waitFor(
      async () => {
        const b = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
        return ended(b) ? b : undefined;
      },
      { what: 'failed' },
    );
    assert.equal(done.state, 'failed');
    assert.equal(done.exitCode, 137);
    const fin = done.events.find((e: { kind: string }) => e.kind === 'session.finished');
    assert.equal(fin.payload.exitCode, 137);
    // The event listener flags a worker that exited non-zero; the flag is on the session.
    const flagged = await waitFor(
      async () => {
        const b = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
        // The flag lands on the record just before its event reaches the archive.
        const archived = b.events.some((e: { kind: string }) => e.kind === 'worker.flagged');
        return b.flags.length > 0 && archived ? b : undefined;
      },
      { what: 'flag' },
    );
    assert.ok(flagged.events.some((e: { kind: string }) => e.kind === 'worker.flagged'));
    const registry = d.registry;
    await waitFor(
      async () => {
        const gens = await registry.listGenerations('killed').catch(() => []);
        return gens.every((g) => g.status !== 'candidate');
      },
      { what: 'no candidate left undecided' },
    );
  });

  test('a trainer that throws: failed with its exit code and last log lines', async () => {
    const created = await api(p, 'POST', '/api/v1/sessions', {
      model: 'thrower',
      dataset: 'regression',
      params: { epochs: 1 },
    });
    const id = created.body.id as string;
    const done = await waitFor(
      async () => {
        const b = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
        return ended(b) ? b : undefined;
      },
      { timeoutMs: 30_000, what: 'failed' },
    );
    assert.equal(done.state, 'failed');
    assert.equal(done.exitCode, 1);
    assert.ok(
      done.lastLogs.some((l: string) => /class ids/.test(l)),
      JSON.stringify(done.lastLogs),
    );
  });

  test('the event handler crashes mid-session: reconciled, the session completes, no event lost or doubled', async () => {
    const created = await api(p, 'POST', '/api/v1/sessions', {
      model: 'survivor',
      dataset: 'digits',
      params: { hidden: [128], epochs: 30, batchSize: 16 },
    });
    const id = created.body.id as string;
    await waitFor(
      async () =>
        (await api(p, 'GET', `/api/v1/sessions/${id}`)).body.events.filter(
          (e: { kind: string }) => e.kind === 'epoch',
        ).length >= 2,
      {
        timeoutMs: 30_000,
        what: 'two epochs',
      },
    );
    await p.restartHandler({ crash: true });
    const done = await waitFor(
      async () => {
        const b = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
        return ended(b) ? b : undefined;
      },
      { timeoutMs: 90_000, what: 'session end after restart' },
    );
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    const events = await new EventLog(d.r.client(), keys).range({ sessionId: id, count: 10_000 });
    const epochs = events
      .filter((e) => e.kind === 'epoch')
      .map((e) => (e.payload as { epoch: number }).epoch);
    assert.deepEqual(
      epochs,
      Array.from({ length: 30 }, (_, i) => i + 1),
      'every epoch exactly once, in order',
    );
    assert.equal(events.filter((e) => e.kind === 'generation.candidate').length, 1);
  });
});
