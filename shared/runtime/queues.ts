import type { Worker } from 'bullmq';
import { z } from 'zod';

/**
 * Every BullMQ queue name, and the only place they are written. A name is a storage key:
 * renaming one strands the jobs already queued (and dead-lettered) under the old name.
 */
export const QUEUES = {
  /** session requests: gateway and event-listener → event-handler (priorities honoured) */
  sessions: 'sessions',
  /** scheduled retraining (job schedulers, one per cron rule) */
  retrain: 'retrain',
  /** batch inference chunks: event-handler → serving */
  batchInfer: 'batch-infer',
  /** candidate evaluations (EvaluationJob): event-listener → serving, at lower priority */
  evaluations: 'evaluations',
  /** one job per (prediction, rule): { ruleId, channel, payload, ... } (DeliveryJob) */
  deliveries: 'deliveries',
  /** deliveries whose retries are exhausted; no worker, read and replayed from the API/CLI */
  deliveriesDead: 'deliveries-dead',
} as const;

/** One chunk of a batch-inference session: rows [start, start+count) of a dataset version. */
export const BatchInferJob = z.object({
  sessionId: z.string().min(1),
  chunk: z.number().int().min(0),
  model: z.string().min(1),
  gen: z.number().int().min(1),
  dataset: z.string().min(1),
  version: z.number().int().min(1),
  start: z.number().int().min(0),
  count: z.number().int().min(1),
  /** model output to keep; the first one (or `probabilities`) when omitted */
  output: z.string().optional(),
});
export type BatchInferJob = z.infer<typeof BatchInferJob>;

/** What a batch-inference job returns; the float32 values wait in `key`. */
export const BatchInferResult = z.object({
  key: z.string(),
  rows: z.number().int(),
  /** values per row */
  width: z.number().int(),
  output: z.string(),
  gen: z.number().int(),
});
export type BatchInferResult = z.infer<typeof BatchInferResult>;

/**
 * Closes a BullMQ worker, waiting at most `graceMs`. After Redis was restarted under it, a
 * worker's close (and even its disconnect) can wait on its blocking read for good (seen in the
 * readiness test); past the grace period its connections are dropped without waiting, and a
 * job in flight, if any, is found stalled and run again by the next worker. Answers whether
 * the close was graceful.
 */
export async function closeWorker(
  worker: Worker,
  opts: { graceMs: number; force?: boolean },
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), opts.graceMs);
  });
  const closing = worker.close(opts.force ?? false).then(() => 'closed' as const);
  const outcome = await Promise.race([closing, late]);
  clearTimeout(timer);
  if (outcome === 'closed') return true;
  void worker.disconnect().catch(() => undefined);
  return false;
}
