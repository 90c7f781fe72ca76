/**
 * One model worker (model-worker.ts, as a process or a thread) per model group, kept alive:
 * a crash fails that worker's in-flight calls at once with Unavailable, new calls get
 * Unavailable fast while it restarts with exponential backoff, and every loaded generation is
 * loaded again in the new worker before it reports ready. The same for both hosting modes;
 * only what a crash can take with it differs (docs/serving.md, "Isolation").
 */
import { reviveError, Unavailable, type Logger } from '../../../shared/index.js';
import { DEFAULT_BACKOFF, nextRestart, type BackoffPolicy } from './backoff.js';
import {
  FromWorker,
  type ModelIO,
  type SessionChoice,
  type SessionOptions,
  type ToWorker,
} from './protocol.js';
import type { TensorMap } from '../tensors/tensors.js';
import type { HostingMode, WorkerLink } from './worker-link.js';
import type { WorkerSpawner } from './worker-spawner.js';

export type ProcessState = 'starting' | 'ready' | 'restarting' | 'closed';

export interface ModelProcessOptions {
  group: string;
  session: SessionOptions;
  log: Logger;
  spawner: WorkerSpawner;
  backoff?: BackoffPolicy;
  /** called after a crash, before the restart (metrics) */
  onCrash?: (group: string) => void;
  /** called whenever `state` changes */
  onState?: (state: ProcessState) => void;
  /** how long `load` waits for a restarting process @defaultValue 30000 (ms) */
  loadWaitMs?: number;
  /**
   * hosting `auto`: the group starts on `spawner` (threads), and moves to `moveTo` (processes)
   * when a one-row run of its first loaded generation takes at least `atRunUs` µs, where the
   * hop to a process costs little against the model and its isolation is worth having
   */
  auto?: { moveTo: WorkerSpawner; atRunUs: number };
}

interface Pending {
  resolve: (msg: Extract<FromWorker, { t: 'ok' }>) => void;
  reject: (err: Error) => void;
}

type Request = ToWorker extends infer M ? (M extends unknown ? Omit<M, 'id'> : never) : never;

/** How long an unload waits for the runs already sent on its generation (ms). */
const UNLOAD_WAIT_MS = 30_000;

export class ModelProcess {
  state: ProcessState = 'starting';
  restarts = 0;
  private link: WorkerLink | undefined;
  private spawner: WorkerSpawner;
  /** hosting `auto`: whether the group's mode was chosen (at its first load) */
  private decided: boolean;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** what to load again after a restart */
  private readonly loaded = new Map<string, { model: string; gen: number; bytes: Uint8Array }>();
  private attempt = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readyWaiters: (() => void)[] = [];
  private readonly backoff: BackoffPolicy;
  /** the session settings each loaded generation got (calibrated or configured) */
  private readonly choices = new Map<string, SessionChoice>();
  /**
   * Runs sent and not yet answered, per `model@gen`. An unload waits for them: in thread mode
   * runs travel through shared memory and the unload as a message, so the unload could
   * otherwise overtake runs sent before it (in process mode one pipe keeps them in order).
   */
  private readonly running = new Map<string, Set<Promise<unknown>>>();

  constructor(private readonly opts: ModelProcessOptions) {
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.spawner = opts.spawner;
    this.decided = !opts.auto;
  }

  get group(): string {
    return this.opts.group;
  }

  get pid(): number | undefined {
    return this.link?.pid;
  }

  /** how the group is hosted now */
  get mode(): HostingMode {
    return this.link?.mode ?? this.spawner.mode;
  }

  /** the worker thread's id, when hosted in a thread */
  get threadId(): number | undefined {
    return this.link?.threadId;
  }

  async start(): Promise<void> {
    await this.spawn();
    this.setState('ready');
  }

