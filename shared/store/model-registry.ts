import type { Redis } from 'ioredis';
import { AppError, BadInput, Conflict, NotFound } from '../errors.js';
import type { EvaluationRecord } from '../protocol/evaluation.js';
import type { Keys } from './keys.js';
import { hashCompareAndSet, withRetry } from './lua.js';
import { checkName, parseJson } from './names.js';
import { datasetReferences, lineageMember } from './lineage-index.js';
import {
  commitGenerationScript,
  deleteGenerationScript,
  deleteModelScript,
  ensureModelScript,
  promoteScript,
  setStatusScript,
} from './model-scripts.js';
import {
  generationFields,
  generationFromHash,
  layoutFromHash,
  modelInfoFromHash,
  type Generation,
  type Lineage,
  type ModelEvent,
  type ModelInfo,
} from './generation.js';
import { DEFAULT_CHUNK_SIZE, chunkKeyList, readChunks, writeChunks } from './weights-blob.js';

export interface ModelRegistryOptions {
  /** Weights are cut into chunks of this many bytes. @defaultValue 4 MiB */
  chunkSize?: number;
  /** TTL of chunks not yet committed, so a crashed upload cleans itself up (s). @defaultValue 3600 */
  pendingTtlS?: number;
}

export interface NewGeneration {
  /** Needed only when the model does not exist yet; must match its type otherwise. */
  type?: string;
  weights: Buffer;
  metrics?: Record<string, number>;
  params?: Record<string, unknown>;
  lineage?: Lineage | null;
  io?: unknown;
  trigger?: string;
  sessionId?: string;
  /** facts beside the metrics, e.g. the trainer's missing-value fills (`extra.imputation`) */
  extra?: Record<string, unknown>;
  /**
   * The generation this one grew from (warm-started from it).
   * @defaultValue the production generation when it is registered (what it is compared with)
   */
  parent?: number;
}

export interface GenerationPatch {
  /** merged into the stored metrics */
  metrics?: Record<string, number>;
  /** merged into the stored extra */
  extra?: Record<string, unknown>;
  /** replaces the stored io */
  io?: unknown;
}

/**
 * Models and their numbered generations (weights as chunked binary), with atomic promotion.
 * Status changes are published on `keys.modelEventsChannel()` as {@link ModelEvent} JSON.
 */
