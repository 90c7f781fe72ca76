import type { ImageShape } from '../datasets/rows.js';

/** Where a shard lives: shards of an append version may belong to earlier versions. */
export interface ShardRef {
  dataset: string;
  version: number;
  index: number;
  rows: number;
}

/** Metadata of one committed dataset version (`dataset:{name}:v<n>`, field `meta`). */
export interface DatasetVersionMeta {
  name: string;
  version: number;
  kind: 'tabular' | 'image';
  /** source format, e.g. 'libsvm', 'csv', 'jsonl', 'images' */
  format: string;
  /** features per row (tabular) */
  features?: number;
  featureNames?: string[];
  imageShape?: ImageShape;
  /** total rows over all shards */
  count: number;
  labelKind: 'class' | 'regression';
  labelNames?: string[];
  stats?: unknown;
  split?: { seed: number; validationFraction: number; trainCount: number; validationCount: number };
  /** hex sha256 over all shard bytes, in shard-list order */
  sha256: string;
  /**
   * hex sha256 of the uploaded bytes as received (before any gunzip); uploads only. With the
   * parse options in `source`, it tells a repeated push of the same file.
   */
  uploadSha256?: string;
  /** total encoded shard bytes */
  bytes: number;
  shards: ShardRef[];
  /** base version of an append version */
  parent?: number;
  /** ISO time */
  created: string;
  source?: unknown;
}

/** What a writer's `commit` takes: everything the store cannot work out itself. */
export type CommitMeta = Omit<
  DatasetVersionMeta,
  'name' | 'version' | 'shards' | 'sha256' | 'bytes' | 'created' | 'count' | 'parent'
> & {
  /** checked against the rows written when given */
  count?: number;
};

export interface DatasetSummary {
  name: string;
  latest: number | null;
  versions: number;
  created: string;
}

export interface DatasetInfo {
  name: string;
  latest: number | null;
  created: string;
  /** ascending */
  versions: DatasetVersionMeta[];
}

/** Distinct (version → shard count) owners referenced by a shard list, same dataset only. */
export function shardOwners(meta: Pick<DatasetVersionMeta, 'shards'>): Map<number, number> {
  const owners = new Map<number, number>();
  for (const s of meta.shards) owners.set(s.version, (owners.get(s.version) ?? 0) + 1);
  return owners;
}
