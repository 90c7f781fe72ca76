import { createHash, type Hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError, BadInput, Conflict } from '../errors.js';
import type { RowBatch } from '../datasets/rows.js';
import type { Keys } from './keys.js';
import { withRetry } from './lua.js';
import { encodeShard } from './shard-codec.js';
import { emptyBatch } from './shard-reader.js';
import { commitVersionScript } from './dataset-scripts.js';
import {
  shardOwners,
  type CommitMeta,
  type DatasetVersionMeta,
  type ShardRef,
} from './dataset-meta.js';

export interface WriterOptions {
  /** Staging shards expire this long after the last refresh (s). @defaultValue 3600 */
  stagingTtlS: number;
  /** Shard SETs in flight at once. @defaultValue 4 */
  window: number;
}

interface Dims {
  kind: RowBatch['kind'];
  dims: number[];
}

const dimsOf = (b: RowBatch): Dims =>
  b.kind === 'tabular'
    ? { kind: 'tabular', dims: [b.dim] }
    : { kind: 'image', dims: [b.height, b.width, b.channels] };

/**
 * One upload in progress. Shards go to staging keys with a TTL; `commit` moves them to the
 * next version number and writes the metadata in one script. Until then no key of any
 * version exists, so a writer that throws, is aborted or whose process dies leaves no
 * version behind (its staging keys expire by themselves).
 */
export class VersionWriter {
  private readonly staged: Array<{ key: string; rows: number; bytes: number }> = [];
  private readonly pending = new Set<Promise<unknown>>();
  private failure: Error | undefined;
  private dims: Dims | undefined;
  private lastRefresh = Date.now();
  private done = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly name: string,
    readonly uploadId: string,
    private readonly hash: Hash,
    private readonly base: DatasetVersionMeta | null,
    private readonly opts: WriterOptions,
  ) {
    // A base with no recorded shape (say, committed empty) leaves the first new shard to set it.
    const known = base && (base.kind === 'image' ? base.imageShape : base.features !== undefined);
    if (base && known) this.dims = dimsOf(emptyBatch(base));
  }

  /** Rows written by this writer so far (base rows not included). */
  get rows(): number {
    return this.staged.reduce((n, s) => n + s.rows, 0);
  }

  async writeShard(batch: RowBatch): Promise<void> {
    this.checkOpen();
    const d = dimsOf(batch);
    this.dims ??= d;
    if (d.kind !== this.dims.kind || d.dims.join('x') !== this.dims.dims.join('x')) {
      throw new BadInput(
        `shard ${this.staged.length} is ${d.kind} ${d.dims.join('x')}, earlier shards are ${this.dims.kind} ${this.dims.dims.join('x')}`,
      );
    }
    const buf = encodeShard(batch);
    this.hash.update(buf);
    const key = this.keys.datasetStagingShard(this.name, this.uploadId, this.staged.length);
    this.staged.push({ key, rows: batch.rows, bytes: buf.length });
    this.track(this.redis.set(key, buf, 'EX', this.opts.stagingTtlS));
    // A long upload keeps its early shards alive by renewing them all every half TTL.
    if (Date.now() - this.lastRefresh > (this.opts.stagingTtlS * 1000) / 2) {
      this.lastRefresh = Date.now();
      const pipe = this.redis.pipeline();
      for (const s of this.staged) pipe.expire(s.key, this.opts.stagingTtlS);
      this.track(pipe.exec());
    }
    if (this.pending.size >= this.opts.window) await Promise.race(this.pending);
    if (this.failure) throw this.failure;
  }

  /**
   * The sha256 the version would get if committed now (after every write has settled):
   * lets a caller see that its rows are those of an existing version before committing.
   */
  async contentSha256(): Promise<string> {
    this.checkOpen();
    await Promise.all(this.pending);
    if (this.failure) throw this.failure;
    return this.hash.copy().digest('hex');
  }

  async commit(meta: CommitMeta): Promise<DatasetVersionMeta> {
    this.checkOpen();
    await Promise.all(this.pending);
    if (this.failure) throw this.failure;
    const baseShards = this.base?.shards ?? [];
    const rows = baseShards.reduce((n, s) => n + s.rows, 0) + this.rows;
    if (meta.count !== undefined && meta.count !== rows) {
      throw new BadInput(`count ${meta.count} does not match the ${rows} rows written`);
    }
    this.checkMeta(meta);
    this.done = true;
    const sha256 = this.hash.digest('hex');
    const bytes = (this.base?.bytes ?? 0) + this.staged.reduce((n, s) => n + s.bytes, 0);
    const k = this.keys;
    const owners = shardOwners({ shards: baseShards });
    const refKeys = baseShards.map((s) => k.datasetShard(s.dataset, s.version, s.index));
    const created = new Date().toISOString();
    return withRetry(async () => {
      const next = Number((await this.redis.hget(k.dataset(this.name), 'nextVersion')) ?? 0);
      const v = next + 1;
      const shards: ShardRef[] = [
        ...baseShards,
        ...this.staged.map((s, index) => ({ dataset: this.name, version: v, index, rows: s.rows })),
      ];
      const full: DatasetVersionMeta = {
        ...meta,
        name: this.name,
        version: v,
        count: rows,
        sha256,
        bytes,
        shards,
        created,
        ...(this.base ? { parent: this.base.version } : {}),
      };
      const r = await commitVersionScript(
        this.redis,
        [
          k.dataset(this.name),
          k.datasetVersions(this.name),
          k.datasets(),
          k.datasetVersion(this.name, v),
          k.datasetShardHolders(this.name, v),
          ...this.staged.map((s) => s.key),
          ...this.staged.map((_, i) => k.datasetShard(this.name, v, i)),
          ...[...owners.keys()].map((u) => k.datasetShardHolders(this.name, u)),
          ...refKeys,
        ],
        [
          next,
          v,
          this.name,
          JSON.stringify(full),
          created,
          this.staged.length,
          owners.size,
          refKeys.length,
        ],
      );
      if (r === 'retry') return 'retry';
      if (r === 'expired') {
        throw new AppError('INTERNAL', `staged shards of upload ${this.uploadId} expired`);
      }
      if (r === 'basegone') {
        throw new Conflict(`base version ${this.base?.version} of ${this.name} was deleted`);
      }
      return full;
    }, `commit ${this.name}`);
  }

  /** Drops the staged shards. Safe to call after a failed write or commit. */
  async abort(): Promise<void> {
    this.done = true;
    await Promise.allSettled(this.pending);
    if (this.staged.length) await this.redis.del(...this.staged.map((s) => s.key));
  }

  private checkMeta(meta: CommitMeta): void {
    const d = this.dims;
    if (!d) return;
    if (meta.kind !== d.kind) throw new BadInput(`meta kind ${meta.kind} but shards are ${d.kind}`);
    if (d.kind === 'tabular' && meta.features !== undefined && meta.features !== d.dims[0]) {
      throw new BadInput(`meta features ${meta.features} but shards have dim ${d.dims[0]}`);
    }
    const s = meta.imageShape;
    if (d.kind === 'image' && s && [s.height, s.width, s.channels].join('x') !== d.dims.join('x')) {
      throw new BadInput(`meta imageShape disagrees with shards (${d.dims.join('x')})`);
    }
  }

  private track(p: Promise<unknown>): void {
    const q: Promise<unknown> = p
      .catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  private checkOpen(): void {
    if (this.done) throw new Conflict(`upload ${this.uploadId} is already committed or aborted`);
  }
}

export const newHash = (): Hash => createHash('sha256');