export class ModelRegistry {
  private readonly chunkSize: number;
  private readonly pendingTtlS: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    opts: ModelRegistryOptions = {},
  ) {
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.pendingTtlS = opts.pendingTtlS ?? 3600;
  }

  /** Creates the model if missing; Conflict if the name exists with another type. */
  async ensureModel(
    name: string,
    opts: { type: string; description?: string },
  ): Promise<ModelInfo> {
    checkName(name, 'model');
    if (!opts.type) throw new BadInput('a model type is required', { name });
    const k = this.keys;
    const type = (await ensureModelScript(
      this.redis,
      [k.model(name), k.models(), k.modelsByType(opts.type)],
      [opts.type, opts.description ?? '', new Date().toISOString(), name],
    )) as string;
    if (type !== opts.type) {
      throw new Conflict(`model ${name} exists with type ${type}; names are unique across types`, {
        name,
        type,
      });
    }
    return this.getModel(name);
  }

  async getModel(name: string): Promise<ModelInfo> {
    const [h, count] = await Promise.all([
      this.redis.hgetall(this.keys.model(name)),
      this.redis.zcard(this.keys.modelGens(name)),
    ]);
    if (!h.type) throw new NotFound(`model ${name} not found`, { name });
    return modelInfoFromHash(name, h, count);
  }

  /** All models (of one type if given), sorted by name. */
  async listModels(type?: string): Promise<ModelInfo[]> {
    const k = this.keys;
    const names = (await this.redis.smembers(type ? k.modelsByType(type) : k.models())).sort();
    const pipe = this.redis.pipeline();
    for (const n of names) pipe.hgetall(k.model(n)).zcard(k.modelGens(n));
    const res = (await pipe.exec()) ?? [];
    const out: ModelInfo[] = [];
    names.forEach((n, i) => {
      const h = res[2 * i]?.[1] as Record<string, string> | undefined;
      // A model deleted between SMEMBERS and HGETALL is simply not listed.
      if (h?.type) out.push(modelInfoFromHash(n, h, res[2 * i + 1]?.[1] as number));
    });
    return out;
  }

  /**
   * Stores weights and adds generation n+1 as a candidate. The number is taken first
   * (HINCRBY), so an upload that fails leaves a gap in the numbering, never a half-written
   * generation: chunks carry a TTL until the commit script persists them and writes the hash.
   */
  async addGeneration(name: string, input: NewGeneration): Promise<Generation> {
    checkName(name, 'model');
    if (input.type) await this.ensureModel(name, { type: input.type });
    else await this.getModel(name);
    const k = this.keys;
    const gen = await this.redis.hincrby(k.model(name), 'nextGen', 1);
    const keyOf = (i: number) => k.modelGenBlob(name, gen, i);
    const layout = await writeChunks(this.redis, keyOf, input.weights, {
      chunkSize: this.chunkSize,
      ttlS: this.pendingTtlS,
    });
    const g: Generation = {
      model: name,
      gen,
      status: 'candidate',
      metrics: input.metrics ?? {},
      params: input.params ?? {},
      lineage: input.lineage ?? null,
      sha256: layout.sha256,
      size: layout.size,
      created: new Date().toISOString(),
      ...(input.io === undefined ? {} : { io: input.io }),
      ...(input.trigger === undefined ? {} : { trigger: input.trigger }),
      ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }),
      ...(input.extra === undefined ? {} : { extra: input.extra }),
      ...(input.parent === undefined ? {} : { parent: input.parent }),
    };
    const lineageKey = g.lineage
      ? k.datasetVersionModels(g.lineage.dataset, g.lineage.version)
      : k.modelGen(name, gen);
    const event: ModelEvent = { model: name, gen, status: 'candidate' };
    const [r, parent] = (await commitGenerationScript(
      this.redis,
      [
        k.model(name),
        k.modelGens(name),
        k.modelGen(name, gen),
        lineageKey,
        ...chunkKeyList(keyOf, layout.chunks),
      ],
      [
        gen,
        g.lineage ? lineageMember(name, gen) : '',
        k.modelEventsChannel(),
        JSON.stringify(event),
        ...generationFields(g, layout),
      ],
    )) as [string, string];
    if (r === 'nomodel')
      throw new NotFound(`model ${name} was deleted during the upload`, { name });
    if (r === 'missing') {
      throw new AppError('INTERNAL', `weights chunks of ${name}/${gen} expired before commit`);
    }
    return parent ? { ...g, parent: Number(parent) } : g;
  }

  /** Generations in ascending order. */
  async listGenerations(name: string): Promise<Generation[]> {
    await this.getModel(name);
    const gens = await this.redis.zrange(this.keys.modelGens(name), 0, '-1');
    const pipe = this.redis.pipeline();
    for (const g of gens) pipe.hgetall(this.keys.modelGen(name, Number(g)));
    const res = (await pipe.exec()) ?? [];
    return res
      .map((r) => r[1] as Record<string, string>)
      .filter((h) => h.status)
      .map(generationFromHash);
  }

  async getGeneration(name: string, gen: number): Promise<Generation> {
    return generationFromHash(await this.genHash(name, gen));
  }

  /** The generation's weights, checked against their stored sha256. */
  async getWeights(name: string, gen: number): Promise<Buffer> {
    const h = await this.genHash(name, gen);
    const keyOf = (i: number) => this.keys.modelGenBlob(name, gen, i);
    return readChunks(this.redis, keyOf, layoutFromHash(h), `${name}/${gen}`);
  }

  async getProduction(name: string): Promise<Generation | null> {
    const m = await this.getModel(name);
    if (m.production === null) return null;
    const h = await this.redis.hgetall(this.keys.modelGen(name, m.production));
    return h.status ? generationFromHash(h) : null;
  }

  /**
   * Makes `gen` production and the previous production archived, in one script; concurrent
   * promotions serialise (the loser re-reads and retries). Promoting the current production
   * is a no-op answering `{previous: null}`.
   */
  async promote(
    name: string,
    gen: number,
    opts: { force?: boolean } = {},
  ): Promise<{ previous: number | null }> {
    const k = this.keys;
    return withRetry(async () => {
      const cur = await this.redis.hget(k.model(name), 'production');
      if (cur === null) throw new NotFound(`model ${name} not found`, { name });
      const prevKey = cur ? k.modelGen(name, Number(cur)) : k.modelGen(name, gen);
      const [outcome, prev] = (await promoteScript(
        this.redis,
        [k.model(name), k.modelGen(name, gen), prevKey],
        [gen, cur, opts.force ? '1' : '0', k.modelEventsChannel(), name, new Date().toISOString()],
      )) as [string, string];
      switch (outcome) {
        case 'ok':
          return { previous: prev ? Number(prev) : null };
        case 'same':
          return { previous: null };
        case 'retry':
          return 'retry';
        case 'nomodel':
          throw new NotFound(`model ${name} not found`, { name });
        case 'nogen':
          return this.throwNoGeneration(name, gen);
        default:
          throw new Conflict(`${name}/${gen} was rejected; promote with force to override`, {
            name,
            gen,
          });
      }
    }, `promote ${name}/${gen}`);
  }

  async reject(name: string, gen: number, reason: string): Promise<void> {
    await this.setStatus(name, gen, 'rejected', reason);
  }

  /** Archiving the production generation leaves the model without one. */
  async archive(name: string, gen: number, reason?: string): Promise<void> {
    await this.setStatus(name, gen, 'archived', reason ?? '');
  }

  /** Merges metrics and extra, replaces io; atomic against concurrent patches. */
  async updateGeneration(name: string, gen: number, patch: GenerationPatch): Promise<Generation> {
    const key = this.keys.modelGen(name, gen);
    await withRetry(async () => {
      const [metrics, extra] = await this.redis.hmget(key, 'metrics', 'extra');
      if (metrics == null) return this.throwNoGeneration(name, gen);
      const set: string[] = [];
      if (patch.metrics) {
        set.push('metrics', JSON.stringify({ ...parseJson(metrics, {}), ...patch.metrics }));
      }
      if (patch.extra) {
        set.push('extra', JSON.stringify({ ...parseJson(extra, {}), ...patch.extra }));
      }
      if (patch.io !== undefined) set.push('io', JSON.stringify(patch.io));
      const r = await hashCompareAndSet(
        this.redis,
        [key],
        [2, 'metrics', metrics, 'extra', extra ?? '', ...set],
      );
      if (r === -1) return this.throwNoGeneration(name, gen);
      return r === 1 ? true : 'retry';
    }, `update ${name}/${gen}`);
    return this.getGeneration(name, gen);
  }

  /**
   * Stores what the platform measured on the generation (its `evaluation`), replacing an
   * earlier record; NotFound when the generation is gone (a deleted one is not revived).
   */
  async recordEvaluation(name: string, gen: number, evaluation: EvaluationRecord): Promise<void> {
    const r = await hashCompareAndSet(
      this.redis,
      [this.keys.modelGen(name, gen)],
      [0, 'evaluation', JSON.stringify(evaluation)],
    );
    if (r === -1) await this.throwNoGeneration(name, gen);
  }

  /** Removes a generation and its weights; Conflict for the production generation. */
  async deleteGeneration(name: string, gen: number): Promise<void> {
    const k = this.keys;
    const h = await this.genHash(name, gen);
    const g = generationFromHash(h);
    const keyOf = (i: number) => k.modelGenBlob(name, gen, i);
    const r = await deleteGenerationScript(
      this.redis,
      [
        k.modelGens(name),
        k.modelGen(name, gen),
        g.lineage
          ? k.datasetVersionModels(g.lineage.dataset, g.lineage.version)
          : k.modelGen(name, gen),
        ...chunkKeyList(keyOf, layoutFromHash(h).chunks),
      ],
      [gen, g.lineage ? lineageMember(name, gen) : ''],
    );
    if (r === 'nogen') return this.throwNoGeneration(name, gen);
    if (r === 'production') {
      throw new Conflict(`${name}/${gen} is in production; promote another generation first`, {
        name,
        gen,
      });
    }
  }

  /** Removes the model and all its generations; refused while it has production unless forced. */
  async deleteModel(name: string, opts: { force?: boolean } = {}): Promise<void> {
    const k = this.keys;
    await withRetry(async () => {
      const info = await this.getModel(name);
      const gens = await this.listGenerations(name);
      const del: string[] = [];
      const lineageKeys: string[] = [];
      const members: string[] = [];
      for (const g of gens) {
        del.push(k.modelGen(name, g.gen));
        // Chunk count read from the stored layout: chunk size may differ between generations.
        const h = await this.redis.hmget(k.modelGen(name, g.gen), 'chunks');
        del.push(...chunkKeyList((i) => k.modelGenBlob(name, g.gen, i), Number(h[0] ?? 0)));
        if (g.lineage) {
          lineageKeys.push(k.datasetVersionModels(g.lineage.dataset, g.lineage.version));
          members.push(lineageMember(name, g.gen));
        }
      }
      const r = await deleteModelScript(
        this.redis,
        [
          k.model(name),
          k.modelGens(name),
          k.models(),
          k.modelsByType(info.type),
          ...del,
          ...lineageKeys,
        ],
        [opts.force ? '1' : '0', name, gens.length, del.length, k.modelEventsChannel(), ...members],
      );
      if (r === 'nomodel') throw new NotFound(`model ${name} not found`, { name });
      if (r === 'production') {
        throw new Conflict(`model ${name} has a production generation; delete with force`, {
          name,
          production: info.production,
        });
      }
      return r === 'ok' ? true : 'retry';
    }, `delete model ${name}`);
  }

  /** Generations trained on dataset@version (lineage). */
  async datasetReferences(
    dataset: string,
    version: number,
  ): Promise<Array<{ model: string; gen: number }>> {
    return datasetReferences(this.redis, this.keys, dataset, version);
  }

  private async setStatus(
    name: string,
    gen: number,
    status: 'rejected' | 'archived',
    reason: string,
  ): Promise<void> {
    const k = this.keys;
    const r = await setStatusScript(
      this.redis,
      [k.model(name), k.modelGen(name, gen)],
      [gen, status, reason, k.modelEventsChannel(), name],
    );
    if (r === 'nogen') return this.throwNoGeneration(name, gen);
    if (r === 'production') {
      throw new Conflict(`${name}/${gen} is in production and cannot be ${status}`, { name, gen });
    }
  }

  private async genHash(name: string, gen: number): Promise<Record<string, string>> {
    const h = await this.redis.hgetall(this.keys.modelGen(name, gen));
    if (!h.status) return this.throwNoGeneration(name, gen);
    return h;
  }

  private async throwNoGeneration(name: string, gen: number): Promise<never> {
    const known = (await this.redis.zrange(this.keys.modelGens(name), 0, '-1')).map(Number);
    if (known.length === 0 && !(await this.redis.exists(this.keys.model(name)))) {
      throw new NotFound(`model ${name} not found`, { name });
    }
    throw new NotFound(`generation ${gen} of model ${name} not found`, { name, gen, known });
  }
}
