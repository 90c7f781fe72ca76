/**
 * The platform's own evaluation of a candidate generation: the job the event listener queues
 * (`QUEUES.evaluations`), the record a serving replica stores on the generation
 * (`evaluation`) and archives as `generation.evaluated`, and the names of what it measures.
 */
import { z } from 'zod';

/** Figures measured on classifiers, and on regressors. */
export const CLASSIFIER_METRICS = ['accuracy', 'logLoss', 'macroF1'] as const;
export const REGRESSION_METRICS = ['rmse', 'mae', 'r2'] as const;
export const MEASURED_METRICS = [...CLASSIFIER_METRICS, ...REGRESSION_METRICS] as const;
export type MeasuredMetric = (typeof MEASURED_METRICS)[number];

/** Which way each measured figure is better. */
export const HIGHER_IS_BETTER: Readonly<Record<MeasuredMetric, boolean>> = Object.freeze({
  accuracy: true,
  logLoss: false,
  macroF1: true,
  rmse: false,
  mae: false,
  r2: true,
});

/**
 * The names trainers report their validation figures under, per measured figure: a reported
 * figure is compared with the measured one to catch a worker that overstates its model.
 */
export const REPORTED_NAMES: Readonly<Record<MeasuredMetric, readonly string[]>> = Object.freeze({
  accuracy: ['valAccuracy', 'val_accuracy', 'accuracy'],
  logLoss: ['valLoss', 'val_loss', 'logLoss'],
  macroF1: ['valF1', 'macroF1'],
  rmse: ['valRmse', 'rmse'],
  mae: ['valMae', 'mae'],
  r2: ['valR2', 'r2'],
});

/** One evaluation to run: a candidate, and the production generation to run on the same rows. */
export const EvaluationJob = z.object({
  model: z.string().min(1),
  gen: z.number().int().min(1),
  /** the production generation when the job was queued; null: none */
  against: z.number().int().min(1).nullable(),
  sessionId: z.string().optional(),
});
export type EvaluationJob = z.infer<typeof EvaluationJob>;

/** The BullMQ job id of an evaluation: one per (candidate, production), so a replay adds none. */
export function evaluationJobId(j: Pick<EvaluationJob, 'model' | 'gen' | 'against'>): string {
  return `eval.${j.model}.g${j.gen}.p${j.against ?? 0}`;
}

const Figures = z.record(z.string(), z.number());

/** Which rows were scored. */
export const EvaluationRows = z.object({
  dataset: z.string(),
  version: z.number().int(),
  /** `recorded`: the version's own split; `default`: none recorded, the platform's default */
  split: z.enum(['recorded', 'default']),
  seed: z.number().int(),
  validationFraction: z.number(),
  /** held-out rows scored */
  count: z.number().int(),
  /** held-out rows the version has (more than `count` when capped) */
  available: z.number().int(),
  /** training rows the baseline was fitted on */
  trainCount: z.number().int(),
});
export type EvaluationRows = z.infer<typeof EvaluationRows>;

export const ClassRow = z.object({
  class: z.number().int(),
  label: z.string().optional(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: z.number().int(),
});

export const Baseline = z.object({
  kind: z.enum(['majority-class', 'training-mean']),
  /** the class id it always answers, or the mean */
  value: z.number(),
  label: z.string().optional(),
  metrics: Figures,
});
export type Baseline = z.infer<typeof Baseline>;

export const Latency = z.object({
  /** median ms per run at batch 1 */
  b1: z.number(),
  /** median ms per run at the best batch */
  best: z.number(),
  bestBatch: z.number().int(),
  /** rows per second at the best batch */
  rowsPerSec: z.number(),
});

/** Candidate against production on the same rows. */
export const Paired = z.object({
  /** classifiers: rows only the candidate gets right (b) and only production gets right (c) */
  mcnemar: z.object({ b: z.number().int(), c: z.number().int() }).optional(),
  /** quantiles of (candidate - production) per figure over row resamples */
  bootstrap: z
    .object({
      resamples: z.number().int(),
      seed: z.number().int(),
      quantiles: z.record(z.string(), z.record(z.string(), z.number())),
    })
    .optional(),
});
export type Paired = z.infer<typeof Paired>;

/** What the platform measured; `error` instead of figures when the model could not be run. */
export const EvaluationRecord = z.object({
  task: z.enum(['classification', 'regression']).optional(),
  rows: EvaluationRows.optional(),
  /** the model output that was read */
  output: z.string().optional(),
  metrics: Figures.default({}),
  perClass: z.array(ClassRow).optional(),
  /** confusion[true][predicted] (left out past 50 classes) */
  confusion: z.array(z.array(z.number().int())).optional(),
  baseline: Baseline.optional(),
  latencyMs: Latency.optional(),
  /** production, run on the same rows */
  against: z
    .object({ gen: z.number().int(), metrics: Figures, error: z.string().optional() })
    .nullable()
    .optional(),
  paired: Paired.optional(),
  error: z.string().optional(),
  /** replica and process that measured it */
  by: z.string(),
  /** ISO time */
  at: z.string(),
  ms: z.number(),
});
export type EvaluationRecord = z.infer<typeof EvaluationRecord>;

/** `generation.evaluated`: the record, with what the candidate's registrant reported. */
export const EvaluatedPayload = EvaluationRecord.extend({
  model: z.string(),
  gen: z.number().int(),
  /** the metrics given at registration: recorded, compared, never decisive */
  reported: Figures.default({}),
});
export type EvaluatedPayload = z.infer<typeof EvaluatedPayload>;
