import type { Job, Queue } from 'bullmq';
import {
  DeliveryJob,
  NotFound,
  type DeadDelivery,
  type DeadReplayRequest,
} from '../../../shared/index.js';
import type { JobsOptions } from 'bullmq';

export interface DeadEntry {
  job: DeliveryJob;
  failedReason: string;
  attempts: number;
  failedAt: number;
}

/**
 * Moves a delivery whose retries are exhausted to the dead-letter queue, then removes it
 * from the deliveries queue. The dead job's id derives from the original, so a repeated move (a
 * 'failed' event seen twice, the sweep after a crash) is a no-op.
 */
export async function moveToDead(dead: Queue, job: Job, reason: string): Promise<void> {
  const entry: DeadEntry = {
    job: job.data as DeliveryJob,
    failedReason: reason,
    attempts: job.attemptsMade,
    failedAt: job.finishedOn ?? Date.now(),
  };
  // BullMQ refuses integer-like custom ids, hence the `d-` in front of the original id.
  await dead.add('dead', entry, {
    jobId: `d-${job.id}`,
    removeOnComplete: true,
    removeOnFail: true,
  });
  await job.remove().catch(() => undefined);
}

/** Dead deliveries, oldest first. */
export async function listDead(dead: Queue, start = 0, end = 99): Promise<DeadDelivery[]> {
  const jobs = await dead.getJobs(['waiting', 'prioritized'], start, end, true);
  return jobs
    .filter((j): j is typeof j & { id: string } => j?.id !== undefined)
    .map((j) => ({ id: j.id, ...(j.data as DeadEntry) }));
}

export async function countDead(dead: Queue): Promise<number> {
  return dead.count();
}

/**
 * Runs `act` on each selected dead delivery (every waiting one for `{all: true}`), then
 * removes it from the dead queue. Unknown ids are reported, not fatal, unless every id is
 * unknown.
 */
async function onEachDead(
  dead: Queue,
  sel: DeadReplayRequest,
  act: (job: Job) => Promise<void>,
): Promise<{ done: string[]; missing: string[] }> {
  const done: string[] = [];
  const missing: string[] = [];
  const ids =
    'all' in sel
      ? (await dead.getJobs(['waiting', 'prioritized'], 0, -1, true)).flatMap((j) =>
          j?.id ? [j.id] : [],
        )
      : sel.ids;
  for (const id of ids) {
    const j = await dead.getJob(id);
    if (!j) {
      missing.push(id);
      continue;
    }
    await act(j);
    await j.remove();
    done.push(id);
  }
  if ('ids' in sel && done.length === 0) {
    throw new NotFound(`no dead deliveries with ids ${missing.join(', ')}`, { missing });
  }
  return { done, missing };
}

/** Puts dead deliveries back on the deliveries queue with fresh attempts. */
export async function replayDead(
  dead: Queue,
  deliveries: Queue,
  sel: DeadReplayRequest,
  optionsFor: (job: DeliveryJob) => JobsOptions,
): Promise<{ replayed: string[]; missing: string[] }> {
  const { done, missing } = await onEachDead(dead, sel, async (j) => {
    const data = DeliveryJob.parse((j.data as DeadEntry).job);
    await deliveries.add('delivery', data, optionsFor(data));
  });
  return { replayed: done, missing };
}

/** Removes dead deliveries for good (their channel is gone, or the message no longer matters). */
export async function dropDead(
  dead: Queue,
  sel: DeadReplayRequest,
): Promise<{ dropped: string[]; missing: string[] }> {
  const { done, missing } = await onEachDead(dead, sel, async () => {});
  return { dropped: done, missing };
}
