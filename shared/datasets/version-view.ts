import type { DatasetInfo, DatasetVersionMeta } from '../store/dataset-meta.js';

/** A version as clients see it: the shard list (internal, long for append chains) as a count. */
export type DatasetVersionView = Omit<DatasetVersionMeta, 'shards'> & { shardCount: number };

export function versionView(meta: DatasetVersionMeta): DatasetVersionView {
  const { shards, ...rest } = meta;
  return { ...rest, shardCount: shards.length };
}

/** A dataset with its versions, without per-version statistics (GET the version for those). */
export function datasetView(info: DatasetInfo) {
  return {
    name: info.name,
    latest: info.latest,
    created: info.created,
    versions: info.versions.map((m) => {
      const { stats: _stats, ...v } = versionView(m);
      return v;
    }),
  };
}
