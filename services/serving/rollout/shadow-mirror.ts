/**
 * Mirrors live requests to shadow generations off the request path. Each model has one
 * bounded queue (the rollout policy's `shadowQueue`): a request that finds it full is
 * dropped and counted, never waited for. A few mirrored requests run at once per model, so
 * the shadow's batcher can still batch; each has a deadline (`shadowTimeoutMs`) after which
 * it counts as a shadow error. A run that outlives its deadline keeps its place until it
 * ends, so a slow shadow fills the queue and is shed instead of piling up work.
 */
import type { Logger } from '../../../shared/index.js';
import type { TensorMap } from '../tensors/tensors.js';
import type { OnlineRecorder } from './online-recorder.js';
import { agree, summarize, type OutputSummary } from './output-summary.js';

export interface ShadowJob {
  model: string;
  gen: number;
  inputs: TensorMap;
  /** what the answering generation said, to compare with */
  primary: OutputSummary | null;
  timeoutMs: number;
  /** the shadow's answer once compared; null when it failed or timed out */
  done?: (gen: number, out: OutputSummary | null) => void;
}

export interface ShadowMirrorOptions {
  /** runs a request on one generation of a model (the model host) */
  run: (model: string, gen: number, inputs: TensorMap) => Promise<TensorMap>;
  recorder: OnlineRecorder;
  log: Logger;
  /** mirrored requests running at once per model @defaultValue 16 */
  concurrency: number;
}

class Lane {
  readonly queue: ShadowJob[] = [];
  running = 0;
}

export class ShadowMirror {
  private readonly lanes = new Map<string, Lane>();
  private closed = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: ShadowMirrorOptions) {}

  /** Queues a mirrored request; false (and counted as dropped) when the model's queue is full. */
  offer(job: ShadowJob, queueMax: number): boolean {
    const rec = this.opts.recorder;
    let lane = this.lanes.get(job.model);
    if (!lane) this.lanes.set(job.model, (lane = new Lane()));
    if (this.closed || lane.queue.length >= queueMax) {
      rec.add(job.model, job.gen, 'shadowDropped');
      return false;
    }
    rec.add(job.model, job.gen, 'shadowSent');
    lane.queue.push(job);
    this.pump(lane);
    return true;
  }

  /** mirrored requests waiting or running, over all models */
  get pending(): number {
    let n = 0;
    for (const l of this.lanes.values()) n += l.queue.length + l.running;
    return n;
  }

  /** Resolves once nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops what is queued (answered as dropped) and waits for the running ones. */
  async close(): Promise<void> {
    this.closed = true;
    for (const lane of this.lanes.values()) {
      for (const job of lane.queue.splice(0)) {
        this.opts.recorder.add(job.model, job.gen, 'shadowDropped');
        job.done?.(job.gen, null);
      }
    }
    await this.idle();
  }

  private pump(lane: Lane): void {
    while (lane.running < this.opts.concurrency && lane.queue.length > 0) {
      const job = lane.queue.shift()!;
      lane.running++;
      void this.runOne(job).finally(() => {
        lane.running--;
        this.pump(lane);
        if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async runOne(job: ShadowJob): Promise<void> {
    const rec = this.opts.recorder;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const run = this.opts.run(job.model, job.gen, job.inputs);
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        resolve();
      }, job.timeoutMs);
    });
    let out: OutputSummary | null = null;
    let ok = false;
    try {
      const outputs = await Promise.race([run, deadline]);
      if (outputs) {
        out = summarize(outputs);
        ok = true;
      }
    } catch (err) {
      this.opts.log.debug({ err, model: job.model, gen: job.gen }, 'shadow request failed');
    } finally {
      clearTimeout(timer);
    }
    const ms = performance.now() - started;
    rec.request(job.model, job.gen, ms, ok);
    if (!ok) rec.add(job.model, job.gen, 'shadowErrors');
    if (ok && out && job.primary) {
      rec.add(job.model, job.gen, 'shadowCompared');
      if (agree(job.primary, out)) rec.add(job.model, job.gen, 'shadowAgreed');
    }
    job.done?.(job.gen, ok ? out : null);
    // The slot stays taken until a timed-out run really ends (errors already counted).
    if (timedOut)
      await run.then(
        () => undefined,
        () => undefined,
      );
  }
}