  async load(model: string, gen: number, bytes: Uint8Array): Promise<ModelIO> {
    await this.whenReady();
    const deciding = !this.decided;
    const options = deciding ? { ...this.opts.session, timeRun: true } : this.opts.session;
    const reply = await this.call({ t: 'load', model, gen, bytes, options });
    this.loaded.set(`${model}@${gen}`, { model, gen, bytes });
    if (deciding && !this.decided) await this.decide(model, gen, reply.session?.runUs ?? 0);
    if (reply.session) {
      this.choices.set(`${model}@${gen}`, { ...reply.session, hosting: this.mode });
    }
    if (!reply.io) throw new Error('model process answered a load without io');
    return reply.io;
  }

  /** Sends a deliberate fault to the worker (containment tests). */
  async fault(how: 'throw' | 'oom'): Promise<void> {
    await this.call({ t: 'fault', how });
  }

  /**
   * Hosting `auto`, at the group's first load: keeps the thread for a model whose one-row run is
   * quick (the hop to a process would cost more than the model), moves the group to a process
   * otherwise. A run that could not be timed (0: the model refused zero inputs) counts as slow.
   */
  private async decide(model: string, gen: number, runUs: number): Promise<void> {
    this.decided = true;
    const auto = this.opts.auto!;
    const thread = runUs > 0 && runUs < auto.atRunUs;
    this.opts.log.info(
      {
        group: this.group,
        model,
        gen,
        runUs,
        atRunUs: auto.atRunUs,
        hosting: thread ? 'thread' : 'process',
      },
      'hosting chosen',
    );
    if (!thread && this.mode !== auto.moveTo.mode) await this.move(auto.moveTo);
  }

  /**
   * Moves the group to a worker of `spawner`'s kind: starts it, loads every loaded generation
   * there, then switches and stops the old one. Only at the first load, before any request.
   */
  private async move(spawner: WorkerSpawner): Promise<void> {
    const [oldLink, oldSpawner] = [this.link, this.spawner];
    this.spawner = spawner;
    try {
      await this.spawn();
      for (const { model, gen, bytes } of [...this.loaded.values()]) {
        await this.call({ t: 'load', model, gen, bytes, options: this.opts.session });
      }
    } catch (err) {
      // Serving from where it already loaded beats not serving: stay, and say so.
      this.opts.log.warn(
        { err, group: this.group },
        'move to a process failed; staying in the thread',
      );
      const started = this.link;
      [this.link, this.spawner] = [oldLink, oldSpawner];
      if (started !== oldLink) await started?.stop(2_000);
      return;
    }
    await oldLink?.stop(2_000);
  }

  /** The session settings `gen` of `model` was loaded with, once loaded. */
  sessionChoice(model: string, gen: number): SessionChoice | undefined {
    return this.choices.get(`${model}@${gen}`);
  }

