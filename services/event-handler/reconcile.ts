import type { Logger, SessionRecord, SessionStore } from '../../shared/index.js';
import type { Backend, WorkerInfo } from './backend.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { SessionRunner } from './session-runner.js';

/** What a backend that can re-attach to a worker it did not start offers. */
export interface Adopter {
  adopt(sessionId: string, workerId: string): boolean;
}

/**
 * After a (re)start: every session the archive says is placed or running is matched with a
 * live worker. Live ones are adopted (their events keep flowing: workers reconnect and
 * resend; the backend watches them, so their end is recorded); gone ones end failed with the
 * reason; half-placed ones go back to the queue (their BullMQ job, held by the handler that
 * died, is handed out again once its lock expires). One session that cannot be reconciled is
 * logged and left: it must not keep the handler from starting, nor the others from being
 * reconciled.
 */
export async function reconcile(d: {
  log: Logger;
  sessions: SessionStore;
  backend: Backend & Partial<Adopter>;
  runner: SessionRunner;
  checkpoints: CheckpointStore;
}): Promise<{ adopted: number; failed: number; requeued: number; errors: number }> {
  const out = { adopted: 0, failed: 0, requeued: 0, errors: 0 };
  const known = new Map((await d.backend.list()).map((w) => [w.workerId, w]));
  for (const state of ['placing', 'starting', 'running'] as const) {
    const { items } = await d.sessions.list({ state, limit: 10_000 });
    for (const s of items) {
      try {
        out[await reconcileOne(d, s, known)]++;
      } catch (err) {
        d.log.error({ err, sessionId: s.id, state: s.state }, 'session not reconciled');
        out.errors++;
      }
    }
  }
  d.log.info(out, 'sessions reconciled');
  return out;
}

async function reconcileOne(
  d: Parameters<typeof reconcile>[0],
  s: SessionRecord,
  known: Map<string, WorkerInfo>,
): Promise<'adopted' | 'failed' | 'requeued'> {
  if (!s.workerId) {
    // Still being placed: nothing ran yet, so it can be placed again.
    if (s.state === 'placing') {
      await d.sessions.transition(s.id, 'queued', {});
      return 'requeued';
    }
    // Past placing without a recorded worker: nothing to adopt, and it may have run.
    await d.runner.finish(s.id, 'failed', {
      exitCode: null,
      reason: 'no worker was recorded for it when the event handler stopped',
    });
    return 'failed';
  }
  const w = known.get(s.workerId);
  const alive = w ? w.running : (d.backend.adopt?.(s.id, s.workerId) ?? false);
  if (alive) return 'adopted';
  // With a checkpoint it resumes: its job, held by the handler that died, is handed out again.
  if (
    await d.runner.requeueLost(
      s.id,
      w?.exitCode ?? null,
      'worker lost while the event handler was down',
    )
  )
    return 'requeued';
  await d.runner.finish(s.id, 'failed', {
    exitCode: w?.exitCode ?? null,
    reason: 'worker lost while the event handler was down',
  });
  return 'failed';
}
