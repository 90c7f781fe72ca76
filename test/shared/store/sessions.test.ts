import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict, NotFound } from '../../../shared/errors.js';
import { Keys } from '../../../shared/store/keys.js';
import { SessionStore } from '../../../shared/store/session-store.js';
import { SESSION_STATES, canTransition, isTerminal } from '../../../shared/store/session-state.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';

test('transition table: terminal states are final, progress moves forward', () => {
  for (const from of SESSION_STATES) {
    for (const to of SESSION_STATES) {
      if (isTerminal(from)) assert.equal(canTransition(from, to), false, `${from} -> ${to}`);
    }
    assert.equal(canTransition(from, from), false, `${from} -> itself`);
  }
  assert.ok(canTransition('queued', 'placing'));
  assert.ok(canTransition('starting', 'running'));
  assert.ok(canTransition('running', 'succeeded'));
  assert.ok(!canTransition('queued', 'running'));
  // A lost or moved worker's session goes back to the queue to resume from its checkpoint.
  assert.ok(canTransition('running', 'queued'));
  assert.ok(!canTransition('queued', 'succeeded'));
});

describe('session store', () => {
  let r: TestRedis;
  before(async () => {
    r = await startTestRedis();
  });
  after(async () => {
    await r.stop();
  });
  const store = () => new SessionStore(r.client(), new Keys(r.prefix()));

  test('a session runs its life cycle with timestamps and patches', async () => {
    const s = store();
    const rec = await s.create({
      kind: 'train',
      request: { model: 'm', dataset: 'd@1' },
      trigger: 'cli',
    });
    assert.equal(rec.state, 'queued');
    assert.deepEqual(await s.get(rec.id), rec);
    await s.transition(rec.id, 'placing', { placement: { node: 'n1', gpu: false } });
    await s.transition(rec.id, 'starting', { workerId: 'w-1' });
    const running = await s.transition(rec.id, 'running');
    assert.ok(running.started);
    await s.update(rec.id, { lastLogs: ['epoch 1'] });
    await s.addFlag(rec.id, 'slow');
    await s.addFlag(rec.id, 'slow');
    const done = await s.transition(rec.id, 'failed', { exitCode: 137, reason: 'OOM' });
    assert.equal(done.state, 'failed');
    assert.equal(done.exitCode, 137);
    assert.equal(done.reason, 'OOM');
    assert.deepEqual(done.flags, ['slow']);
    assert.deepEqual(done.lastLogs, ['epoch 1']);
    assert.deepEqual(done.placement, { node: 'n1', gpu: false });
    assert.equal(done.workerId, 'w-1');
    assert.deepEqual(done.request, { model: 'm', dataset: 'd@1' });
    assert.ok(done.ended);
    await assert.rejects(s.transition(rec.id, 'running'), Conflict);
    await assert.rejects(s.transition(rec.id, 'succeeded'), Conflict);
    assert.equal((await s.get(rec.id)).state, 'failed');
  });

  test('invalid transitions are refused; unknown ids are NotFound', async () => {
    const s = store();
    const rec = await s.create({ kind: 'serve', request: {} });
    await assert.rejects(s.transition(rec.id, 'succeeded'), (err: unknown) => {
      assert.ok(err instanceof Conflict);
      assert.deepEqual(err.details, { id: rec.id, from: 'queued', to: 'succeeded' });
      return true;
    });
    await assert.rejects(s.get('nope'), NotFound);
    await assert.rejects(s.transition('nope', 'placing'), NotFound);
    await assert.rejects(s.update('nope', { reason: 'x' }), NotFound);
    await assert.rejects(s.create({ id: rec.id, kind: 'train', request: {} }), Conflict);
  });

  test('concurrent stop and finish: exactly one terminal state wins', async () => {
    const keys = new Keys(r.prefix());
    const s = new SessionStore(r.client(), keys);
    const rec = await s.create({ kind: 'train', request: {} });
    await s.transition(rec.id, 'starting');
    await s.transition(rec.id, 'running');
    const outcomes = await Promise.allSettled([
      new SessionStore(r.client(), keys).transition(rec.id, 'stopped'),
      new SessionStore(r.client(), keys).transition(rec.id, 'succeeded'),
      new SessionStore(r.client(), keys).transition(rec.id, 'failed'),
    ]);
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof Conflict);
  });

  test('transitionFrom writes only from the state its caller read', async () => {
    const s = store();
    const rec = await s.create({ kind: 'train', request: {} });
    await s.transition(rec.id, 'placing');
    // A launch records its worker as it leaves `placing`...
    await s.transition(rec.id, 'starting', { workerId: 'w-7' });
    // ...so a stop that read `placing` (no worker) writes nothing and learns it lost.
    assert.equal(await s.transitionFrom(rec.id, 'placing', 'stopped', { reason: 'x' }), undefined);
    const kept = await s.get(rec.id);
    assert.equal(kept.state, 'starting');
    assert.equal(kept.reason, undefined);
    assert.equal(kept.ended, undefined);
    // Read again, it ends the session from where it is, with its stamps and patch.
    const ended = await s.transitionFrom(rec.id, 'starting', 'stopped', { reason: 'stop' });
    assert.equal(ended?.state, 'stopped');
    assert.equal(ended?.reason, 'stop');
    assert.ok(ended?.ended);
    assert.deepEqual(await s.list({ state: 'starting' }), { items: [], total: 0 });
    await assert.rejects(s.transitionFrom(rec.id, 'stopped', 'running'), Conflict);
    await assert.rejects(s.transitionFrom('nope', 'queued', 'placing'), NotFound);
  });

  test('list is newest first, filters by state, pages', async () => {
    const s = store();
    const ids: string[] = [];
    // Sessions created in one millisecond tie on score and fall back to id order: these
    // ids sort in creation order, so the expected order holds either way.
    for (let i = 0; i < 5; i++) {
      ids.push((await s.create({ id: `s-${i}`, kind: 'batch-infer', request: { i } })).id);
    }
    await s.transition(ids[1]!, 'placing');
    await s.transition(ids[3]!, 'stopped');
    const all = await s.list({ limit: 10 });
    assert.equal(all.total, 5);
    assert.deepEqual(
      all.items.map((x) => x.id),
      [...ids].reverse(),
    );
    const page = await s.list({ limit: 2, offset: 1 });
    assert.deepEqual(
      page.items.map((x) => x.id),
      [ids[3], ids[2]],
    );
    const queued = await s.list({ state: 'queued' });
    assert.deepEqual(
      queued.items.map((x) => x.id),
      [ids[4], ids[2], ids[0]],
    );
    assert.deepEqual(
      (await s.list({ state: 'stopped' })).items.map((x) => x.id),
      [ids[3]],
    );
  });
});
