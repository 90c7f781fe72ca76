/**
 * Every model this serving process serves: one ModelHost per model, one ModelProcess per
 * model group (one model per process unless grouped), pipelines over them, and the
 * subscription that turns registry promotions into hot swaps.
 */
import { NotFound, type Logger, isAssigned, type ServingControl } from '../../../shared/index.js';
import type { BackoffPolicy } from './backoff.js';
import type { RunStats } from './dynamic-batcher.js';
import { ModelHost, type BatchSettings } from './model-host.js';
import type { ModelSource } from './model-source.js';
import { Pipeline, type PipelineDef } from './pipelines.js';
import type { SessionOptions } from './protocol.js';
import type { Servable } from './servable.js';
import { ModelProcess, type ModelProcessOptions, type ProcessState } from './supervisor.js';
import type { TensorMap } from '../tensors/tensors.js';
import type { HostingMode } from './worker-link.js';
import { WorkerSpawner } from './worker-spawner.js';

/** How model groups are hosted: `auto` measures each group's first load and picks. */
export interface HostingSettings {
  mode: HostingMode | 'auto';
  /** per model; a group takes the first of its models' that is set */
  overrides: Record<string, HostingMode | 'auto'>;
  /** `auto` moves a group to a process when a one-row run takes at least this long (µs) */
  processAtRunUs: number;
  /** V8 heap cap of a model thread (MB) */
  threadHeapMb: number;
}

export interface FleetOptions {
  source: ModelSource;
  log: Logger;
  /**
   * '*' serves every model the source's assignment names (every model when it has none),
   * including ones that appear later; a list pins this replica to those models
   */
  models: '*' | string[];
  /** models that share one process; every other model gets its own */
  groups: string[][];
  session: SessionOptions;
  /** @defaultValue every group in a process */
  hosting?: HostingSettings;
  batch: BatchSettings;
  batchOverrides: Record<string, Partial<BatchSettings>>;
  pinnedMax: number;
  pipelines: PipelineDef[];
  backoff?: BackoffPolicy;
  /** keep one warm spare worker per hosting mode in use, for fast crash recovery @defaultValue true */
  spareProcess?: boolean;
  onBatch?: (model: string, rows: number) => void;
  onRun?: (model: string, gen: number, run: RunStats) => void;
  onCrash?: (group: string) => void;
  onInputs?: (model: string, gen: number, inputs: TensorMap) => void;
}

/** One served model, as `GET /internal/fleet` reports it. */
export interface HostInfo {
  name: string;
  state: string;
  gen: number | null;
  loaded: number[];
  queueDepth: number;
}

export interface ProcessInfo {
  group: string;
  hosting: HostingMode;
  pid: number | undefined;
  /** the worker thread's id, when hosted in a thread */
  threadId?: number;
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
  private unsubscribeControl: (() => void) | undefined;
  private assigned: '*' | string[] = '*';
  private reconciling: Promise<void> = Promise.resolve();
  private readonly spawners = new Map<HostingMode, WorkerSpawner>();
  private started = false;

  constructor(private readonly opts: FleetOptions) {
    for (const def of opts.pipelines) {
      this.pipelines.set(def.name, new Pipeline(def, (m) => this.hosts.get(m)));
    }
  }

