/**
 * The API's shapes as the dashboard reads them. Those shared/ defines are re-exported from
 * there (type-only, so nothing of shared/ enters the bundle); the rest are JSON renderings of
 * store records, whose dates arrive as strings.
 */
export type {
  ClusterView,
  ColumnStats,
  DatasetStats,
  ModelServingStats,
  Role,
  ServingStats,
} from '../../shared/index.js';
import type { DatasetStats } from '../../shared/index.js';

export interface LiveEvent {
  id: string;
  sessionId?: string;
  kind: string;
  payload: unknown;
  time: string;
}

export interface SessionRecord {
  id: string;
  kind: string;
  state: string;
  request: {
    model?: string;
    dataset?: string;
    trainer?: string;
    params?: Record<string, unknown>;
  } | null;
  placement?: { backend?: string; workerId?: string; node?: string; pendingReason?: string } | null;
  workerId?: string;
  exitCode?: number | null;
  flags: string[];
  reason?: string;
  lastLogs?: string[] | null;
  created: string;
  updated: string;
  started?: string;
  ended?: string;
}

export interface EpochPoint {
  epoch: number;
  epochs: number;
  loss: number;
  trainAccuracy?: number;
  valAccuracy?: number;
  valLoss?: number;
  samplesPerSec?: number;
}

export interface ModelInfo {
  name: string;
  type: string;
  description: string;
  production: number | null;
  created: string;
  generations: number;
}

export interface Generation {
  model: string;
  gen: number;
  status: 'candidate' | 'production' | 'archived' | 'rejected';
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  lineage: { dataset: string; version: number } | null;
  size: number;
  created: string;
  reason?: string;
  trigger?: string;
  sessionId?: string;
}

export interface DatasetSummary {
  name: string;
  latest: number | null;
  versions: number;
  created: string;
}

export interface DatasetVersion {
  name: string;
  version: number;
  kind: string;
  format: string;
  features?: number;
  count: number;
  labelKind: string;
  labelNames?: string[];
  sha256: string;
  bytes: number;
  created: string;
  shardCount: number;
  parent?: number;
  split?: { trainCount: number; validationCount: number };
  stats?: DatasetStats;
}
