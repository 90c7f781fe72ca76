/** The API's shapes as the dashboard reads them (see the gateway's routes for the source). */

export type Role = 'viewer' | 'client' | 'operator' | 'admin';

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

export interface ModelServingStats {
  model: string;
  requests: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  meanLatencyMs: number | null;
  batchAvg: number | null;
  restarts: number;
  queueDepth: number;
  drift: number | null;
}

export interface ServingStats {
  time: string;
  replicas: { url: string; ok: boolean; error?: string }[];
  models: ModelServingStats[];
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

export interface ColumnStats {
  count: number[];
  missing: number[];
  mean: (number | null)[];
  std: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
}

export interface DatasetStats {
  rows: number;
  features?: ColumnStats;
  channels?: ColumnStats;
  labels:
    | { kind: 'class'; histogram: number[] }
    | {
        kind: 'regression';
        count: number;
        mean: number | null;
        std: number | null;
        min: number | null;
        max: number | null;
      };
}
