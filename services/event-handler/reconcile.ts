import type { Logger, SessionStore } from '../../shared/index.js';
import type { Backend } from './backend.js';
import type { SessionRunner } from './session-runner.js';

/** What a backend that can re-attach to a worker it did not start offers. */
export interface Adopter {
  adopt(sessionId: string, workerId: string): boolean;
}

/**
 * After a (re)start: every session the archive says is placed or running is matched with a
 * live worker. Live ones are adopted (their events keep flowing: workers reconnect and
 * resend); gone ones end failed with the reason; half-placed ones go back to the queue.
 */
export async function reconcile(d: {
  log: Logger;
  sessions: SessionStore;
  backend: Backend & Partial<Adopter>;
  runner: SessionRunner;
}): Promise<{ adopted: number; failed: number; requeued: number }> {
  const out = { adopted: 0, failed: 0, requeued: 0 };
  const known = new Map((await d.backend.list()).map((w) => [w.workerId, w]));
  for (const state of ['placing', 'starting', 'running'] as const) {
    const { items } = await d.sessions.list({ state, limit: 10_000 });
    for (const s of items) {
      if (!s.workerId) {
        await d.sessions.transition(s.id, 'queued', {});
        out.requeued++;
        continue;
      }
      const w = known.get(s.workerId);
      const alive = w ? w.running : (d.backend.adopt?.(s.id, s.workerId) ?? false);
      if (alive) {
        out.adopted++;
        continue;
      }
      await d.runner.finish(s.id, 'failed', {
        exitCode: w?.exitCode ?? null,
        reason: 'worker lost while the event handler was down',
      });
      out.failed++;
    }
  }
  d.log.info(out, 'sessions reconciled');
  return out;
}
