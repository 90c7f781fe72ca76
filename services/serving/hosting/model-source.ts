/**
 * Where serving gets models from. The registry adapter (registry-source.ts) implements this
 * over Redis; InMemoryModelSource serves tests and benchmarks.
 */
import { NotFound, type ServingControl } from '../../../shared/index.js';
import type { SessionChoice } from './protocol.js';

export interface ModelSource {
  /** the production generation, or null when the model has none yet */
  production(name: string): Promise<{ gen: number } | null>;
  /** ONNX bytes of one generation; throws NotFound when it does not exist */
  weights(name: string, gen: number): Promise<Buffer>;
  /** every model name */
  list(): Promise<string[]>;
  /** generations that exist (for metadata and 404 bodies); optional */
  generations?(name: string): Promise<number[]>;
  /**
   * The class names of a classifier generation, index by index (what its class scores
   * mean), or null when it records none; optional.
   */
  labels?(name: string, gen: number): Promise<readonly string[] | null>;
  /** Records the onnxruntime settings a generation was loaded with (the registry keeps it). */
  recordSession?(name: string, gen: number, choice: SessionChoice): Promise<void>;
  /**
   * Throws NotFound, saying why, when the model's version policy does not serve generation
   * `gen` (hosting/version-gate.ts); optional: without it every generation is served.
   */
  checkVersion?(name: string, gen: number): Promise<void>;
  /** the generations an operator loaded through the repository API; optional */
  loadedGenerations?(name: string): Promise<number[]>;
  /** subscribes to promotions; returns the unsubscribe function */
  onPromotion(cb: (name: string, gen: number) => void): () => void;
  /** the models replicas are assigned to serve, `*` for all; absent: serve all */
  assignment?(): Promise<'*' | string[]>;
  /** subscribes to serving control messages; returns the unsubscribe function */
  onControl?(cb: (msg: ServingControl) => void): () => void;
  /** resolves once the subscriptions are live, so nothing announced after it is missed */
  subscribed?(): Promise<void>;
}

/** A ModelSource held in memory. */
export class InMemoryModelSource implements ModelSource {
  private readonly models = new Map<
    string,
    { prod: number | null; gens: Map<number, Buffer>; labels: Map<number, string[]> }
  >();
  private readonly listeners = new Set<(name: string, gen: number) => void>();

  /**
   * Adds generation `gen` of `name`; `production` makes it production without notifying;
   * `labels` are its class names.
   */
  put(
    name: string,
    gen: number,
    bytes: Buffer,
    opts: { production?: boolean; labels?: string[] } = {},
  ): this {
    const m = this.models.get(name) ?? {
      prod: null,
      gens: new Map<number, Buffer>(),
      labels: new Map<number, string[]>(),
    };
    m.gens.set(gen, bytes);
    if (opts.labels) m.labels.set(gen, opts.labels);
    if (opts.production) m.prod = gen;
    this.models.set(name, m);
    return this;
  }

  /** Makes `gen` production and tells subscribers, as a registry promotion would. */
  promote(name: string, gen: number): void {
    const m = this.models.get(name);
    if (!m?.gens.has(gen)) throw new NotFound(`no generation ${gen} of model "${name}"`);
    m.prod = gen;
    for (const l of this.listeners) l(name, gen);
  }

  async production(name: string) {
    const prod = this.models.get(name)?.prod;
    return prod == null ? null : { gen: prod };
  }

  async weights(name: string, gen: number): Promise<Buffer> {
    const bytes = this.models.get(name)?.gens.get(gen);
    if (!bytes) throw new NotFound(`no generation ${gen} of model "${name}"`);
    return bytes;
  }

  async list(): Promise<string[]> {
    return [...this.models.keys()];
  }

  async labels(name: string, gen: number): Promise<readonly string[] | null> {
    return this.models.get(name)?.labels.get(gen) ?? null;
  }

  async generations(name: string): Promise<number[]> {
    return [...(this.models.get(name)?.gens.keys() ?? [])].sort((a, b) => a - b);
  }

  onPromotion(cb: (name: string, gen: number) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}
