/**
 * One model: its production generation, pinned generations (LRU-bounded) and hot swap.
 * A promotion loads generation N beside N-1 in the model's process, switches atomically,
 * then drains N-1's queue before unloading it. Each request is bound to one generation's
 * batcher when it arrives, so its answer comes wholly from that generation.
 */
import { NotFound, Unavailable, type Logger } from '../../../shared/index.js';
import { DynamicBatcher, type RunStats } from './dynamic-batcher.js';
import { checkInputs } from './input-check.js';
import type { ModelSource } from './model-source.js';
import type { ModelIO } from './protocol.js';
import type { Description, InferResult, Servable } from './servable.js';
import type { ModelProcess } from './supervisor.js';
import type { TensorMap } from '../tensors/tensors.js';

export interface BatchSettings {
  /** @defaultValue 64 (rows) */
  maxBatch: number;
  /** @defaultValue 0 (ms) */
  maxDelayMs: number;
  /** batches in flight at once per generation @defaultValue 1 */
  maxInflight?: number;
}

export interface ModelHostOptions {
  name: string;
  source: ModelSource;
  proc: ModelProcess;
  batch: BatchSettings;
  /** generations kept loaded for explicit version requests @defaultValue 2 */
  pinnedMax: number;
  log: Logger;
  onBatch?: (model: string, rows: number) => void;
  /** each successful model run of a generation, timed (model statistics) */
  onRun?: (model: string, gen: number, run: RunStats) => void;
  /** sees every request's inputs once they passed the checks (drift monitoring) */
  onInputs?: (model: string, gen: number, inputs: TensorMap) => void;
}

export type HostState = 'loading' | 'ready' | 'restarting' | 'unavailable';

interface Slot {
  gen: number;
  io: ModelIO;
  labels: readonly string[] | undefined;
  batcher: DynamicBatcher;
  batching: boolean;
  retired: boolean;
}

export class ModelHost implements Servable {
  private current: Slot | undefined;
  private readonly slots = new Map<number, Slot>();
  private readonly loading = new Map<number, Promise<Slot>>();
  /** explicitly requested generations, most recent last */
  private pinned: number[] = [];
  /** generations kept loaded beside production, by owner (a rollout, version labels) */
  private readonly held = new Map<string, number[]>();
  private swaps: Promise<void> = Promise.resolve();
  private started = false;
  private lastError: string | undefined;
  private drained = false;

  constructor(private readonly opts: ModelHostOptions) {}

  get name(): string {
    return this.opts.name;
  }

  get state(): HostState {
    if (this.opts.proc.state === 'restarting') return 'restarting';
    if (this.current) return 'ready';
    return this.started ? 'unavailable' : 'loading';
  }

  get gen(): number | undefined {
    return this.current?.gen;
  }

  /** queued requests over all loaded generations (metrics) */
  get queueDepth(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.batcher.depth;
    return n;
  }

  /** Loads the production generation, if there is one. */
  async start(): Promise<void> {
    try {
      const prod = await this.opts.source.production(this.name);
      if (prod) await this.promote(prod.gen);
    } finally {
      this.started = true;
    }
  }

  /** Makes `gen` the generation that unversioned requests get. Promotions run one at a time. */
  promote(gen: number): Promise<void> {
    const next = this.swaps.then(() => this.swap(gen));
    this.swaps = next.catch((err: unknown) => {
      this.lastError = (err as Error).message;
      this.opts.log.error(
        { err, model: this.name, gen },
        'promotion failed; keeping the current generation',
      );
    });
    return next;
  }

  ready(version?: number): boolean {
    if (this.opts.proc.state !== 'ready') return false;
    return version === undefined ? this.current !== undefined : this.slots.has(version);
  }

  async describe(version?: number): Promise<Description> {
    const slot = version === undefined ? this.currentOrThrow() : await this.slotFor(version);
    return {
      gen: slot.gen,
      io: slot.io,
      versions: await this.versions(),
      maxBatch: slot.batching ? this.opts.batch.maxBatch : 0,
      maxDelayMs: this.opts.batch.maxDelayMs,
      platform: 'onnxruntime_onnx',
      ...(slot.labels ? { labels: slot.labels } : {}),
    };
  }

  async signature(version?: number): Promise<ModelIO> {
    return (version === undefined ? this.currentOrThrow() : await this.slotFor(version)).io;
  }

  loadedVersions(): number[] {
    return [...this.slots.keys()].sort((a, b) => a - b);
  }

