/**
 * Reconciliation after the event handler restarts, against a real Redis and real processes:
 * no session stays placed or running for ever. A live worker is adopted and its end still
 * recorded, a vanished one fails with the reason, a half-placed session is queued again, and
 * one that cannot be reconciled neither stops the others nor the handler's start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  EventLog,
  Keys,
  ModelRegistry,
  SessionStore,
  createLogger,
} from '../../../../shared/index.js';
import { loadConfig } from '../../../../services/event-handler/config.js';
import { CheckpointStore } from '../../../../services/event-handler/checkpoint-store.js';
import { ProcessBackend } from '../../../../services/event-handler/process-backend.js';
import { reconcile } from '../../../../services/event-handler/reconcile.js';
import { SessionRunner } from '../../../../services/event-handler/session-runner.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { waitFor } from '../../../helpers/wait.js';

let r: TestRedis;
before(async () => {
  r = await startTestRedis();
});
after(() => r?.stop());

/** A session runner over the test Redis with the process backend, and what it uses. */
function handlerParts() {
  const log = createLogger('test', 'silent');
  const keys = new Keys(r.prefix());
  const redis = r.client();
  const sessions = new SessionStore(redis, keys);
  const events = new EventLog(redis, keys);
  const backend = new ProcessBackend(log);
  const checkpoints = new CheckpointStore(redis, keys, 1024 * 1024);
  const runner = new SessionRunner({
    config: loadConfig({ INTERNAL_TOKEN: 'internal-token-0123456789', LOG_LEVEL: 'silent' }),
    log,
    keys,
    workerRedis: r.client({ forWorker: true }),
    redis,
    sessions,
    checkpoints,
    events,
    registry: new ModelRegistry(redis, keys),
    backend,
    handlerWsUrl: () => 'ws://127.0.0.1:1/ws',
  });
  return { log, keys, redis, sessions, events, backend, checkpoints, runner };
}

test('a restart adopts live workers, fails vanished ones, requeues half-placed sessions, and skips none for one bad record', async () => {
  const { log, sessions, events, backend, checkpoints, runner } = handlerParts();
  // A worker the previous handler started: still running, in a group of its own.
  const worker = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  const gone = spawn('true', [], { stdio: 'ignore' });
  await new Promise((resolve) => gone.once('exit', resolve));
  const session = async (
    id: string,
    path: ('placing' | 'starting' | 'running')[],
    workerId?: string,
  ) => {
    await sessions.create({ id, kind: 'train', request: { model: 'm' } });
    for (const state of path)
      await sessions.transition(id, state, state === 'starting' && workerId ? { workerId } : {});
  };
  try {
    await session('half-placed', ['placing']);
    await session('no-worker', ['placing', 'starting']);
    await session('alive', ['placing', 'starting', 'running'], String(worker.pid));
    await session('vanished', ['placing', 'starting', 'running'], String(gone.pid));
    await session('resumable', ['placing', 'starting', 'running'], String(gone.pid));
    await checkpoints.save('resumable', Buffer.from('the worker saved this'));

    const out = await reconcile({ log, sessions, backend, runner, checkpoints });
    assert.deepEqual(out, { adopted: 1, failed: 2, requeued: 2, errors: 0 });
    // Its worker is gone but it left a checkpoint: queued again, to resume from it.
    const resumable = await sessions.get('resumable');
    assert.equal(resumable.state, 'queued');
    assert.match(resumable.reason ?? '', /worker lost while the event handler was down/);
    const requeued = (await events.range({ sessionId: 'resumable', count: 10 })).find(
      (e) => e.kind === 'session.requeued',
    );
    assert.equal((requeued?.payload as { attempt: number }).attempt, 1);
    assert.equal((await sessions.get('half-placed')).state, 'queued');
    const noWorker = await sessions.get('no-worker');
    assert.equal(noWorker.state, 'failed');
    assert.match(noWorker.reason ?? '', /no worker was recorded/);
    const vanished = await sessions.get('vanished');
    assert.equal(vanished.state, 'failed');
    assert.equal(vanished.reason, 'worker lost while the event handler was down');
    assert.equal((await sessions.get('alive')).state, 'running');

    // The adopted worker ends: its session does not stay running.
    process.kill(worker.pid!, 'SIGKILL');
    const ended = await waitFor(
      async () => {
        const s = await sessions.get('alive');
        return s.state !== 'running' ? s : undefined;
      },
      { what: 'the adopted session to end' },
    );
    assert.equal(ended.state, 'failed');
    // The final state is written before its event is archived: wait for the event, then
    // check there is only one.
    const finished = await waitFor(
      async () => {
        const all = await events.range({ sessionId: 'alive', count: 100 });
        const ends = all.filter((e) => e.kind === 'session.finished');
        return ends.length > 0 ? ends : undefined;
      },
      { what: 'session.finished archived' },
    );
    assert.equal(finished.length, 1);
  } finally {
    if (worker.exitCode === null) worker.kill('SIGKILL');
    await runner.close();
    await backend.close();
  }
});

test("the worker's hello and the launch's own bookkeeping both marking it running: one transition, no error", async () => {
  const { sessions, events, backend, runner } = handlerParts();
  try {
    const rec = await sessions.create({ kind: 'train', request: { model: 'm', dataset: 'd' } });
    await sessions.transition(rec.id, 'placing', {});
    await sessions.transition(rec.id, 'starting', {});
    // Before, the second of two concurrent calls threw (running -> running), which failed the
    // session's queue job and freed its slot while its worker ran on.
    await Promise.all([runner.markRunning(rec.id), runner.markRunning(rec.id)]);
    assert.equal((await sessions.get(rec.id)).state, 'running');
    const running = (await events.range({ sessionId: rec.id, count: 100 })).filter(
      (e) => e.kind === 'session.state' && (e.payload as { state?: string }).state === 'running',
    );
    assert.equal(running.length, 1);
  } finally {
    await runner.close();
    await backend.close();
  }
});