  async unload(model: string, gen: number): Promise<void> {
    const key = `${model}@${gen}`;
    this.loaded.delete(key);
    this.choices.delete(key);
    if (this.state !== 'ready') return; // a restarting process reloads only what is still listed
    const inFlight = [...(this.running.get(key) ?? [])];
    if (inFlight.length) {
      // Bounded: a run that never answers must not keep the generation loaded for good.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(inFlight),
        new Promise((r) => (timer = setTimeout(r, UNLOAD_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
    await this.call({ t: 'unload', model, gen });
  }

  async run(model: string, gen: number, inputs: TensorMap): Promise<TensorMap> {
    if (this.state !== 'ready') {
      throw new Unavailable(`model process of "${model}" is ${this.state}; retry shortly`);
    }
    const key = `${model}@${gen}`;
    const call = this.call({ t: 'run', model, gen, inputs });
    let runs = this.running.get(key);
    if (!runs) this.running.set(key, (runs = new Set()));
    runs.add(call);
    try {
      return (await call).outputs ?? {};
    } finally {
      runs.delete(call);
      if (runs.size === 0 && this.running.get(key) === runs) this.running.delete(key);
    }
  }

  async close(): Promise<void> {
    this.setState('closed');
    clearTimeout(this.restartTimer);
    const link = this.link;
    this.failPending('model process is shutting down');
    for (const w of this.readyWaiters.splice(0)) w();
    await link?.stop(2_000);
  }

  private whenReady(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new Unavailable('model process is closed'));
    const waitMs = this.opts.loadWaitMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Unavailable(`model process not ready after ${waitMs} ms`)),
        waitMs,
      );
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        if (this.state === 'ready') resolve();
        else reject(new Unavailable('model process is closed'));
      });
    });
  }

  private setState(state: ProcessState): void {
    if (this.state === 'closed' && state !== 'closed') return;
    this.state = state;
    this.opts.onState?.(state);
    if (state === 'ready') for (const w of this.readyWaiters.splice(0)) w();
  }

  private async spawn(): Promise<void> {
    const link = await this.spawner.take();
    if (this.state === 'closed') {
      // Closed while the start was under way: nobody else will ever stop this worker.
      link.kill();
      throw new Unavailable(`model process for "${this.group}" closed while starting`);
    }
    if (!link.open) {
      throw new Unavailable(`model process for "${this.group}" died before use`);
    }
    this.link = link;
    this.startedAt = Date.now();
    link.onError((err) =>
      this.opts.log.warn({ err, group: this.group, hosting: link.mode }, 'model worker error'),
    );
    link.onMessage((raw, built) => this.onMessage(raw, built));
    link.onExit((how) => this.onExit(link, how));
  }

  /** `built`: made by the link from shared memory in this process, already in shape. */
  private onMessage(raw: unknown, built: boolean): void {
    let msg: FromWorker;
    if (built) msg = raw as FromWorker;
    else {
      const parsed = FromWorker.safeParse(raw);
      if (!parsed.success) {
        this.opts.log.error(
          { group: this.group, issues: parsed.error.issues },
          'bad message from model process',
        );
        return;
      }
      msg = parsed.data;
    }
    if (msg.t === 'hello') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.t === 'ok') p.resolve(msg);
    else p.reject(reviveError(msg.error));
  }

  private call(req: Request): Promise<Extract<FromWorker, { t: 'ok' }>> {
    const link = this.link;
    // A closed channel or a failed write means the process died, and its exit event may not
    // have arrived yet. Say so in the same words as onExit, so clients see one story.
    if (!link?.open) return Promise.reject(this.gone('its channel closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      link.send({ ...req, id }, (err) => {
        if (!err) return;
        this.pending.delete(id);
        reject(this.gone(err.message));
      });
    });
  }

  private gone(why: string): Unavailable {
    return new Unavailable(
      this.state === 'closed'
        ? 'model process is shutting down'
        : `model process of "${this.group}" died (${why}); restarting, retry shortly`,
    );
  }

  private failPending(message: string): void {
    const err = new Unavailable(message);
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }

  private onExit(link: WorkerLink, how: string): void {
    if (link !== this.link || this.state === 'closed') return;
    this.opts.log.error(
      { group: this.group, how, hosting: link.mode },
      'model process died; restarting',
    );
    this.setState('restarting');
    this.failPending(`model process of "${this.group}" died (${how}); restarting, retry shortly`);
    this.opts.onCrash?.(this.group);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const { delayMs, attempt } = nextRestart(
      this.backoff,
      this.attempt,
      Date.now() - this.startedAt,
    );
    this.attempt = attempt;
    this.restartTimer = setTimeout(() => void this.respawn(), delayMs);
  }

  private async respawn(): Promise<void> {
    if (this.state === 'closed') return;
    try {
      await this.spawn();
    } catch (err) {
      this.opts.log.error({ err, group: this.group }, 'model process restart failed');
      this.scheduleRestart();
      return;
    }
    for (const { model, gen, bytes } of [...this.loaded.values()]) {
      try {
        await this.call({ t: 'load', model, gen, bytes, options: this.opts.session });
      } catch (err) {
        // A crash during reload schedules the next attempt through onExit.
        if (!this.link?.open) return;
        this.opts.log.error({ err, group: this.group, model, gen }, 'reload after restart failed');
      }
    }
    this.restarts++;
    this.setState('ready');
    this.opts.log.info(
      { group: this.group, restarts: this.restarts, hosting: this.mode },
      'model process back',
    );
  }
}
