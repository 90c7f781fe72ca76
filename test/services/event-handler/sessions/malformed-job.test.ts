/**
 * A job on the sessions queue that is not a SessionJob (written by an old or broken
 * producer) fails for good with UnrecoverableError: no retry, its reason kept on the failed
 * job, and the session it names ends failed with that reason archived.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { EventLog, Keys, QUEUES, SessionStore } from '../../../../shared/index.js';
import { startTestPlatform, type TestPlatform } from '../../../helpers/platform.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { waitFor } from '../../../helpers/wait.js';

let r: TestRedis;
let p: TestPlatform;
let queue: Queue;
let sessions: SessionStore;
let events: EventLog;

before(async () => {
  r = await startTestRedis();
  p = await startTestPlatform(r, { listener: false, handlerEnv: { WARM_TRAINER: 'false' } });
  const keys = new Keys(p.prefix);
  sessions = new SessionStore(r.client(), keys);
  events = new EventLog(r.client(), keys);
  queue = new Queue(QUEUES.sessions, {
    connection: r.client({ forWorker: true }),
    prefix: keys.bullPrefix(),
  });
});
after(async () => {
  await queue?.close();
  await p?.close();
  await r?.stop();
});

/** Waits until the job is finished one way or the other; answers its state then. */
async function settled(jobId: string) {
  return waitFor(
    async () => {
      // State first, then the job: a job read while still active has no failedReason yet,
      // even if the state read after it already says failed.
      const state = await queue.getJobState(jobId);
      if (state !== 'failed' && state !== 'completed') return undefined;
      const job = await queue.getJob(jobId);
      return job ? { job, state } : undefined;
    },
    { timeoutMs: 30_000, what: `job ${jobId} to finish` },
  );
}

test('a malformed job fails unretried and ends the session it names, reason archived', async () => {
  await sessions.create({
    id: 'mangled-1',
    kind: 'train',
    request: { model: 'm', dataset: 'd@1' },
  });
  // Three attempts allowed: an ordinary error would be retried, this one must not be.
  await queue.add(
    'session',
    { sessionId: 'mangled-1', request: { model: 'bad name!', dataset: 'd' } },
    { jobId: 'mangled-1', attempts: 3, backoff: { type: 'fixed', delay: 50 } },
  );
  const { job, state } = await settled('mangled-1');
  assert.equal(state, 'failed');
  // Failed after one start: with three attempts, an ordinary error would have run it again.
  assert.equal(job.attemptsStarted, 1, 'not retried');
  assert.match(job.failedReason, /^bad SessionJob: /);
  assert.match(job.failedReason, /model/);

  const rec = await waitFor(
    async () => {
      const s = await sessions.get('mangled-1');
      return s.state === 'failed' ? s : undefined;
    },
    { what: 'the session failed' },
  );
  assert.match(rec.reason ?? '', /^malformed session job: request\.model: /);
  const finished = await waitFor(
    async () =>
      (await events.range({ sessionId: 'mangled-1' })).find((e) => e.kind === 'session.finished'),
    { what: 'session.finished archived' },
  );
  assert.match((finished.payload as { reason: string }).reason, /malformed session job/);
});

test('a job naming no session fails unretried too', async () => {
  await queue.add('session', { nonsense: true }, { jobId: 'nonsense-1', attempts: 3 });
  const { job, state } = await settled('nonsense-1');
  assert.equal(state, 'failed');
  assert.equal(job.attemptsStarted, 1);
  assert.match(job.failedReason, /^bad SessionJob: /);
});
