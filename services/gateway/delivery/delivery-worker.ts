import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  closeWorker,
  DeliveryJob,
  QUEUES,
  type DeliveryChannel,
  type Logger,
  safeReport,
  type Report,
} from '../../../shared/index.js';
import type { ChannelSenders } from './channels/senders.js';
import { moveToDead } from './dead-letter.js';

export interface DeliveryWorkerDeps {
  /** a connection with maxRetriesPerRequest: null (BullMQ blocks on it) */
  connection: Redis;
  prefix: string;
  dead: Queue;
  /** the deliveries queue (producer side), read by the sweep */
  deliveries: Queue;
  /** the channel as currently configured; undefined when it was removed */
  channel: (id: string) => DeliveryChannel | undefined;
  senders: ChannelSenders;
  log?: Logger;
  report?: Report;
  /** deliveries in flight per process @defaultValue 32 */
  concurrency?: number;
  /** called after each successful send (latency figures) */
  onDelivered?: (job: DeliveryJob) => void;
}

function isFinal(job: Job, err: Error): boolean {
  return (
    err instanceof UnrecoverableError ||
    err.name === 'UnrecoverableError' ||
    job.attemptsMade >= (job.opts.attempts ?? 1)
  );
}

/** Sends one job; domain code, BullMQ only for the "don't retry" signal. */
async function processDelivery(job: Job, deps: DeliveryWorkerDeps): Promise<void> {
  const input = DeliveryJob.safeParse(job.data);
  if (!input.success) throw new UnrecoverableError(`bad DeliveryJob: ${input.error.message}`);
  const ch = deps.channel(input.data.channel);
  if (!ch) throw new UnrecoverableError(`channel "${input.data.channel}" is not configured`);
  await deps.senders.send(ch, input.data, `${job.queueName}/${job.id ?? ''}`);
  deps.onDelivered?.(input.data);
}

/**
 * The deliveries consumer: retries with the job's backoff, and dead-letters a job whose
 * attempts are exhausted (or that can never succeed). Jobs that failed for good while the
 * move could not happen (Redis away, a crash) are moved by `sweep()` at start.
 */
export class DeliveryWorker {
  private worker: Worker | undefined;
  private readonly report: Report;

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.report = safeReport(deps.report);
  }

  async start(): Promise<void> {
    const d = this.deps;
    this.worker = new Worker(QUEUES.deliveries, (job) => processDelivery(job, d), {
      connection: d.connection,
      prefix: d.prefix,
      concurrency: d.concurrency ?? 32,
    });
    this.worker.on('error', (err) => d.log?.warn({ err: err.message }, 'delivery worker error'));
    this.worker.on('failed', (job, err) => {
      if (!job || !isFinal(job, err)) return;
      void this.bury(job, err.message);
    });
    await this.worker.waitUntilReady();
    await this.sweep();
  }

  /** Moves jobs that failed for good but are still in the deliveries failed set. */
  async sweep(): Promise<number> {
    const failed = await this.deps.deliveries.getFailed(0, 999);
    for (const j of failed) await this.bury(j, j.failedReason);
    return failed.length;
  }

  private async bury(job: Job, reason: string): Promise<void> {
    try {
      await moveToDead(this.deps.dead, job, reason);
      const data = job.data as Partial<DeliveryJob>;
      this.report({
        type: 'delivery.dead',
        jobId: job.id,
        ruleId: data.ruleId,
        channel: data.channel,
        predictionId: data.predictionId,
        attempts: job.attemptsMade,
        reason,
      });
    } catch (err) {
      // It stays in the failed set; the next sweep moves it.
      this.deps.log?.warn({ err: String(err), jobId: job.id }, 'dead-letter move failed');
    }
  }

  /** Lets the deliveries in flight finish, for CLOSE_GRACE_MS at most (closeWorker). */
  async close(): Promise<void> {
    if (!this.worker) return;
    const graceful = await closeWorker(this.worker, { graceMs: CLOSE_GRACE_MS });
    if (!graceful) this.deps.log?.warn({ graceMs: CLOSE_GRACE_MS }, 'delivery worker closed late');
  }
}

const CLOSE_GRACE_MS = 5_000;