  async start(): Promise<void> {
    this.unsubscribe = this.opts.source.onPromotion((name, gen) => this.onPromotion(name, gen));
    this.unsubscribeControl = this.opts.source.onControl?.((msg) => this.onControl(msg));
    // Listening before reading what to serve: a promotion in between is then not lost.
    await this.opts.source.subscribed?.();
    for (const name of await this.wanted()) this.add(name);
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

  /** whether a model or pipeline of that name is served (per request: no list is built) */
  serves(name: string): boolean {
    return this.hosts.has(name) || this.pipelines.has(name);
  }

  host(name: string): ModelHost | undefined {
    return this.hosts.get(name);
  }

  /** the worker hosting a model group (its name, or its models joined by `+`) */
  process(group: string): ModelProcess | undefined {
    return this.procs.get(group);
  }

  /** initial loads are done and no model is still loading */
  ready(): boolean {
    return this.started && [...this.hosts.values()].every((h) => h.state !== 'loading');
  }

  processes(): ProcessInfo[] {
    return [...this.procs.entries()].map(([group, p]) => ({
      group,
      hosting: p.mode,
      pid: p.pid,
      ...(p.threadId !== undefined ? { threadId: p.threadId } : {}),
      state: p.state,
      restarts: p.restarts,
      models: [...this.hosts.keys()].filter((m) => this.groupOf(m) === group),
    }));
  }

  /** the assignment this replica follows (`*` when pinned by MODELS or unassigned) */
  assignment(): '*' | string[] {
    return this.opts.models === '*' ? this.assigned : this.opts.models;
  }

  hostsInfo(): HostInfo[] {
    return [...this.hosts.values()]
      .map((h) => ({
        name: h.name,
        state: h.state,
        gen: h.gen ?? null,
        loaded: h.loadedVersions(),
        queueDepth: h.queueDepth,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Re-reads the assignment and loads or drains models to match; calls run one at a time. */
  reconcile(): Promise<void> {
    const next = this.reconciling.then(async () => {
      if (this.opts.models !== '*' || !this.started) return;
      const wanted = new Set(await this.wanted());
      for (const name of wanted) this.add(name);
      await Promise.all(
        [...this.hosts.keys()].filter((n) => !wanted.has(n)).map((n) => this.remove(n)),
      );
    });
    this.reconciling = next.catch((err: unknown) =>
      this.opts.log.error({ err }, 'applying the serving assignment failed'),
    );
    return next;
  }

  *queueDepths(): Iterable<[string, number]> {
    for (const [name, h] of this.hosts) yield [name, h.queueDepth];
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribeControl?.();
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
    await Promise.all([...this.procs.values()].map((p) => p.close()));
    await Promise.all([...this.spawners.values()].map((s) => s.close()));
  }

  private onPromotion(name: string, gen: number): void {
    const host = this.hosts.get(name);
    if (host) {
      host.promote(gen).catch(() => {}); // logged by the host
    } else if (this.opts.models === '*' && isAssigned(this.assigned, name)) {
      this.add(name);
    }
  }

  private onControl(msg: ServingControl): void {
    if (msg.type === 'assignment') {
      void this.reconcile();
    } else if (msg.type === 'loaded') {
      this.hosts
        .get(msg.model)
        ?.revisitVersions()
        .catch((err: unknown) =>
          this.opts.log.warn({ err, model: msg.model }, 'applying loaded generations failed'),
        );
    } else if (msg.type === 'optimized') {
      this.hosts
        .get(msg.model)
        ?.refresh(msg.gen)
        .catch((err: unknown) =>
          this.opts.log.warn(
            { err, model: msg.model, gen: msg.gen },
            'reload of optimised weights failed',
          ),
        );
    }
  }

  /** The models this replica should serve now. */
  private async wanted(): Promise<string[]> {
    if (this.opts.models !== '*') return this.opts.models;
    this.assigned = (await this.opts.source.assignment?.()) ?? '*';
    return this.assigned === '*' ? this.opts.source.list() : this.assigned;
  }

  /** Stops serving a model: new requests get 404, queued ones finish, its process may go. */
  private async remove(name: string): Promise<void> {
    const host = this.hosts.get(name);
    if (!host) return;
    this.hosts.delete(name);
    await host.drain();
    const group = this.groupOf(name);
    const stillUsed = [...this.hosts.keys()].some((m) => this.groupOf(m) === group);
    const proc = this.procs.get(group);
    if (proc && !stillUsed) {
      this.procs.delete(group);
      await proc.close();
    }
    this.opts.log.info({ model: name }, 'model no longer served here');
  }

  /** Startup waits for the first loads; later ones log their own failures. */
  private track(p: Promise<void>): void {
    if (!this.started) this.starts.push(p);
  }

  /** Spawners are made on first use, so a mode nobody uses keeps no spare. */
  private spawnerFor(mode: HostingMode): WorkerSpawner {
    let s = this.spawners.get(mode);
    if (!s) {
      s = new WorkerSpawner({
        keepSpare: this.opts.spareProcess ?? true,
        log: this.opts.log,
        mode,
        threadHeapMb: this.opts.hosting?.threadHeapMb,
      });
      this.spawners.set(mode, s);
    }
    return s;
  }

  /** The hosting of a new group: its models' override, else the configured mode. */
  private hostingOf(group: string): Pick<ModelProcessOptions, 'spawner' | 'auto'> {
    const h = this.opts.hosting;
    const models = group.split('+');
    const mode = models.map((m) => h?.overrides[m]).find((m) => m) ?? h?.mode ?? 'process';
    if (mode !== 'auto') return { spawner: this.spawnerFor(mode) };
    const spawnerFor = this.spawnerFor.bind(this);
    return {
      spawner: this.spawnerFor('thread'),
      auto: {
        // a getter's worth of laziness: the process spawner (and its spare) only when moved
        get moveTo() {
          return spawnerFor('process');
        },
        atRunUs: h!.processAtRunUs,
      },
    };
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
        ...this.hostingOf(group),
        backoff: this.opts.backoff,
        onCrash: this.opts.onCrash,
      });
      this.procs.set(group, proc);
      this.track(
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
      onRun: this.opts.onRun,
      onInputs: this.opts.onInputs,
    });
    this.hosts.set(name, host);
    this.track(
      host
        .start()
        .catch((err: unknown) => this.opts.log.error({ err, model: name }, 'initial load failed')),
    );
  }
}
