/**
 * The API's shapes as the dashboard reads them, taken from shared/ type-only (nothing of
 * shared/ enters the bundle). Sessions keep `request` and `placement` opaque in the store;
 * the dashboard names the fields it shows.
 */
import type {
  DatasetStats,
  DatasetVersionView,
  SessionRecord as StoredSession,
} from '../../shared/index.js';

export type {
  ClusterView,
  ColumnStats,
  DatasetStats,
  DatasetSummary,
  Generation,
  ModelInfo,
  ModelServingStats,
  Role,
  ServingStats,
  StoredEvent as LiveEvent,
} from '../../shared/index.js';

/** The store keeps statistics opaque; data-intake writes them in this shape. */
export type DatasetVersion = Omit<DatasetVersionView, 'stats'> & { stats?: DatasetStats };

/** `state` is a string: live updates carry it from events as they come. */
export type SessionRecord = Omit<StoredSession, 'request' | 'placement' | 'state'> & {
  state: string;
  request: {
    model?: string;
    dataset?: string;
    trainer?: string;
    params?: Record<string, unknown>;
  } | null;
  placement?: {
    backend?: string;
    workerId?: string;
    node?: string;
    warm?: boolean;
    pendingReason?: string;
  } | null;
};

/** An `epoch` event's payload as the curves plot it. */
export interface EpochPoint {
  epoch: number;
  epochs: number;
  loss: number;
  trainAccuracy?: number;
  valAccuracy?: number;
  valLoss?: number;
  samplesPerSec?: number;
}