  async infer(inputs: TensorMap, version?: number): Promise<InferResult> {
    for (;;) {
      const slot = version === undefined ? this.currentOrThrow() : await this.slotFor(version);
      // An eviction may retire a freshly loaded slot before this continuation runs.
      if (slot.retired) continue;
      checkInputs(this.name, slot.io, inputs);
      this.opts.onInputs?.(this.name, slot.gen, inputs);
      const outputs = await slot.batcher.submit(inputs);
      return { gen: slot.gen, outputs, ...(slot.labels ? { labels: slot.labels } : {}) };
    }
  }

  async versions(): Promise<number[]> {
    const known = new Set<number>(this.slots.keys());
    for (const g of (await this.opts.source.generations?.(this.name)) ?? []) known.add(g);
    return [...known].sort((a, b) => a - b);
  }

  /**
   * Keeps `gens` loaded for `owner`, replacing what it held before (an empty list lets go),
   * and loads them now. Resolves once loaded; a failed load is logged, and retried on the
   * next call or request.
   */
  async hold(owner: string, gens: number[]): Promise<void> {
    const before = this.held.get(owner) ?? [];
    if (gens.length > 0) this.held.set(owner, gens);
    else this.held.delete(owner);
    for (const g of before) {
      const slot = this.slots.get(g);
      if (slot) this.retireIfUnused(slot);
    }
    if (this.drained) return;
    await Promise.all(
      gens.map((g) =>
        (this.slots.has(g) ? Promise.resolve() : this.load(g).then(() => undefined)).catch(
          (err: unknown) =>
            this.opts.log.warn(
              { err, model: this.name, gen: g, owner },
              'held generation not loaded',
            ),
        ),
      ),
    );
  }

  /**
   * Loads a loaded generation's weights again (they changed: an optimised form was accepted).
   * The model process swaps the session in place, so requests keep flowing.
   */
  async refresh(gen: number): Promise<boolean> {
    const slot = this.slots.get(gen);
    if (!slot || slot.retired) return false;
    const bytes = await this.opts.source.weights(this.name, gen);
    await this.opts.proc.load(this.name, gen, bytes);
    this.opts.log.info({ model: this.name, gen, bytes: bytes.length }, 'generation reloaded');
    return true;
  }

  /**
   * Loads the generations an operator loaded and lets go of the pinned ones the version
   * policy no longer serves (after an operator's load or unload). Failures are logged.
   */
  async revisitVersions(): Promise<void> {
    const check = this.opts.source.checkVersion?.bind(this.opts.source);
    if (!check || this.drained) return;
    for (const gen of [...this.pinned]) {
      const refused = await check(this.name, gen).then(
        () => false,
        () => true,
      );
      if (!refused) continue;
      this.pinned = this.pinned.filter((g) => g !== gen);
      const slot = this.slots.get(gen);
      if (slot) this.retireIfUnused(slot);
    }
    for (const gen of (await this.opts.source.loadedGenerations?.(this.name)) ?? []) {
      await this.slotFor(gen).catch((err: unknown) =>
        this.opts.log.warn({ err, model: this.name, gen }, 'loaded generation not loadable'),
      );
    }
  }

  /** Why generation `gen` is not served now (the version policy's 404), or null when it is. */
  async refusal(gen: number): Promise<string | null> {
    try {
      await this.opts.source.checkVersion?.(this.name, gen);
      return null;
    } catch (err) {
      if (err instanceof NotFound) return err.message;
      throw err;
    }
  }

  /** Stops taking requests, lets queued ones finish, then unloads every generation. */
  async drain(): Promise<void> {
    this.drained = true;
    await this.swaps;
    const slots = [...this.slots.values()];
    this.slots.clear();
    this.current = undefined;
    this.pinned = [];
    for (const s of slots) s.retired = true;
    await Promise.all(slots.map((s) => s.batcher.idle()));
    await Promise.all(
      slots.map((s) =>
        this.opts.proc
          .unload(this.name, s.gen)
          .catch((err: unknown) =>
            this.opts.log.warn({ err, model: this.name, gen: s.gen }, 'unload failed'),
          ),
      ),
    );
  }

  async close(): Promise<void> {
    const err = new Unavailable(`model "${this.name}" is shutting down`);
    for (const s of this.slots.values()) s.batcher.close(err);
    this.slots.clear();
    this.current = undefined;
  }

