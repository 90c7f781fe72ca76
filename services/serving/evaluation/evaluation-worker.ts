/**
 * Candidate evaluation on the serving side: a BullMQ worker on `QUEUES.evaluations`. Every
 * replica takes jobs; one that dies mid-job leaves a stalled job that another takes. A job
 * whose retries are spent still ends in a `generation.evaluated` (with `error`), so no
 * candidate waits for a verdict forever.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  DatasetStore,
  EvaluationJob,
  EventLog,
  ModelRegistry,
  QUEUES,
  type Keys,
  type Logger,
} from '../../../shared/index.js';
import { CandidateEvaluator } from './candidate-evaluator.js';

export interface EvaluationWorkerDeps {
  /** a connection of its own with `maxRetriesPerRequest: null` (BullMQ blocks on it) */
  connection: Redis;
  keys: Keys;
  log: Logger;
  evaluator: Pick<CandidateEvaluator, 'evaluate' | 'giveUp'>;
  /** evaluations at once per replica @defaultValue 1 */
  concurrency?: number;
  /** BullMQ lock; a replica silent this long is presumed dead (ms) @defaultValue 60000 */
  lockDurationMs?: number;
}

export function startEvaluationWorker(d: EvaluationWorkerDeps): Worker<EvaluationJob> {
  const worker = new Worker<EvaluationJob>(
    QUEUES.evaluations,
    async (job: Job<EvaluationJob>) => {
      const input = EvaluationJob.safeParse(job.data);
      if (!input.success) throw new UnrecoverableError(`bad EvaluationJob: ${input.error.message}`);
      try {
        await d.evaluator.evaluate(input.data);
      } catch (err) {
        if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
          await d.evaluator.giveUp(input.data, (err as Error).message);
          return;
        }
        throw err;
      }
    },
    {
      connection: d.connection,
      prefix: d.keys.bullPrefix(),
      concurrency: d.concurrency ?? 1,
      lockDuration: d.lockDurationMs ?? 60_000,
      stalledInterval: d.lockDurationMs ?? 60_000,
    },
  );
  worker.on('error', (err) => d.log.warn({ err }, 'evaluation worker error'));
  worker.on('failed', (job, err) =>
    d.log.warn({ err, job: job?.id, attempts: job?.attemptsMade }, 'evaluation failed'),
  );
  return worker;
}

/** The evaluator over a Redis store and its worker, as serving replicas (and tests) run them. */
export function startCandidateEvaluation(d: {
  connection: Redis;
  redis: Redis;
  keys: Keys;
  log: Logger;
  concurrency?: number;
  maxRows?: number;
  lockDurationMs?: number;
  /** niceness of the evaluation processes @defaultValue 10 */
  nice?: number;
}): Worker<EvaluationJob> {
  const evaluator = new CandidateEvaluator({
    registry: new ModelRegistry(d.redis, d.keys),
    datasets: new DatasetStore(d.redis, d.keys),
    events: new EventLog(d.redis, d.keys),
    log: d.log,
    ...(d.maxRows === undefined ? {} : { maxRows: d.maxRows }),
    ...(d.nice === undefined ? {} : { nice: d.nice }),
  });
  return startEvaluationWorker({ ...d, evaluator });
}
