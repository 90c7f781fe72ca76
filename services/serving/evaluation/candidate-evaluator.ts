/**
 * The platform's own judgement of a candidate: its stored ONNX (and production's) run on the
 * held-out rows of the dataset version it names, in a one-off child process at lowered
 * priority. The record goes on the generation (`evaluation`) and into the archive as
 * `generation.evaluated`, where the event listener's accept rules read it.
 */
import { fork } from 'node:child_process';
import { hostname, setPriority } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  NotFound,
  Unavailable,
  type DatasetStore,
  type EvaluatedPayload,
  type EvaluationJob,
  type EvaluationRecord,
  type EventLog,
  type Generation,
  type Logger,
  type ModelRegistry,
} from '../../../shared/index.js';
import type { EvaluateAnswer, EvaluateRequest } from './evaluate-protocol.js';
import { readHeldOutRows } from './held-out-rows.js';

const CHILD = fileURLToPath(
  new URL(`./evaluate-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

export interface EvaluatorOptions {
  registry: Pick<ModelRegistry, 'getGeneration' | 'getWeights' | 'recordEvaluation'>;
  datasets: Pick<DatasetStore, 'getVersion' | 'readShards'>;
  events: Pick<EventLog, 'append'>;
  log: Logger;
  /** held-out rows scored at most (the first ones of the split) @defaultValue 20000 */
  maxRows?: number;
  /** batch sizes timed @defaultValue [1, 8, 32, 64] */
  batches?: number[];
  /** timing budget per batch size (ms) @defaultValue 150 */
  timeMs?: number;
  /** bootstrap resamples of the paired comparison @defaultValue 1000 */
  resamples?: number;
  /** the child is killed past this (ms) @defaultValue 600000 */
  timeoutMs?: number;
  /** the child's niceness (0..19), below the model processes @defaultValue 10 */
  nice?: number;
}

export class CandidateEvaluator {
  private readonly me = `${hostname()}:${process.pid}`;

  constructor(private readonly o: EvaluatorOptions) {}

  /**
   * Evaluates `job.gen`, records and archives the result; null when the generation is no
   * longer a candidate (decided meanwhile) and nothing was done. A model that cannot be run
   * on its rows gives a record with `error` (the rules reject it); a store that fails throws
   * (the job is retried).
   */
  async evaluate(job: EvaluationJob): Promise<EvaluationRecord | null> {
    let g: Generation;
    try {
      g = await this.o.registry.getGeneration(job.model, job.gen);
    } catch (err) {
      if (err instanceof NotFound) return null;
      throw err;
    }
    if (g.status !== 'candidate') {
      this.o.log.info(
        { model: job.model, gen: job.gen, status: g.status },
        'evaluation skipped: already decided',
      );
      return null;
    }
    const t0 = performance.now();
    const record = await this.measure(g, job.against).catch((err: unknown) => {
      if (err instanceof Judged) return this.failed(err.message, t0);
      throw err;
    });
    await this.publish(g, job, record);
    return record;
  }

  /** Records a failure the retries could not cure, so the candidate does not wait forever. */
  async giveUp(job: EvaluationJob, message: string): Promise<void> {
    const g = await this.o.registry.getGeneration(job.model, job.gen).catch(() => null);
    if (!g || g.status !== 'candidate') return;
    await this.publish(g, job, this.failed(`evaluation failed: ${message}`, performance.now()));
  }

  private failed(message: string, t0: number): EvaluationRecord {
    return {
      metrics: {},
      error: message,
      by: this.me,
      at: new Date().toISOString(),
      ms: Math.round(performance.now() - t0),
    };
  }

  private async publish(g: Generation, job: EvaluationJob, record: EvaluationRecord) {
    await this.o.registry.recordEvaluation(g.model, g.gen, record);
    const payload: EvaluatedPayload = {
      model: g.model,
      gen: g.gen,
      reported: g.metrics,
      ...record,
    };
    const sessionId = job.sessionId ?? g.sessionId;
    await this.o.events.append({
      ...(sessionId ? { sessionId } : {}),
      kind: 'generation.evaluated',
      payload,
    });
    this.o.log.info(
      { model: g.model, gen: g.gen, metrics: record.metrics, error: record.error },
      'candidate evaluated',
    );
  }

  private async measure(g: Generation, against: number | null): Promise<EvaluationRecord> {
    const t0 = performance.now();
    if (!g.lineage) {
      throw new Judged(
        'it names no dataset version to be evaluated on (upload it with ?dataset=NAME@VERSION)',
      );
    }
    const { dataset, version } = g.lineage;
    const held = await readHeldOutRows(
      this.o.datasets,
      dataset,
      version,
      this.o.maxRows ?? 20_000,
    ).catch((err: unknown) => {
      if (err instanceof NotFound) throw new Judged(`dataset ${dataset}@${version} is gone`);
      throw err;
    });
    const task = held.meta.labelKind === 'regression' ? 'regression' : 'classification';
    let maxLabel = -1;
    for (const y of held.rows.labels) maxLabel = Math.max(maxLabel, y);
    for (const y of held.trainLabels) maxLabel = Math.max(maxLabel, y);
    const classes = Math.max(held.meta.labelNames?.length ?? 0, maxLabel + 1, 1);
    if (task === 'classification') {
      const bad = held.rows.labels.find((y) => !Number.isInteger(y) || y < 0);
      if (bad !== undefined)
        throw new Judged(`label ${bad} of ${dataset}@${version} is not a class id`);
    }
    const production = await this.productionWeights(g.model, against);
    const answer = await runChild(
      {
        model: g.model,
        task,
        candidate: new Uint8Array(await this.o.registry.getWeights(g.model, g.gen)),
        production: production.bytes,
        rows: held.rows,
        trainLabels: held.trainLabels,
        classes,
        labelNames: held.meta.labelNames ?? null,
        batches: this.o.batches ?? [1, 8, 32, 64],
        timeMs: this.o.timeMs ?? 150,
        bootstrap: { resamples: this.o.resamples ?? 1000, seed: g.gen },
      },
      { timeoutMs: this.o.timeoutMs ?? 600_000, nice: this.o.nice ?? 10 },
    );
    if (!answer.ok) throw new Judged(answer.message);
    const c = answer.candidate;
    let againstRec: EvaluationRecord['against'] = null;
    if (against !== null) {
      const p = answer.production;
      againstRec =
        production.error !== undefined
          ? { gen: against, metrics: {}, error: production.error }
          : p && p.error === undefined
            ? { gen: against, metrics: p.metrics }
            : { gen: against, metrics: {}, error: p?.error ?? 'not run' };
    }
    return {
      task,
      rows: held.info,
      output: c.output,
      metrics: c.metrics,
      ...(c.perClass ? { perClass: c.perClass } : {}),
      ...(c.confusion ? { confusion: c.confusion } : {}),
      baseline: answer.baseline,
      latencyMs: answer.latencyMs,
      against: againstRec,
      ...(answer.paired ? { paired: answer.paired } : {}),
      by: this.me,
      at: new Date().toISOString(),
      ms: Math.round(performance.now() - t0),
    };
  }

  /** Production's weights, or why they cannot be had (its generation deleted meanwhile). */
  private async productionWeights(
    model: string,
    gen: number | null,
  ): Promise<{ bytes: Uint8Array | null; error?: string }> {
    if (gen === null) return { bytes: null };
    try {
      return { bytes: new Uint8Array(await this.o.registry.getWeights(model, gen)) };
    } catch (err) {
      if (err instanceof NotFound) return { bytes: null, error: `generation ${gen} is gone` };
      throw err;
    }
  }
}

/** A verdict on the candidate itself (it cannot be evaluated): recorded, not retried. */
class Judged extends Error {}

function runChild(
  req: EvaluateRequest,
  { timeoutMs, nice }: { timeoutMs: number; nice: number },
): Promise<EvaluateAnswer> {
  const child = fork(CHILD, [], {
    execArgv: process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--inspect')),
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    // Below the model processes: evaluation must not take the cores requests are served on.
    if (child.pid && nice > 0) setPriority(child.pid, nice);
  } catch {
    // not permitted here; it still works, only less politely
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ok: false, message: `evaluation took over ${timeoutMs} ms` });
    }, timeoutMs);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as EvaluateAnswer);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Unavailable(`evaluation process exited (${signal ?? code}) before answering`));
    });
    child.send(req);
  });
}
