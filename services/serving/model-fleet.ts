/**
 * Every model this serving process serves: one ModelHost per model, one ModelProcess per
 * model group (one model per process unless grouped), pipelines over them, and the
 * subscription that turns registry promotions into hot swaps.
 */
import { NotFound, type Logger } from '../../shared/index.js';
import type { BackoffPolicy } from './backoff.js';
import { ModelHost, type BatchSettings } from './model-host.js';
import type { ModelSource } from './model-source.js';
import { Pipeline, type PipelineDef } from './pipelines.js';
import type { SessionOptions } from './protocol.js';
import type { Servable } from './servable.js';
import { ModelProcess, type ProcessState } from './supervisor.js';
import { WorkerSpawner } from './worker-spawner.js';

export interface FleetOptions {
  source: ModelSource;
  log: Logger;
  /** '*' serves every model in the source, including ones that appear later */
  models: '*' | string[];
  /** models that share one process; every other model gets its own */
  groups: string[][];
  session: SessionOptions;
  batch: BatchSettings;
  batchOverrides: Record<string, Partial<BatchSettings>>;
  pinnedMax: number;
  pipelines: PipelineDef[];
  backoff?: BackoffPolicy;
  /** keep one warm spare process for fast crash recovery @defaultValue true */
  spareProcess?: boolean;
  onBatch?: (model: string, rows: number) => void;
  onCrash?: (group: string) => void;
}

export interface ProcessInfo {
  group: string;
  pid: number | undefined;
  state: ProcessState;
  restarts: number;
  models: string[];
}

export class ModelFleet {
  private readonly hosts = new Map<string, ModelHost>();
  private readonly procs = new Map<string, ModelProcess>();
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly starts: Promise<void>[] = [];
  private unsubscribe: (() => void) | undefined;
  private readonly spawner: WorkerSpawner;
  private started = false;

  constructor(private readonly opts: FleetOptions) {
    this.spawner = new WorkerSpawner({ keepSpare: opts.spareProcess ?? true, log: opts.log });
    for (const def of opts.pipelines) {
      this.pipelines.set(def.name, new Pipeline(def, (m) => this.hosts.get(m)));
    }
  }

  async start(): Promise<void> {
    this.unsubscribe = this.opts.source.onPromotion((name, gen) => this.onPromotion(name, gen));
    const names = this.opts.models === '*' ? await this.opts.source.list() : this.opts.models;
    for (const name of names) this.add(name);
    await Promise.all(this.starts);
    this.started = true;
  }

  /** a model or pipeline by name; NotFound lists what is served */
  get(name: string): Servable {
    const s = this.hosts.get(name) ?? this.pipelines.get(name);
    if (!s)
      throw new NotFound(
        `unknown model "${name}"; served models: ${this.names().join(', ') || 'none'}`,
      );
    return s;
  }

  names(): string[] {
    return [...this.hosts.keys(), ...this.pipelines.keys()].sort();
  }

  host(name: string): ModelHost | undefined {
    return this.hosts.get(name);
  }

  /** initial loads are done and no model is still loading */
  ready(): boolean {
    return this.started && [...this.hosts.values()].every((h) => h.state !== 'loading');
  }

  processes(): ProcessInfo[] {
    return [...this.procs.entries()].map(([group, p]) => ({
      group,
      pid: p.pid,
      state: p.state,
      restarts: p.restarts,
      models: [...this.hosts.keys()].filter((m) => this.groupOf(m) === group),
    }));
  }

  *queueDepths(): Iterable<[string, number]> {
    for (const [name, h] of this.hosts) yield [name, h.queueDepth];
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
    await Promise.all([...this.procs.values()].map((p) => p.close()));
    await this.spawner.close();
  }

  private onPromotion(name: string, gen: number): void {
    const host = this.hosts.get(name);
    if (host) {
      host.promote(gen).catch(() => {}); // logged by the host
    } else if (this.opts.models === '*') {
      this.add(name);
    }
  }

  private groupOf(model: string): string {
    return this.opts.groups.find((g) => g.includes(model))?.join('+') ?? model;
  }

  private add(name: string): void {
    if (this.hosts.has(name)) return;
    if (this.pipelines.has(name)) {
      this.opts.log.warn({ name }, 'a model and a pipeline share a name; the model wins');
      this.pipelines.delete(name);
    }
    const group = this.groupOf(name);
    let proc = this.procs.get(group);
    if (!proc) {
      proc = new ModelProcess({
        group,
        session: this.opts.session,
        log: this.opts.log,
        spawner: this.spawner,
        backoff: this.opts.backoff,
        onCrash: this.opts.onCrash,
      });
      this.procs.set(group, proc);
      this.starts.push(
        proc
          .start()
          .catch((err: unknown) =>
            this.opts.log.error({ err, group }, 'model process failed to start'),
          ),
      );
    }
    const host = new ModelHost({
      name,
      source: this.opts.source,
      proc,
      batch: { ...this.opts.batch, ...this.opts.batchOverrides[name] },
      pinnedMax: this.opts.pinnedMax,
      log: this.opts.log,
      onBatch: this.opts.onBatch,
    });
    this.hosts.set(name, host);
    this.starts.push(
      host
        .start()
        .catch((err: unknown) => this.opts.log.error({ err, model: name }, 'initial load failed')),
    );
  }
}
