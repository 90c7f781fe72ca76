/** Messages between a serving replica and its one-off evaluation process (evaluate-process.ts). */
import type { Baseline, Paired, RowBatch } from '../../../shared/index.js';

export interface EvaluateRequest {
  model: string;
  task: 'classification' | 'regression';
  candidate: Uint8Array;
  /** production's ONNX, run on the same rows; null: none */
  production: Uint8Array | null;
  /** the held-out rows */
  rows: RowBatch;
  /** the training split's labels, for the trivial baseline */
  trainLabels: Float32Array;
  /** classifiers: the number of classes (labels are 0..classes-1) */
  classes: number;
  labelNames: string[] | null;
  /** batch sizes timed (those a fixed-batch model cannot take are skipped) */
  batches: number[];
  /** timing budget per batch size (ms) */
  timeMs: number;
  bootstrap: { resamples: number; seed: number };
}

export interface ModelFigures {
  output: string;
  metrics: Record<string, number>;
  perClass?: Array<{
    class: number;
    label?: string;
    precision: number;
    recall: number;
    f1: number;
    support: number;
  }>;
  confusion?: number[][];
}

export interface EvaluateReply {
  ok: true;
  candidate: ModelFigures;
  latencyMs: { b1: number; best: number; bestBatch: number; rowsPerSec: number };
  baseline: Baseline;
  /** null without a production model; `error` when it could not run on these rows */
  production: (ModelFigures & { error?: undefined }) | { error: string } | null;
  paired?: Paired;
}

export type EvaluateAnswer = EvaluateReply | { ok: false; message: string };
