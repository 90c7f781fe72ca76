/** Messages between the serving process and its one-off optimiser process (optimize-process.ts). */
import type { RowBatch } from '../../../shared/index.js';

export interface OptimizeRequest {
  bytes: Uint8Array;
  model: string;
  level: 'basic' | 'extended' | 'all';
  /** validation rows; none: the optimiser makes seeded inputs from the model's signature */
  rows: RowBatch | null;
  /** batch sizes to time (those the model cannot take are skipped) */
  batches: number[];
  /** time budget per batch size and graph (ms) */
  timeMs: number;
}

export interface LatencyFigures {
  /** median ms per run at batch 1 */
  b1: number;
  /** median ms per run at the best batch */
  best: number;
}

export interface OptimizeReply {
  ok: true;
  optimized: Uint8Array;
  maxAbsDiff: number;
  rowsChecked: number;
  bestBatch: number;
  latencyBeforeMs: LatencyFigures;
  latencyAfterMs: LatencyFigures;
}

export type OptimizeAnswer = OptimizeReply | { ok: false; message: string };
