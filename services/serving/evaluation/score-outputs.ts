/**
 * A model's outputs on the held-out rows, turned into the figures the rules read. Pure: the
 * evaluation process hands in what onnxruntime answered.
 */
import {
  bootstrapQuantiles,
  classProbabilities,
  classificationFigures,
  majorityBaseline,
  meanBaseline,
  regressionFigures,
  weightedMeanDiff,
  weightedRegression,
  type Baseline,
  type Paired,
} from '../../../shared/index.js';
import type { ModelFigures } from './evaluate-protocol.js';

/** Confusion matrices past this many classes are left out of the record (n² numbers). */
export const MAX_CONFUSION_CLASSES = 50;

/** One model's answers on the rows: the output read, its values and width per row. */
export interface ModelOutput {
  name: string;
  values: ArrayLike<number>;
  width: number;
  /** an integer output holds predicted class ids, not scores */
  integer: boolean;
}

/** Figures plus what a paired comparison needs of each row. */
export interface Scored {
  figures: ModelFigures;
  /** classifiers: 1 where right */
  correct?: Uint8Array;
  /** classifiers: the row's log loss (NaN without probabilities) */
  rowLoss?: Float64Array;
  /** regressors: the prediction */
  pred?: ArrayLike<number>;
}

export function scoreOutput(
  task: 'classification' | 'regression',
  out: ModelOutput,
  labels: Float32Array,
  classes: number,
  labelNames: string[] | null,
): Scored {
  const rows = labels.length;
  if (task === 'regression') {
    if (out.width !== 1) {
      throw new Error(
        `output "${out.name}" gives ${out.width} values per row; a regressor must give one`,
      );
    }
    const f = regressionFigures(out.values, labels);
    return { figures: { output: out.name, metrics: finite({ ...f }) }, pred: out.values };
  }
  let probs: ArrayLike<number>;
  let width: number;
  if (out.integer) {
    if (out.width !== 1) {
      throw new Error(
        `integer output "${out.name}" has ${out.width} values per row; expected a class id`,
      );
    }
    // Predicted ids only: accuracy and F1 are measured, log loss cannot be.
    width = classes;
    const onehot = new Float64Array(rows * width);
    for (let i = 0; i < rows; i++) {
      const c = out.values[i]!;
      if (c >= 0 && c < width) onehot[i * width + c] = 1;
    }
    probs = onehot;
  } else {
    ({ probs, width } = classProbabilities(out.values, out.width));
  }
  const f = classificationFigures(probs, width, labels, Math.max(classes, width));
  const logLoss = out.integer ? NaN : f.logLoss;
  const metrics = finite({ accuracy: f.accuracy, logLoss, macroF1: f.macroF1 });
  const k = f.confusion.length;
  return {
    figures: {
      output: out.name,
      metrics,
      perClass: f.perClass.map((c) => ({
        ...c,
        ...(labelNames?.[c.class] !== undefined ? { label: labelNames[c.class] } : {}),
      })),
      ...(k <= MAX_CONFUSION_CLASSES ? { confusion: f.confusion } : {}),
    },
    correct: f.correct,
    rowLoss: out.integer ? new Float64Array(rows).fill(NaN) : f.rowLoss,
  };
}

/** The trivial baseline on the same rows: majority class, or training mean. */
export function baselineOf(
  task: 'classification' | 'regression',
  trainLabels: Float32Array,
  labels: Float32Array,
  classes: number,
  labelNames: string[] | null,
): Baseline {
  if (task === 'regression') {
    const { mean, figures } = meanBaseline(trainLabels, labels);
    return { kind: 'training-mean', value: mean, metrics: finite({ ...figures }) };
  }
  const { majority, figures } = majorityBaseline(trainLabels, labels, classes);
  return {
    kind: 'majority-class',
    value: majority,
    ...(labelNames?.[majority] !== undefined ? { label: labelNames[majority] } : {}),
    metrics: finite({
      accuracy: figures.accuracy,
      logLoss: figures.logLoss,
      macroF1: figures.macroF1,
    }),
  };
}

/**
 * Candidate against production on the same rows: McNemar's discordant counts (classifiers)
 * and bootstrap quantiles of (candidate - production) for each figure.
 */
export function pairedFigures(
  task: 'classification' | 'regression',
  cand: Scored,
  prod: Scored,
  labels: Float32Array,
  bootstrap: { resamples: number; seed: number },
): Paired {
  const rows = labels.length;
  const quantiles: Record<string, Record<string, number>> = {};
  const boot = (stat: (w: Uint32Array) => number) => bootstrapQuantiles(rows, stat, bootstrap);
  if (task === 'classification' && cand.correct && prod.correct) {
    let b = 0;
    let c = 0;
    for (let i = 0; i < rows; i++) {
      if (cand.correct[i] && !prod.correct[i]) b++;
      else if (!cand.correct[i] && prod.correct[i]) c++;
    }
    quantiles.accuracy = boot((w) => weightedMeanDiff(cand.correct!, prod.correct!, w));
    if (
      cand.rowLoss &&
      prod.rowLoss &&
      Number.isFinite(cand.rowLoss[0]) &&
      Number.isFinite(prod.rowLoss[0])
    ) {
      quantiles.logLoss = boot((w) => weightedMeanDiff(cand.rowLoss!, prod.rowLoss!, w));
    }
    return { mcnemar: { b, c }, bootstrap: { ...bootstrap, quantiles } };
  }
  if (cand.pred && prod.pred) {
    for (const m of ['rmse', 'mae', 'r2'] as const) {
      quantiles[m] = boot(
        (w) =>
          weightedRegression(cand.pred!, labels, w)[m] -
          weightedRegression(prod.pred!, labels, w)[m],
      );
    }
  }
  return { bootstrap: { ...bootstrap, quantiles } };
}

/** JSON has no NaN: figures that could not be measured are left out. */
function finite(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));
}
