/**
 * Checkpoint and resume in local mode (process backend, real trainer processes, real Redis):
 * a trainer killed with SIGKILL mid-training leaves its checkpoint, so its session goes back
 * to the queue and resumes from it, the epoch count continuing; a session running past
 * MOVE_AFTER_S is checkpointed, stopped and resumed with the low-priority constraint.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api } from '../../../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../../helpers/digits-platform.js';
import { waitFor } from '../../../helpers/wait.js';

interface Ev {
  kind: string;
  payload: any;
}
const session = async (d: DigitsPlatform, id: string) =>
  (await api(d.p, 'GET', `/api/v1/sessions/${id}`)).body as {
    state: string;
    workerId?: string;
    placement?: { constraints?: string[] };
    events: Ev[];
  };
const ended = (s: { state: string; events: Ev[] }) =>
  ['succeeded', 'failed', 'stopped'].includes(s.state) &&
  s.events.some((e) => e.kind === 'session.finished');
const epochsOf = (evs: Ev[]) =>
  evs.filter((e) => e.kind === 'epoch').map((e) => e.payload.epoch as number);

const EPOCHS = 14;
const PARAMS = { hidden: [96], epochs: EPOCHS, batchSize: 16 };

/** The events after the last `session.requeued` (the resumed worker's) and before it. */
function split(evs: Ev[]): { before: Ev[]; after: Ev[] } {
  const at = evs.map((e) => e.kind).lastIndexOf('session.requeued');
  return { before: evs.slice(0, at), after: evs.slice(at + 1) };
}

function assertResumed(s: { state: string; events: Ev[] }, model: string, epochs = EPOCHS): void {
  assert.equal(s.state, 'succeeded', JSON.stringify(s.events.slice(-5)));
  const { before, after } = split(s.events);
  const resumedFrom = after.find(
    (e) => e.kind === 'log' && /resuming from the checkpoint/.test(e.payload.lines[0]),
  );
  assert.ok(resumedFrom, 'the resumed worker says where it resumes');
  const first = epochsOf(after)[0]!;
  assert.ok(first > 1, `the resumed worker starts at epoch ${first}, not 1`);
  assert.ok(Math.max(...epochsOf(before)) >= first - 1, 'no epoch skipped');
  assert.deepEqual(
    epochsOf(after),
    Array.from({ length: epochs - first + 1 }, (_, i) => first + i),
    'the epoch count continues to the end',
  );
  const cand = after.find((e) => e.kind === 'generation.candidate');
  assert.equal(cand?.payload.model, model);
  assert.equal(cand?.payload.metrics.epochs, epochs);
}

describe('a trainer lost mid-training resumes from its checkpoint', () => {
  let d: DigitsPlatform;
  before(async () => {
    d = await startDigitsPlatform({
      handlerEnv: { CHECKPOINT_EVERY_S: '0', MOVE_AFTER_S: '0' },
      listener: false,
    });
  });
  after(async () => {
    await d?.close();
  });

  test('SIGKILL after a checkpoint: re-queued, resumed, finished with the epochs continuing', async () => {
    const created = await api(d.p, 'POST', '/api/v1/sessions', {
      model: 'resumed',
      dataset: 'digits',
      params: PARAMS,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const ckKey = d.keys.sessionCheckpoint(id);
    const redis = d.r.client();
    const running = await waitFor(
      async () => {
        const s = await session(d, id);
        return epochsOf(s.events).length >= 2 && (await redis.exists(ckKey)) ? s : undefined;
      },
      { timeoutMs: 60_000, what: 'two epochs and a checkpoint' },
    );
    process.kill(Number(running.workerId), 'SIGKILL');
    const done = await waitFor(
      async () => {
        const s = await session(d, id);
        return ended(s) ? s : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200, what: 'the resumed session to end' },
    );
    const requeued = done.events.filter((e) => e.kind === 'session.requeued');
    assert.equal(requeued.length, 1);
    assert.match(requeued[0]!.payload.reason, /worker lost: worker exited with code 137/);
    assert.equal(requeued[0]!.payload.attempt, 1);
    assert.ok(requeued[0]!.payload.checkpointBytes > 0);
    assertResumed(done, 'resumed');
    assert.equal(await redis.exists(ckKey), 0, 'an ended session keeps no checkpoint');
  });
});

describe('a session running past MOVE_AFTER_S moves to a low-priority node', () => {
  let d: DigitsPlatform;
  before(async () => {
    d = await startDigitsPlatform({
      handlerEnv: { CHECKPOINT_EVERY_S: '0', MOVE_AFTER_S: '1', MOVE_CHECK_MS: '100' },
      listener: false,
    });
  });
  after(async () => {
    await d?.close();
  });

  test('checkpointed, stopped, re-queued with the low-priority constraint, resumed and finished', async () => {
    // Long enough that the move comes well before the last epoch (a stop that comes once
    // the training is over finds nothing to resume: the trainer finishes as usual).
    const created = await api(d.p, 'POST', '/api/v1/sessions', {
      model: 'moved',
      dataset: 'digits',
      params: { ...PARAMS, epochs: 40 },
    });
    const id = created.body.id as string;
    const done = await waitFor(
      async () => {
        const s = await session(d, id);
        return ended(s) ? s : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200, what: 'the moved session to end' },
    );
    const moving = done.events.find((e) => e.kind === 'session.moving');
    const summary = JSON.stringify(done.events.filter((e) => e.kind !== 'epoch').slice(-8));
    assert.match(moving?.payload.reason ?? '', /running longer than 1 s/, summary);
    const requeued = done.events.filter((e) => e.kind === 'session.requeued');
    assert.equal(requeued.length, 1, `moved once: on the low-priority node it stays ${summary}`);
    assert.equal(requeued[0]!.payload.lowPriority, true);
    assert.ok(done.placement?.constraints?.includes('node.labels.priority==low'));
    assertResumed(done, 'moved', 40);
  });
});
