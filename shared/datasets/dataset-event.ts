import type { DatasetVersionMeta } from '../store/dataset-meta.js';
import type { EventLog } from '../store/event-log.js';

/**
 * Payload of the `dataset.version` event archived for every new version; the retraining
 * trigger counts `added` labelled samples against its rules.
 */
export interface DatasetVersionEvent {
  name: string;
  version: number;
  /** rows of the whole version */
  count: number;
  /** rows this version added to its parent (all of them for an upload) */
  added: number;
  /** the version an append built on; null for an upload */
  parent: number | null;
}

export function datasetVersionEvent(meta: DatasetVersionMeta): DatasetVersionEvent {
  const parent = meta.parent ?? null;
  const parentRows =
    parent === null
      ? 0
      : meta.shards.filter((s) => s.version !== meta.version).reduce((n, s) => n + s.rows, 0);
  return {
    name: meta.name,
    version: meta.version,
    count: meta.count,
    added: meta.count - parentRows,
    parent,
  };
}

/** Archives the event; answers its stream id. */
export function archiveDatasetVersion(events: EventLog, meta: DatasetVersionMeta): Promise<string> {
  return events.append({ kind: 'dataset.version', payload: datasetVersionEvent(meta) });
}
