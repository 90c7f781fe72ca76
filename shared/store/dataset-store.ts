import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Conflict, NotFound } from '../errors.js';
import type { RowBatch } from '../datasets/rows.js';
import type { Keys } from './keys.js';
import { checkName } from './names.js';
import { datasetReferences } from './lineage-index.js';
import { deleteVersionScript } from './dataset-scripts.js';
import {
  shardOwners,
  type DatasetInfo,
  type DatasetSummary,
  type DatasetVersionMeta,
} from './dataset-meta.js';
import { newHash, VersionWriter } from './dataset-writer.js';
import { readRows, readShards, type ReadRange } from './shard-reader.js';

export interface DatasetStoreOptions {
  /** TTL of staged shards of an unfinished upload (s). @defaultValue 3600 */
  stagingTtlS?: number;
  /** Shard writes in flight per writer. @defaultValue 4 */
  writeWindow?: number;
  /** Shard reads in flight per reader. @defaultValue 3 */
  readAhead?: number;
}

/**
 * Named datasets with numbered, immutable versions of binary shards (shard-codec.ts).
 * Version numbers are taken at commit, so failed uploads leave no gaps; numbers of deleted
 * versions are never reused. An append version lists its base's shards without copying
 * them; a shard is deleted only when no version lists it any more.
 */
export class DatasetStore {
  private readonly stagingTtlS: number;
  private readonly writeWindow: number;
  private readonly readAhead: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    opts: DatasetStoreOptions = {},
  ) {
    this.stagingTtlS = opts.stagingTtlS ?? 3600;
    this.writeWindow = opts.writeWindow ?? 4;
    this.readAhead = opts.readAhead ?? 3;
  }

  /** Starts an upload of a new version holding only the shards written to it. */
  beginVersion(name: string, opts: { uploadId?: string } = {}): VersionWriter {
    checkName(name, 'dataset');
    return this.writer(name, opts.uploadId, newHash(), null);
  }

  /**
   * Starts an upload of a version whose shards are `baseVersion`'s followed by the new ones.
   * Reads the base once to carry its bytes into the new version's sha256.
   */
  async appendVersion(
    name: string,
    baseVersion: number,
    opts: { uploadId?: string } = {},
  ): Promise<VersionWriter> {
    const base = await this.getVersion(name, baseVersion);
    const hash = newHash();
    for (const s of base.shards) {
      const buf = await this.redis.getBuffer(this.keys.datasetShard(s.dataset, s.version, s.index));
      if (!buf) throw new Conflict(`shard ${s.index} of ${name}@v${s.version} is gone`);
      hash.update(buf);
    }
    return this.writer(name, opts.uploadId, hash, base);
  }

  async listDatasets(): Promise<DatasetSummary[]> {
    const names = (await this.redis.smembers(this.keys.datasets())).sort();
    const pipe = this.redis.pipeline();
    for (const n of names) pipe.hgetall(this.keys.dataset(n)).zcard(this.keys.datasetVersions(n));
    const res = (await pipe.exec()) ?? [];
    return names.map((name, i) => {
      const h = (res[2 * i]?.[1] ?? {}) as Record<string, string>;
      return {
        name,
        latest: h.latest ? Number(h.latest) : null,
        versions: res[2 * i + 1]?.[1] as number,
        created: h.created ?? '',
      };
    });
  }

  async getDataset(name: string): Promise<DatasetInfo> {
    const h = await this.redis.hgetall(this.keys.dataset(name));
    if (!h.created) throw new NotFound(`dataset ${name} not found`, { name });
    const versions = await this.redis.zrange(this.keys.datasetVersions(name), 0, '-1');
    const pipe = this.redis.pipeline();
    for (const v of versions) pipe.hget(this.keys.datasetVersion(name, Number(v)), 'meta');
    const metas = ((await pipe.exec()) ?? [])
      .map((r) => r[1] as string | null)
      .filter((m): m is string => !!m)
      .map((m) => JSON.parse(m) as DatasetVersionMeta);
    return {
      name,
      latest: h.latest ? Number(h.latest) : null,
      created: h.created,
      versions: metas,
    };
  }

  /** The latest version of `name`, or null when the dataset does not exist or has none. */
  async latestVersion(name: string): Promise<DatasetVersionMeta | null> {
    const latest = await this.redis.hget(this.keys.dataset(name), 'latest');
    if (!latest) return null;
    const raw = await this.redis.hget(this.keys.datasetVersion(name, Number(latest)), 'meta');
    return raw ? (JSON.parse(raw) as DatasetVersionMeta) : null;
  }

  async getVersion(name: string, version: number): Promise<DatasetVersionMeta> {
    const raw = await this.redis.hget(this.keys.datasetVersion(name, version), 'meta');
    if (raw) return JSON.parse(raw) as DatasetVersionMeta;
    const known = (await this.redis.zrange(this.keys.datasetVersions(name), 0, '-1')).map(Number);
    throw new NotFound(`dataset ${name}@v${version} not found`, { name, version, known });
  }

  /**
   * Deletes a version. Refused (Conflict) while a model generation's lineage points at it,
   * unless forced. Shards still listed by later append versions stay until those go too.
   */
  async deleteVersion(
    name: string,
    version: number,
    opts: { force?: boolean } = {},
  ): Promise<void> {
    const meta = await this.getVersion(name, version);
    const refs = await datasetReferences(this.redis, this.keys, name, version);
    if (refs.length > 0 && !opts.force) {
      throw new Conflict(
        `${name}@v${version} is the lineage of ${refs.length} model generation(s); delete with force`,
        { name, version, references: refs },
      );
    }
    const k = this.keys;
    const owners = [...shardOwners(meta)];
    await deleteVersionScript(
      this.redis,
      [
        k.dataset(name),
        k.datasetVersions(name),
        k.datasetVersion(name, version),
        k.datasetVersionModels(name, version),
        ...owners.map(([u]) => k.datasetShardHolders(name, u)),
        ...owners.flatMap(([u, n]) =>
          Array.from({ length: n }, (_, i) => k.datasetShard(name, u, i)),
        ),
      ],
      [version, owners.length, ...owners.map(([, n]) => n)],
    );
  }

  /** Shards of a version in order, streamed with read-ahead. */
  async *readShards(
    name: string,
    version: number,
    range: ReadRange = {},
  ): AsyncGenerator<RowBatch> {
    const meta = await this.getVersion(name, version);
    yield* readShards(this.redis, this.keys, meta, range, this.readAhead);
  }

  /** Rows [start, start+count) as one batch, for external trainers over HTTP. */
  async readRows(name: string, version: number, start: number, count: number): Promise<RowBatch> {
    return readRows(this.redis, this.keys, await this.getVersion(name, version), start, count);
  }

  private writer(
    name: string,
    uploadId: string | undefined,
    hash: ReturnType<typeof newHash>,
    base: DatasetVersionMeta | null,
  ): VersionWriter {
    return new VersionWriter(this.redis, this.keys, name, uploadId ?? randomUUID(), hash, base, {
      stagingTtlS: this.stagingTtlS,
      window: this.writeWindow,
    });
  }
}