  private currentOrThrow(): Slot {
    if (this.current) return this.current;
    const why = this.started
      ? this.lastError
        ? `its last load failed: ${this.lastError}`
        : 'it has no production generation'
      : 'it is loading';
    throw new Unavailable(`model "${this.name}" is not ready: ${why}`);
  }

  private async swap(gen: number): Promise<void> {
    if (this.current?.gen === gen || this.drained) return;
    const slot = this.slots.get(gen) ?? (await this.load(gen));
    const old = this.current;
    this.current = slot;
    this.lastError = undefined;
    this.opts.log.info({ model: this.name, gen, previous: old?.gen }, 'generation live');
    if (old) this.retireIfUnused(old);
  }

  private async slotFor(gen: number): Promise<Slot> {
    // production is always served; any other generation only as the version policy says
    if (gen !== this.current?.gen) await this.opts.source.checkVersion?.(this.name, gen);
    const loaded = this.slots.get(gen);
    if (loaded && gen !== this.current?.gen) this.pin(gen);
    if (loaded) return loaded;
    const slot = await this.load(gen);
    if (gen !== this.current?.gen) this.pin(gen);
    return slot;
  }

  private pin(gen: number): void {
    this.pinned = [...this.pinned.filter((g) => g !== gen), gen];
    while (this.pinned.length > this.opts.pinnedMax) {
      const evicted = this.pinned.shift()!;
      const slot = this.slots.get(evicted);
      if (slot) this.retireIfUnused(slot);
    }
  }

  private load(gen: number): Promise<Slot> {
    let p = this.loading.get(gen);
    if (!p) {
      p = this.doLoad(gen).finally(() => this.loading.delete(gen));
      this.loading.set(gen, p);
    }
    return p;
  }

  private async doLoad(gen: number): Promise<Slot> {
    let bytes: Buffer;
    try {
      bytes = await this.opts.source.weights(this.name, gen);
    } catch (err) {
      if (err instanceof NotFound) {
        const known = await this.versions();
        throw new NotFound(
          `model "${this.name}" has no version ${gen}; known versions: ${known.join(', ') || 'none'}`,
        );
      }
      throw err;
    }
    const io = await this.opts.proc.load(this.name, gen, bytes);
    this.recordSession(gen);
    // Class names only label answers: a generation whose record cannot be read serves without.
    const labels = await this.opts.source.labels?.(this.name, gen).catch((err: unknown) => {
      this.opts.log.warn({ err, model: this.name, gen }, 'class names not readable');
      return null;
    });
    const batching =
      io.inputs.length > 0 &&
      io.inputs.every((s) => s.shape[0] === -1) &&
      io.outputs.every((s) => s.shape[0] === -1);
    const batcher = new DynamicBatcher((inputs) => this.opts.proc.run(this.name, gen, inputs), {
      maxBatch: this.opts.batch.maxBatch,
      maxDelayMs: this.opts.batch.maxDelayMs,
      maxInflight: this.opts.batch.maxInflight,
      batching,
      onBatch: (rows) => this.opts.onBatch?.(this.name, rows),
      onRun: (run) => this.opts.onRun?.(this.name, gen, run),
    });
    const slot: Slot = { gen, io, labels: labels ?? undefined, batcher, batching, retired: false };
    this.slots.set(gen, slot);
    return slot;
  }

  /** Logs and records the onnxruntime settings `gen` got; a failed write only loses the note. */
  private recordSession(gen: number): void {
    const choice = this.opts.proc.sessionChoice?.(this.name, gen);
    if (!choice) return;
    this.opts.log.info({ model: this.name, gen, session: choice }, 'session settings');
    void this.opts.source
      .recordSession?.(this.name, gen, choice)
      .catch((err: unknown) =>
        this.opts.log.warn({ err, model: this.name, gen }, 'session settings not recorded'),
      );
  }

  /** Unloads a generation that is neither production nor pinned, once its queue drains. */
  private retireIfUnused(slot: Slot): void {
    if (slot === this.current || this.pinned.includes(slot.gen) || slot.retired) return;
    for (const gens of this.held.values()) if (gens.includes(slot.gen)) return;
    slot.retired = true;
    this.slots.delete(slot.gen);
    void slot.batcher
      .idle()
      .then(() => this.opts.proc.unload(this.name, slot.gen))
      .then(() => this.opts.log.info({ model: this.name, gen: slot.gen }, 'generation unloaded'))
      .catch((err: unknown) =>
        this.opts.log.warn({ err, model: this.name, gen: slot.gen }, 'unload failed'),
      );
  }
}
